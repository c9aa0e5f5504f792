"""`python -m benchmarks.yearly`: a year-sized database, bulk-loaded, and how the server
answers on it (reads, ingestion, the report, a scrape)."""
