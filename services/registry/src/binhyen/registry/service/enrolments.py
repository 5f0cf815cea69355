"""Use cases for enrolments."""
