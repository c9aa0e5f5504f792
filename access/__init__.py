"""People and tools, their credentials and roles, and the audit trail of what they did."""
