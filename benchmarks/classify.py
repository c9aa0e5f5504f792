"""How long classifying one alert takes against a rule file of 200 rules.

Measures and prints; asserts nothing. Run: `.venv/bin/python -m benchmarks.classify`.
Each figure is the distribution of single `RuleSet.classify` calls (perf_counter_ns around
each call, so ~0.1 µs of timer cost is included), after a warm-up.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable, Mapping
from functools import partial

from rules.loader import DEFAULT_RULES, load_rule_file, parse_rule_text
from rules.policy import RuleFile

_SEVERITIES = ("critical", "warning", "info")


def rule_file_text(rules: int, services: int) -> str:
    """A large, realistic rule file: per-alert rules, severity rules, regex rules."""
    lines = ["services:"]
    for index in range(services):
        lines.append(f"  - {{name: svc{index}, matchers: ['job=~\"svc{index}(-.*)?\"']}}")
    lines.append("rules:")
    for index in range(rules):
        kind = index % 10
        if kind < 7:  # the common case: one alert name, maybe a severity
            severity = _SEVERITIES[index % 3]
            matchers = f"'alertname=\"Alert{index}\"', 'severity=~\"{severity}|page\"'"
        elif kind < 9:  # by team and a non-literal regex on the alert name
            matchers = f"'team=\"team{index}\"', 'alertname=~\"(Disk|Node)Alert{index}.*\"'"
        else:  # negative matchers
            matchers = f"'env!=\"staging\"', 'cluster!~\"dev-.*\"', 'alertname=\"Neg{index}\"'"
        lines.append(
            f"  - {{name: r{index}, matchers: [{matchers}], level: critical, priority: P2,"
            f" impact: outage, title: '{{{{ labels.instance }}}} down'}}"
        )
    return "\n".join(lines) + "\n"


def measure(call: Callable[[], object], runs: int) -> list[float]:
    for _ in range(2000):
        call()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(runs):
        start = clock()
        call()
        samples.append((clock() - start) / 1000)
    return samples


def report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p99 = ordered[int(len(ordered) * 0.99)]
    median, mean = statistics.median(ordered), statistics.mean(ordered)
    print(f"| {name} | {median:.2f} | {p99:.2f} | {mean:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--runs", type=int, default=200_000)
    args = parser.parse_args()

    started = time.perf_counter()
    big: RuleFile = parse_rule_text(rule_file_text(args.rules, args.services))
    load_ms = (time.perf_counter() - started) * 1000
    shipped = load_rule_file(DEFAULT_RULES)
    last = args.rules - 1 - (args.rules - 1) % 10  # the last alert-name rule
    cases: list[tuple[str, RuleFile, Mapping[str, str]]] = [
        (
            f"{args.rules} rules, matches the last alert-name rule (r{last})",
            big,
            {"alertname": f"Alert{last}", "severity": _SEVERITIES[last % 3], "job": "svc49-a"},
        ),
        (
            f"{args.rules} rules, matches a regex rule",
            big,
            {"alertname": "DiskAlert198x", "team": "team198", "job": "svc3"},
        ),
        (
            f"{args.rules} rules, matches none (defaults)",
            big,
            {"alertname": "Unknown", "severity": "critical", "job": "other", "instance": "x"},
        ),
        (
            "shipped default.yaml, severity=warning",
            shipped,
            {"alertname": "DiskFull", "severity": "warning", "job": "node"},
        ),
    ]
    print(f"python {platform.python_version()} on {platform.machine()}; {args.runs} calls each")
    print(f"loading + compiling the {args.rules}-rule file: {load_ms:.1f} ms\n")
    print("| case | median µs | p99 µs | mean µs |")
    print("|---|---|---|---|")
    for name, rules, labels in cases:
        report(f"classify: {name}", measure(partial(rules.ruleset.classify, labels), args.runs))
    # A label value never seen before: its mask is computed once, from the rules testing it.
    fresh = iter([{"alertname": f"New{n}", "severity": "warning"} for n in range(30_000)])
    report(
        f"classify: {args.rules} rules, an alert name never seen before (cold)",
        measure(lambda: big.ruleset.classify(next(fresh)), 20_000),
    )
    # The reference: every rule checked in order with the plain matchers, no index.
    plain = [list(spec.matchers) for spec in big.spec.rules]
    labels = cases[0][2]

    def linear() -> object:
        return next((i for i, ms in enumerate(plain) if all(m.matches(labels) for m in ms)), None)

    report("reference: linear scan of the same 200 rules (last rule)", measure(linear, 20_000))
    classification = big.ruleset.classify(labels)
    report(
        "title rendering (Jinja sandbox), once per incident",
        measure(lambda: classification.title(labels, {}), 20_000),
    )


if __name__ == "__main__":
    main()
