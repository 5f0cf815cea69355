"""Pure rules of reporting: periods, the evaluation rule set, disclosure control."""
