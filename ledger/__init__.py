"""The signed month: closed months' stored figures, adjustments, disputes, changes since
close, the policy figures were computed under, and the report's delivery."""
