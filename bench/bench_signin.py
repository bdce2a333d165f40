"""Sign-in, phase by phase (issue #15: "sign-in takes 4-5 s").

Where a sign-in's time goes, with the password hashers of production (Django's defaults:
PBKDF2-SHA256 at Django's work factor), through the whole middleware stack:

- notes: the password hash alone; ``authenticate`` (django-axes' lock-out check, the user row,
  the hash); ``login`` (session key cycled, last login, axes' success record, idle clock); the
  two-factor device check; the home page the sign-in redirects to;
- the warm sign-in (GET the form, POST it, GET home) against its baseline, one password check:
  the ratio is what everything else adds to the hash, which a sign-in must pay once;
- the first request a fresh web process serves, against the same request once the process is
  warm. A process imports the URLconf (every app's views, DRF, the schema generator), compiles
  templates and loads the translation catalogues on its first request; each gunicorn worker (CPU
  count + 1) and the single ``runserver`` pay it once, so right after a start or a worker restart
  the login form, the POST and the home page can each land on a cold process. ``anshun.wsgi``
  now does that work when the process starts (``anshun.warmup``), before it takes requests:
  the row "first request, warmed at start" is what a user meets after the fix.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import global_settings
from django.test import Client, override_settings

from bench.harness import Comparison, compare, timed

ROOT = Path(__file__).resolve().parent.parent

FIRST_REQUEST = """
import os, sys, time
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anshun.settings.test")
import django
django.setup()
if {warm}:
    from anshun.warmup import warm_up
    warm_up()
from django.test import Client
client = Client()
started = time.perf_counter()
response = client.get("/accounts/login/")
assert response.status_code == 200, response.status_code
print(time.perf_counter() - started)
"""


def _first_request_seconds(*, warm: bool) -> float:
    """A new interpreter (as a new worker is), timed from its first request's start to its end."""
    code = FIRST_REQUEST.format(root=str(ROOT), warm=warm)
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ.copy()
    )
    return float(out.stdout.strip().splitlines()[-1])


def _person():
    from accounts.models import User
    from accounts.roles import Role
    from accounts.services import user_create
    from grids.models import Region

    password = uuid.uuid4().hex
    username = "bench-signin"
    User.objects.filter(username=username).delete()
    user = user_create(
        username=username, password=password, role=Role.CITY_OFFICIAL, region=Region.objects.get(code="5204")
    )
    return user, password


def run() -> Iterator[Comparison | str]:
    from django.contrib.auth import authenticate, login
    from django.contrib.auth.hashers import check_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    from accounts import two_factor

    with override_settings(PASSWORD_HASHERS=global_settings.PASSWORD_HASHERS):
        from django.contrib.auth import hashers

        hashers.get_hashers.cache_clear()
        hashers.get_hashers_by_algorithm.cache_clear()
        user, password = _person()
        encoded = user.password
        client = Client()

        def sign_in():
            client.get("/accounts/login/")
            response = client.post("/accounts/login/", {"username": user.username, "password": password})
            assert response.status_code == 302, response.status_code
            assert client.get(response.url).status_code == 200
            client.post("/accounts/logout/")

        sign_in()  # warm this process
        factory = RequestFactory()

        def phase_login():
            request = factory.post("/accounts/login/")
            request.session = SessionStore()
            request.user = user
            login(request, user, backend="accounts.backends.PeopleModelBackend")

        home = Client()
        home.force_login(user)
        phases = {
            "password hash (PBKDF2, Django's work factor)": lambda: check_password(password, encoded),
            "authenticate (axes check + user row + hash)": lambda: authenticate(
                factory.post("/accounts/login/"), username=user.username, password=password
            ),
            "login (session, last login, axes record, idle clock)": phase_login,
            "two-factor device check": lambda: two_factor.has_confirmed_device(user),
            "home page after the redirect": lambda: home.get("/"),
        }
        for name, work in phases.items():
            work()
            best = min(timed(work) for _ in range(5))
            yield f"   phase: {name:<55} {best * 1000:8.1f} ms"
        hashes = []
        original = hashers.PBKDF2PasswordHasher.encode

        def counting(self, *args, **kwargs):
            hashes.append(1)
            return original(self, *args, **kwargs)

        hashers.PBKDF2PasswordHasher.encode = counting
        try:
            sign_in()
        finally:
            hashers.PBKDF2PasswordHasher.encode = original
        yield f"   password hashes per sign-in (form, POST, home): {len(hashes)}"

        yield compare(
            "sign-in: form, POST, home (warm process)",
            sign_in,
            lambda: check_password(password, encoded),
            repeat=5,
            target=1.5,
            sides="platform: GET form + POST + GET home, every middleware; baseline: one password check",
        )
        hashers.get_hashers.cache_clear()
        hashers.get_hashers_by_algorithm.cache_clear()

    # A fresh process's first request, as it was (cold) and as it is now (warmed at start).
    cold = sorted(_first_request_seconds(warm=False) for _ in range(3))[1]
    warmed = sorted(_first_request_seconds(warm=True) for _ in range(3))[1]
    client = Client()
    client.get("/accounts/login/")
    steady = min(timed(lambda: client.get("/accounts/login/")) for _ in range(5))
    yield Comparison(
        "first request of a new process, cold (before)",
        cold,
        steady,
        sides="platform: GET /accounts/login/ as a new process's first request; baseline: the same, warm",
    )
    yield Comparison(
        "first request of a new process, warmed at start (after)",
        warmed,
        steady,
        sides="platform: the same first request after anshun.warmup ran at start; baseline: the same, warm",
    )
    yield Comparison(
        "first request: cold (before) against warmed at start (after)",
        cold,
        warmed,
        sides="platform: a new process's first GET /accounts/login/; baseline: the same after anshun.warmup",
    )
