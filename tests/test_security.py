"""Security settings, login lock-out, idle timeouts, CSP, API rate limits, request ids and metrics."""

import io
import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.roles import Role
from anshun.observability import RequestIdFilter
from tests.factories import TEST_PASSWORD, user_for_role

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


def _manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in {**os.environ, **env}.items() if v is not None},
    )


def test_production_settings_pass_check_deploy_without_warnings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="anshun.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="pingan.example.cn",
        DJANGO_ALLOW_ASYNC_UNSAFE=None,  # set by the test runner for Playwright, never in production
        PII_ENCRYPTION_KEYS="cHJvZHVjdGlvbi1jaGVjay1vbmx5LWtleS0wMDAwMDA=",
        PII_LOOKUP_KEY="production-check-only-lookup-key",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_its_secret():
    env = {
        "DJANGO_SETTINGS_MODULE": "anshun.settings.production",
        "DJANGO_SECRET_KEY": None,
        "DJANGO_ALLOWED_HOSTS": "pingan.example.cn",
    }
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def _attempt(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_repeated_failures_lock_the_account_even_for_the_right_password(client):
    user = user_for_role(Role.CITY_OFFICIAL)
    for _ in range(4):
        assert _attempt(client, user.username, "wrong-password").status_code == 200
    locked = _attempt(client, user.username, "wrong-password")
    assert locked.status_code == 429
    assert "登录已锁定" in locked.content.decode() or "Sign-in locked" in locked.content.decode()
    assert _attempt(client, user.username, TEST_PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_successful_login_resets_the_failure_count(client):
    user = user_for_role(Role.CITY_OFFICIAL)
    for _ in range(4):
        _attempt(client, user.username, "wrong-password")
    assert _attempt(client, user.username, TEST_PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert _attempt(client, user.username, "wrong-password").status_code == 200


@pytest.mark.parametrize(
    "role, seconds",
    [
        (Role.CITY_OFFICIAL, 30 * 60),
        (Role.CASE_OFFICER, 30 * 60),
        (Role.ADMIN, 30 * 60),
        (Role.GRID_WORKER, 12 * 3600),
    ],
)
def test_idle_timeout_depends_on_the_role(client, role, seconds):
    client.force_login(user_for_role(role))
    client.get(reverse("home"))
    assert client.session.get_expiry_age() == seconds


def test_password_policy_rejects_weak_passwords():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("12345678901234", "password1234", "short-1", "tashan-2026"):  # the last: 11 characters
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("grid-office-tashan-2026")


def test_pages_carry_a_csp_without_inline_script(client):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    for url in (reverse("home"), reverse("grid-map"), reverse("api-docs"), reverse("login")):
        response = client.get(url)
        directives = dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))
        assert directives["script-src"] == "'self'"
        html = response.content.decode()
        for chunk in html.split("<script")[1:]:
            tag = chunk.split(">", 1)[0]
            assert "src=" in tag or "application/json" in tag, f"inline script on {url}: <script{tag}>"


def test_api_is_rate_limited_per_token(api_client, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    # DRF reads the rates once at import; the production value comes from API_RATE_USER.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": "1/minute"})
    api_client.force_authenticate(user_for_role(Role.COUNTY_OFFICIAL))
    codes = [api_client.get(reverse("region-list")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    other = user_for_role(Role.COUNTY_OFFICIAL)
    api_client.force_authenticate(other)
    assert api_client.get(reverse("region-list")).status_code == 200


def test_request_id_is_echoed_or_made(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", HTTP_X_REQUEST_ID="<bad id>")["X-Request-ID"]
    assert len(made) == 32 and made != "<bad id>"


def test_log_lines_are_json_with_the_request_id():
    from pythonjsonlogger.json import JsonFormatter

    from anshun.observability import request_id_var

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter("%(levelname)s %(request_id)s %(message)s"))
    log = logging.getLogger("tests.json")
    log.addHandler(handler)
    token = request_id_var.set("req-42")
    try:
        log.warning("incident registered")
    finally:
        request_id_var.reset(token)
        log.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line == {"levelname": "WARNING", "request_id": "req-42", "message": "incident registered"}


def test_metrics_count_requests_and_are_private(client):
    before = client.get("/metrics").content.decode()
    client.get("/healthz")
    after = client.get("/metrics").content.decode()

    def count(text):
        for line in text.splitlines():
            if line.startswith('anshun_http_requests_total{method="GET",route="healthz",status="200"}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    assert count(after) == count(before) + 1
    assert "anshun_celery_queue_length" in after
    assert "anshun_http_request_duration_seconds_bucket" in after
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403


def test_no_template_carries_inline_script_or_style():
    """The CSP forbids them; a template that needs behaviour or style loads a static file."""
    import re

    offences = []
    templates = [
        p
        for p in ROOT.glob("**/templates/**/*.html")
        if ".venv" not in p.parts and "node_modules" not in p.parts
    ]
    assert len(templates) > 10
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and "application/json" not in tag:
                offences.append(f"{path.relative_to(ROOT)}: {tag}")
        for pattern in (r"<style\b", r"\sstyle=\"", r"\son[a-z]+=\""):
            offences += [f"{path.relative_to(ROOT)}: {m}" for m in re.findall(pattern, text)]
    assert offences == []
