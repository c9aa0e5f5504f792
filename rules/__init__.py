"""The rule engine: matchers, classification, SLA policy, calendars and escalation."""
