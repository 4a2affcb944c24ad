"""Property-based smoke test of the whole API against its own OpenAPI schema (schemathesis).

The schema is loaded from the WSGI app (/api/schema/?format=json), then every operation is called with a
few generated requests (valid ones, and for operations that have inputs also invalid ones), authenticated
with a token of a county supervisor who is also the county designer (so the audit, definition and webhook
endpoints are open to it). The only check is `not_a_server_error`: whatever is sent, the answer is never a
5xx. Bounded and repeatable: a few examples per operation, derandomized, no shrinking, no example database.

Each request runs inside a savepoint that is rolled back after it, so every example sees the same data
and writes (claims, completions, imports, drafts, webhooks) never leak into the next example.

Skipped operations (they change state outside the database transaction or the run's credentials):
- POST /api/v1/auth/token/ and DELETE /api/v1/auth/token/: they replace or revoke the token the run uses
  and count against the strict token throttle (kept in the cache, not rolled back).

Values the database cannot represent (ids beyond 64 bits, NUL characters on PostgreSQL) are generated
too: they must come back as 400 (govflow.errors.from_unrepresentable), never 500.

No `postgres` marker: it runs on SQLite and, with
DATABASE_URL set, on PostgreSQL.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.core.result import Err

SKIPPED = {("POST", "/api/v1/auth/token/"), ("DELETE", "/api/v1/auth/token/")}
EXAMPLES = 5  # per operation and generation mode
BUDGET_SECONDS = 90


@pytest.fixture
def wsgi_app():
    """The WSGI app, called directly (not through Django's test client): keep the request signals from
    closing the test's connection, as django.test.Client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(staff, make_user, cases):
    user = make_user("api_fuzzer", ("supervisor", "371727"), ("designer", "371727"))
    return Token.objects.create(user=user).key


def test_no_operation_answers_with_a_server_error(wsgi_app, token) -> None:
    started = time.monotonic()
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
    headers = {"Authorization": f"Token {token}"}
    failures: list[str] = []
    answered: Counter[int] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # a part of the schema schemathesis cannot use is a failure too
            failures.append(f"unusable schema: {result.err()}")
            continue
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        operations += 1
        strategies = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE)]
        if operation.body or any(True for _ in operation.iter_parameters()):
            strategies.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(*strategies))
        def call(case: schemathesis.Case) -> None:
            savepoint = transaction.savepoint()  # each request starts from the same data; a failed
            try:  # statement on PostgreSQL must not abort the transaction of the requests after it
                response = case.call(headers=headers)
            finally:
                transaction.savepoint_rollback(savepoint)
            answered[response.status_code // 100 * 100] += 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}\n"
                    f"  query={case.query!r} body={case.body!r}\n  {response.text[:300]}"
                )

        call()
    elapsed = time.monotonic() - started
    assert operations >= 40, operations  # the schema really was loaded and walked
    assert not failures, "\n".join(failures)
    assert answered[200] >= operations // 2, answered  # the token works: many requests got through
    assert elapsed < BUDGET_SECONDS, f"took {elapsed:.0f} s"
