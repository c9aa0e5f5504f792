"""Incidents: grouping alerts, the lifecycle, SLA clocks and escalation."""
