"""The rules in force, swapped whole on reload; an invalid new file keeps the old rules."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from rules.loader import DEFAULT_RULES, RuleFileError, load_rule_file
from rules.policy import RuleFile

__all__ = ["ActiveRules", "RulesReloadCollector"]

log = logging.getLogger(__name__)


class ActiveRules:
    """Holds the current `RuleFile`; readers take `current` once per batch or request."""

    def __init__(
        self, path: Path | None, *, default_timezone: str, clock: Callable[[], datetime]
    ) -> None:
        self.path = path or DEFAULT_RULES
        self._default_timezone = default_timezone
        self._clock = clock
        self._lock = threading.Lock()
        # Invalid at start: the caller refuses to start, so the error propagates.
        self._current = load_rule_file(self.path, default_timezone=default_timezone)
        self.last_reload_successful = True
        self.last_success_at = clock()
        self.reload_failures = 0
        self._listeners: list[Callable[[RuleFile], None]] = []

    @property
    def current(self) -> RuleFile:
        return self._current

    @property
    def default_timezone(self) -> str:
        """The time zone of a rule file that names none (the settings')."""
        return self._default_timezone

    def on_load(self, listener: Callable[[RuleFile], None]) -> None:
        """Call `listener` with the rules now, and with the new rules after each reload.

        A listener's exception is logged, never raised: the rules are in force anyway.
        """
        self._listeners.append(listener)
        self._tell(listener, self._current)

    def _tell(self, listener: Callable[[RuleFile], None], rules: RuleFile) -> None:
        try:
            listener(rules)
        except Exception:
            log.exception("a rule file listener failed")

    def reload(self) -> RuleFile:
        """Load the file again; on a RuleFileError keep the old rules, log, count, re-raise."""
        with self._lock:
            try:
                loaded = load_rule_file(self.path, default_timezone=self._default_timezone)
            except RuleFileError as error:
                self.last_reload_successful = False
                self.reload_failures += 1
                log.error("rule file reload failed, keeping the previous rules:\n%s", error)
                raise
            self._current = loaded
            self.last_reload_successful = True
            self.last_success_at = self._clock()
        for listener in self._listeners:
            self._tell(listener, loaded)
        log.info(
            "rules reloaded from %s: %d services, %d rules",
            self.path,
            len(loaded.spec.services),
            len(loaded.spec.rules),
        )
        return loaded


class RulesReloadCollector(Collector):
    """This process' reload state, in the names Prometheus uses for its own config."""

    def __init__(self, rules: ActiveRules) -> None:
        self._rules = rules

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        return self._families()

    def _families(self) -> list[Metric]:
        rules = self._rules
        successful = GaugeMetricFamily(
            "slakeeper_rules_last_reload_successful",
            "Whether the last rule file (re)load succeeded (1) or kept the old rules (0).",
            value=1.0 if rules.last_reload_successful else 0.0,
        )
        success_time = GaugeMetricFamily(
            "slakeeper_rules_last_reload_success_timestamp_seconds",
            "When the rules in force were loaded, as a Unix time.",
            value=rules.last_success_at.timestamp(),
        )
        failures = CounterMetricFamily(
            "slakeeper_rules_reload_failures",
            "Rule file reloads rejected as invalid by this process.",
            value=float(rules.reload_failures),
        )
        return [successful, success_time, failures]
