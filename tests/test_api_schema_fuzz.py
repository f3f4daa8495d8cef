"""Schemathesis against the API in-process: whatever a client sends, the answer is never a 5xx
and always what the OpenAPI schema says (status codes, content types, headers, bodies).

Bounded and derandomized, so a run is the same every time: at most ``CASES_PER_OPERATION``
cases for each of the ~50 operations, about 400 in all (the issue asks for a few hundred; CI runs
it on SQLite and again on PostgreSQL), every operation called at least once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from askhub.app import create_app
from askhub.auth.service import create_token
from askhub.context import AppContext
from askhub.people.service import get_by_handle
from askhub.settings import Settings
from models import Role

# Erasing the fuzzer's own account would end the run's authentication after one case; erasure
# has its own tests in test_erasure.py.
SKIPPED = {("DELETE", "/api/people/me")}
# Rules across fields that a JSON schema does not state (an answer needs a body, a volunteers
# call needs `needed`, a deadline lies ahead, a time zone exists): a 422 for a body the schema
# allows is right here, so "schema-valid data is accepted" is not asked of these operations.
CROSS_FIELD_RULES = {
    ("POST", "/api/calls"),
    ("POST", "/api/calls/preview"),
    ("POST", "/api/calls/{call_id}/replies"),
    ("POST", "/api/calls/{call_id}/extend"),
    ("POST", "/api/calls/{call_id}/reopen"),
    ("PUT", "/api/people/me"),
}
CASES_PER_OPERATION = 8
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            # The token is ours to send; unknown query parameters are ignored, as HTTP allows.
            "with-security-parameters": False,
            "allow-extra-parameters": False,
        },
        # Too much data (a list beyond maxItems) may also be refused as too large.
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
            }
        },
    }
)


async def _admin_token(settings: Settings) -> str:
    # Its own context: the fixtures' engine belongs to the test session's event loop.
    ctx = AppContext.create(settings)
    try:
        async with ctx.sessions() as session, session.begin():
            person = await get_by_handle(session, "asker")
            assert person is not None
            person.role = Role.ADMIN
            return await create_token(session, person)
    finally:
        await ctx.close()


@pytest.fixture
def api(org: AppContext) -> Iterator[tuple[Any, str]]:
    token = asyncio.run(_admin_token(org.settings))
    app = create_app(settings=org.settings, embedder=org.routing.embedder)
    yield app, token


SETTINGS = settings(
    max_examples=CASES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _caller(token: str, excluded: list[Any], calls: list[int]) -> Callable[[Any], None]:
    def call(case: Any) -> None:
        calls.append(1)
        case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded
        )

    return call


def _operations(schema: Any) -> list[Any]:
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in SKIPPED:
            found.append(operation)
    return found


def test_api_answers_every_input_without_5xx_and_as_documented(api: tuple[Any, str]) -> None:
    app, token = api
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app, config=CONFIG)
    operations = _operations(schema)
    assert len(operations) >= 10
    failures: list[str] = []
    cases: dict[str, int] = {}
    for operation in operations:
        key = (operation.method.upper(), operation.path)
        excluded = [positive_data_acceptance] if key in CROSS_FIELD_RULES else []
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        calls: list[int] = []
        check = given(case=strategy)(SETTINGS(_caller(token, excluded, calls)))
        try:
            check()
        except BaseExceptionGroup as exc:  # one report for every operation, not the first only
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
        cases[f"{operation.method.upper()} {operation.path}"] = len(calls)
    assert not failures, "\n\n".join(failures)
    # Every operation was exercised (a schema the generator cannot use would call nothing).
    assert all(cases.values()), [name for name, n in cases.items() if not n]
    print(f"\nschemathesis: {sum(cases.values())} cases over {len(operations)} operations")
