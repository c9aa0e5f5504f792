"""Retention: deleting what is past its keeping, never what a month's figures still need."""
