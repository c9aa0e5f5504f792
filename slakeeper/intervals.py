"""How often each scheduled job runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from collector.heartbeats import SELF_INTERVAL
from slakeeper.settings import Settings

__all__ = ["Intervals"]


@dataclass(frozen=True, slots=True)
class Intervals:
    """How often each job runs."""

    sla: timedelta = timedelta(seconds=15)
    outbox: timedelta = timedelta(seconds=5)
    reconcile: timedelta = timedelta(seconds=60)
    silences: timedelta = timedelta(seconds=60)
    heartbeat: timedelta = SELF_INTERVAL
    reports: timedelta = timedelta(seconds=30)
    watch: timedelta = timedelta(minutes=5)
    housekeeping: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"the {name} interval must be positive, got {getattr(self, name)}")

    @classmethod
    def of(cls, settings: Settings) -> Intervals:
        """The intervals `settings` ask for."""
        return cls(
            sla=timedelta(seconds=settings.sla_interval_seconds),
            reconcile=timedelta(seconds=settings.reconcile_interval_seconds),
            housekeeping=timedelta(seconds=settings.housekeeping_interval_seconds),
        )
