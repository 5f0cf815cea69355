"""Rules of alerts, policies, escalation and templates: no I/O."""
