"""What a sign-in costs, counted (not timed): one password hash per sign-in with production's
hashers, none on the pages around it, and web processes that start warm (anshun.warmup)."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import global_settings
from django.contrib.auth import hashers

from accounts.roles import Role
from tests.conftest import ROOT
from tests.factories import TEST_PASSWORD, user_for_role


@pytest.fixture
def production_hashers(settings):
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()
    yield
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()


@pytest.fixture
def hash_count(monkeypatch):
    counted = []
    original = hashers.PBKDF2PasswordHasher.encode

    def counting(self, *args, **kwargs):
        counted.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(hashers.PBKDF2PasswordHasher, "encode", counting)
    return counted


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.CITY_OFFICIAL, Role.GRID_WORKER, Role.MEDIATOR])
def test_a_sign_in_hashes_the_password_once(client, production_hashers, hash_count, role):
    user = user_for_role(role)
    user.set_password(TEST_PASSWORD)
    user.save()
    assert user.password.startswith("pbkdf2_sha256$")
    iterations = int(user.password.split("$")[1])
    assert iterations >= hashers.PBKDF2PasswordHasher.iterations  # Django's work factor, not lowered
    hash_count.clear()
    client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert len(hash_count) == 1
    assert client.get(response.url).status_code == 200
    assert len(hash_count) == 1  # the page after the redirect hashes nothing
    # A wrong password costs one hash too (no cheaper "no such user" answer to time).
    client.post("/accounts/logout/")
    hash_count.clear()
    client.post("/accounts/login/", {"username": user.username, "password": "wrong-password-1"})
    client.post("/accounts/login/", {"username": "nobody-at-all", "password": "wrong-password-1"})
    assert len(hash_count) == 2


WARM_CHECK = """
import json, os, sys
sys.path.insert(0, {root!r})
import django
django.setup()
from django.db import connection
from django.test.utils import CaptureQueriesContext
before = "anshun.urls" in sys.modules
with CaptureQueriesContext(connection) as queries:
    import anshun.wsgi
from django.template import engines
loader = engines["django"].engine.template_loaders[0]
print(json.dumps({{
    "before": before,
    "urls": "anshun.urls" in sys.modules and "mediation.views" in sys.modules,
    "templates": sorted(str(k) for k in getattr(loader, "get_template_cache", {{}})),
    "queries": len(queries.captured_queries),
}}))
"""


def test_a_web_process_is_warm_before_its_first_request():
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", WARM_CHECK.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    state = json.loads(out.stdout.strip().splitlines()[-1])
    assert state["before"] is False  # django.setup alone does not import the URLconf
    assert state["urls"] is True  # loading the WSGI application did
    assert any("accounts/login.html" in key for key in state["templates"])
    assert state["queries"] == 0  # and it touched no database
