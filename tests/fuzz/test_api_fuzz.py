"""Property-based fuzzing of the whole REST API from its own OpenAPI schema (schemathesis).

Every operation in ``/api/schema/`` is called in-process through the WSGI app with valid and
invalid data, as several roles, against the real test database holding the Anshun tree and
the demo records (so detail and update paths meet real objects). Each response must not be a
5xx and must match the schema: status code, content type, body shape.

The module is not transactional: ``load_anshun --demo`` (the tree, as ``anshun_tree`` loads it
for transactional tests, plus every app's demo records) runs once inside a transaction that is
rolled back when the module ends, and each role's run is rolled back on its own. The seed is
fixed and generation derandomized, so CI sends the same cases every time; the number of cases
and the responses by status are printed in the terminal summary.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from accounts.models import User
from anshun.api.router import router
from anshun.wsgi import application
from tests.factories import api_token_for
from tests.fuzz.conftest import FUZZ_CASES, FUZZ_STATUSES

# Demo logins (accounts.demo) standing for the jurisdiction levels: everything, a county, a grid office.
ROLES = ["admin", "county", "gridworker"]
EXAMPLES_PER_OPERATION = 10
KNOWN_PER_COLLECTION = 20
# Every other built-in check runs: no 5xx; status code, content type, headers and body as
# documented; invalid data (negative cases) refused with a 4xx; auth enforced. This one judges
# the *meaning* of schema-valid data, which a schema cannot carry: an incident id, committee or
# wave code of the right type that is not in the database, or not in the caller's
# jurisdiction, is rightly a 400/404 (and a role without the capability gets 403).
UNSOUND_CHECKS = [positive_data_acceptance]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261128,
        "generation": {
            "mode": "all",
            "deterministic": True,
            "max-examples": EXAMPLES_PER_OPERATION,
            "with-security-parameters": False,
        },
        # The coverage phase (every boundary of every parameter, unbounded by max-examples)
        # would multiply the run several times over; explicit schema examples and the
        # bounded fuzzing phase run.
        "phases": {"coverage": {"enabled": False}},
    }
)


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker):
    """The demo records of every app, loaded once for the module and rolled back at its end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("load_anshun", demo=True, verbosity=0)
            tokens = {username: api_token_for(User.objects.get(username=username)) for username in ROLES}
            yield {"tokens": tokens, "known": _known_lookups(User.objects.get(username="admin"))}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _known_lookups(admin) -> dict[str, list]:
    """Lookup values of real rows per collection path (``/api/incidents/``), read through each
    viewset's own selector, so that detail, update and workflow paths meet real objects."""
    known = {}
    for prefix, viewset, _basename in router.registry:
        lookup = getattr(viewset, "lookup_field", "pk")
        rows = viewset.selector(actor=admin).order_by(lookup).values_list(lookup, flat=True)
        known[f"/api/{prefix}/"] = list(rows[:KNOWN_PER_COLLECTION])
    return known


def _mix_in_known(known: dict[str, list]):
    """Path parameters: as generated, or the lookup value of a real row (about half the time)."""

    def before_generate_path_parameters(context, strategy):
        path = context.operation.path
        collection = path[: path.find("{")] if "{" in path else None
        values = known.get(collection or "")
        if not values:
            return strategy
        name = path[path.find("{") + 1 : path.find("}")]
        return st.one_of(strategy, st.sampled_from(values).map(lambda value: {name: value}))

    return before_generate_path_parameters


@pytest.fixture
def in_process_requests():
    """Keep the test's database connection open across requests, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=ROLES)
def actor_token(request, demo_world):
    return demo_world["tokens"][request.param]


@pytest.fixture
def api_schema(db, demo_world, in_process_requests, actor_token):
    loaded = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json",
        application,
        config=CONFIG,
        headers={"Authorization": f"Token {actor_token}"},
    )
    loaded.hook(_mix_in_known(demo_world["known"]))
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_every_generated_request_within_its_schema(case, actor_token):
    FUZZ_CASES["generated"] += 1
    headers = {"Authorization": f"Token {actor_token}"}
    response = case.call(headers=headers)
    FUZZ_STATUSES[response.status_code] += 1
    if response.status_code >= 500:
        FUZZ_CASES["server_errors"] += 1
    case.validate_response(response, headers=headers, excluded_checks=UNSOUND_CHECKS)
