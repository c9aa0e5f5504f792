"""slakeeper: alerts in, incidents and a signed service-level record out."""

__all__ = ["__version__"]

__version__ = "0.1.0"
