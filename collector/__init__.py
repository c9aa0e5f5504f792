"""Ingestion: the HTTP routes alert sources push to, their schemas, auth and normalisation."""
