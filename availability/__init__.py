"""Availability: downtime and maintenance windows, the arithmetic, monthly reports."""
