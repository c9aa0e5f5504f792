"""Label-set fingerprints, computed exactly as Prometheus and Alertmanager do."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["labels_fingerprint"]

_FNV64_OFFSET = 14695981039346656037
_FNV64_PRIME = 1099511628211
_MASK64 = 0xFFFFFFFFFFFFFFFF
_SEPARATOR = 0xFF


def labels_fingerprint(labels: Mapping[str, str]) -> str:
    """FNV-1a 64 over sorted `name 0xff value 0xff` pairs, as 16 hex digits.

    This is `model.LabelSet.Fingerprint()` of prometheus/common, which
    Alertmanager puts in the `fingerprint` field of its webhooks.
    """
    digest = _FNV64_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode("utf-8"):
                digest = ((digest ^ byte) * _FNV64_PRIME) & _MASK64
            digest = ((digest ^ _SEPARATOR) * _FNV64_PRIME) & _MASK64
    return f"{digest:016x}"
