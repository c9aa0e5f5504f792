"""schemathesis over `/openapi.json`: every operation, every check, on SQLite and PostgreSQL.

Bounded (a fixed number of generated requests per operation, fixed seed) so that it runs in
`make test`; a failure shows the request to reproduce it with (`curl` form). The operations are
driven through hypothesis directly rather than schemathesis' pytest plugin, which does not
support the pytest this project uses.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import schemathesis

# Imported now, at collection, not lazily inside the first test: pytest rewrites
# schemathesis' modules as they are imported (it is a pytest plugin), and CPython 3.11's
# ast.parse can fail with "AST constructor recursion depth mismatch" when that happens while
# other threads of the suite run (python/cpython#106905).
import schemathesis.specs.openapi.schemas  # noqa: F401
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Err

from tests.integration.conftest import AppFactory

# Generated requests per operation, per database.
EXAMPLES = int(os.environ.get("SLAKEEPER_FUZZ_EXAMPLES", "60"))

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 14,
        # Requests that fit the schema and requests that break it (wrong types, missing fields,
        # values past the bounds): both must get an answer that is not a 5xx.
        "generation": {"mode": "all"},
        "checks": {
            # Every operation documents its body and the statuses it answers (the models of
            # each domain's resources.py, core.errors.ErrorBody): both are checked too.
            "response_schema_conformance": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            # A request the schema allows may still be refused on its meaning: a priority the
            # rule file does not define (400), an action the incident's state forbids (409),
            # a payload whose alert ends before it starts (422).
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422"]
            },
        },
    }
)


# Every request is an admin's, and the pushes a tool's: the same configured token is both,
# so that an account the fuzzer creates does not lock it out of the rest.
TOKEN = "fuzz-admin-and-ingest-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def _prints_pdf(case: schemathesis.Case[Any]) -> bool:
    """A request for the report as PDF: each starts a headless Chromium (a second or more),
    so the fuzzer leaves them out (the PDF has tests of its own: test_availability_report,
    test_report_in_chromium); every other format and language of the report is fuzzed."""
    value = (case.query or {}).get("format")
    return "pdf" in (value if isinstance(value, list) else [value])


def test_every_operation_answers_within_its_contract(make_app: AppFactory) -> None:
    app = make_app(api_tokens=TOKEN, ingest_tokens=TOKEN)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG, headers=HEADERS)
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    assert len(operations) > 20, "the API's operations were not found in /openapi.json"
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for operation in operations:

        @given(case=operation.as_strategy().filter(lambda case: not _prints_pdf(case)))
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def exercise(case: schemathesis.Case[Any]) -> None:
            response = case.call_and_validate(headers=HEADERS)
            statuses[response.status_code] += 1

        try:
            exercise()
        except BaseException as error:  # noqa: BLE001 - hypothesis raises an exception group
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    print(f"responses by status: {dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)
    # Both kinds of request were made: accepted ones and refused ones.
    assert sum(n for status, n in statuses.items() if status < 300) > len(operations)
    assert sum(n for status, n in statuses.items() if 400 <= status < 500) > len(operations)
