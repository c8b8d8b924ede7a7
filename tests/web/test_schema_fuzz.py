"""Property-based fuzz of the API from its own OpenAPI schema (schemathesis): no 5xx, ever.

For every operation in ``/openapi.json``, in-process against the ASGI app: requests valid by
the schema (positive) and requests that break it (negative: wrong types, out-of-range numbers,
missing and unknown fields). One pytest item per operation and mode, so pytest-xdist schedules
them all. The number of requests and their statuses go to ``test-artifacts/schemathesis.json``.

The cases are derandomized (the same on every run, so CI cannot flake);
``MARGINSCOPE_FUZZ_RANDOM=1`` (fresh cases each run, ``--hypothesis-seed=N`` to replay) and
``MARGINSCOPE_FUZZ_EXAMPLES=80`` search harder.
"""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from marginscope.web import create_app

from .conftest import ARTIFACTS

EXAMPLES = int(os.environ.get("MARGINSCOPE_FUZZ_EXAMPLES", "40"))  # per operation and mode
RANDOM = os.environ.get("MARGINSCOPE_FUZZ_RANDOM") == "1"

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
OPERATIONS = [result.ok() for result in schema.get_all_operations()]
CASES = [(operation, mode) for operation in OPERATIONS
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         # a GET without parameters has no invalid form
         if mode is GenerationMode.POSITIVE or operation.method.upper() == "POST"]
statuses: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "schemathesis.json").write_text(json.dumps({
        "operations": len(OPERATIONS), "examples_per_operation_and_mode": EXAMPLES,
        "requests": sum(statuses.values()), "by_status": dict(sorted(statuses.items()))},
        indent=2))


@pytest.mark.parametrize(("operation", "mode"), CASES,
                         ids=[f"{op.label} {mode.value}" for op, mode in CASES])
def test_no_server_error(operation, mode):
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              database=None, derandomize=not RANDOM)
    def run(case):
        response = case.call_and_validate(checks=[not_a_server_error])
        statuses[str(response.status_code)] += 1
        assert response.status_code < 500

    run()
