"""Shared infrastructure every layer may use: it imports no domain and no application part."""
