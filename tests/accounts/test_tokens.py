"""API tokens tried as an attacker would: a password alone buys nothing, keys expire and can be
revoked, nothing secret is readable in the database, guessing is throttled, and a service
account (a sync client) never signs in with a password."""

from __future__ import annotations

from base64 import b32encode
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import tokens, two_factor
from accounts.authentication import TokenFailureThrottle, TokenMintThrottle
from accounts.models import ApiToken, AuthenticatorDevice, normalise_code
from accounts.roles import Role
from grids.models import Region
from tests.accounts.conftest import next_code
from tests.factories import TEST_PASSWORD, user_for_role

pytestmark = pytest.mark.django_db

EXCHANGE = "/api/auth/token/"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """The throttles count per address in Redis, which outlives a test's transaction."""
    keys = [f"throttle_{t.scope}_127.0.0.1" for t in (TokenMintThrottle, TokenFailureThrottle)]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


def _exchange(client, user, code=None, password=TEST_PASSWORD):
    data = {"username": user.username, "password": password}
    if code is not None:
        data["code"] = code
    return client.post(EXCHANGE, data)


def _service_account(role=Role.GRID_WORKER, **extra):
    return user_for_role(role, is_service_account=True, **extra)


def _get(api_client, key, url=None):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client.get(url or reverse("region-list"))


def test_a_case_officer_cannot_trade_the_password_alone_for_a_token(client, enrolled):
    officer = user_for_role(Role.CASE_OFFICER)
    refused = _exchange(client, officer)
    assert refused.status_code == 400
    assert str(tokens.ENROL_FIRST) in refused.json()["code"][0]  # says what to do: enrol first
    device, _codes = enrolled(officer)
    no_code = _exchange(client, officer)
    assert no_code.status_code == 400 and str(tokens.CODE_REQUIRED) in no_code.json()["code"][0]
    wrong = f"{(int(next_code(device)) + 1) % 1_000_000:06d}"
    assert _exchange(client, officer, code=wrong).status_code == 400
    assert _exchange(client, officer, code=next_code(device), password="not-the-password").status_code == 400
    assert not ApiToken.objects.filter(user=officer).exists()


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN, Role.GRID_WORKER])
def test_no_person_gets_a_token_from_the_password_alone(client, role):
    user = user_for_role(role)
    assert _exchange(client, user).status_code == 400
    assert not ApiToken.objects.filter(user=user).exists()


def test_with_a_code_a_person_gets_a_token_that_expires(client, api_client, enrolled):
    officer = user_for_role(Role.CASE_OFFICER)
    device, _codes = enrolled(officer)
    before = timezone.now()
    response = _exchange(client, officer, code=next_code(device))
    assert response.status_code == 200
    key = response.json()["token"]
    token = ApiToken.objects.get(user=officer)
    assert abs(token.expires_at - before - timedelta(hours=12)) < timedelta(seconds=30)
    assert _get(api_client, key).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    # Twelve hours later the same key is refused.
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = _get(api_client, key)
    assert expired.status_code == 401 and expired["WWW-Authenticate"] == "Token"


def test_a_backup_code_also_buys_a_token_once(client, enrolled):
    user = user_for_role(Role.AUDITOR)
    _device, codes = enrolled(user)
    assert _exchange(client, user, code=codes[0].upper()).status_code == 200
    assert _exchange(client, user, code=codes[0]).status_code == 400
    assert ApiToken.objects.filter(user=user).count() == 1


def test_revoked_unknown_and_malformed_keys_are_401(api_client):
    account = _service_account()
    token, key = tokens.service_token_issue(actor=None, account=account, name="office 1")
    assert _get(api_client, key).status_code == 200
    for bad in (key[:-1] + ("A" if key[-1] != "A" else "B"), key[: ApiToken.PREFIX_LENGTH], "x", "é" * 20):
        assert _get(api_client, bad).status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION="Token")
    assert api_client.get(reverse("region-list")).status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key} extra")
    assert api_client.get(reverse("region-list")).status_code == 401
    tokens.token_revoke(actor=user_for_role(Role.ADMIN), token=token)
    assert _get(api_client, key).status_code == 401
    # Deactivating the account ends its tokens too.
    _other, other_key = tokens.service_token_issue(actor=None, account=account, name="office 2")
    assert _get(api_client, other_key).status_code == 200
    account.is_active = False
    account.save()
    assert _get(api_client, other_key).status_code == 401


def test_authentication_is_one_indexed_query(api_client):
    _token, key = tokens.service_token_issue(actor=None, account=_service_account(), name="sync")
    tokens.token_authenticate(key)  # marks it used
    with CaptureQueriesContext(connection) as queries:
        assert tokens.token_authenticate(key) is not None
    assert len(queries) == 1 and '"prefix" = ' in queries[0]["sql"]


def test_turning_two_factor_off_revokes_the_persons_tokens(client, api_client, enrolled, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = user_for_role(Role.COUNTY_OFFICIAL)
    device, _codes = enrolled(user)
    key = _exchange(client, user, code=next_code(device)).json()["token"]
    two_factor.two_factor_disable(user=user, token=next_code(device))
    assert _get(api_client, key).status_code == 401


def test_raw_database_holds_no_key_secret_or_code(client, enrolled):
    """Read the columns with SQL, as someone holding a database dump would."""
    user = user_for_role(Role.CASE_OFFICER)
    device, codes = enrolled(user)
    person_key = _exchange(client, user, code=next_code(device)).json()["token"]
    _t, service_key = tokens.service_token_issue(actor=None, account=_service_account(), name="sync")
    secret = AuthenticatorDevice.objects.get(pk=device.pk).bin_key
    needles = [person_key, service_key, secret.hex(), b32encode(secret).decode().rstrip("=")]
    needles += [variant for code in codes for variant in (code, normalise_code(code))]
    dump = []
    with connection.cursor() as cursor:
        for table in ("accounts_apitoken", "accounts_authenticatordevice", "accounts_backupcode"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            rows = cursor.fetchall()
            assert rows, table
            dump += [str(value) for row in rows for value in row]
        tables = connection.introspection.table_names(cursor)
    text = "\n".join(dump)
    for needle in needles:
        assert needle.lower() not in text.lower()
    assert secret not in b"".join(v.encode() for v in dump)
    # django-otp's and DRF's clear-text stores are gone.
    assert not {"authtoken_token", "otp_totp_totpdevice", "otp_static_statictoken"} & set(tables)


def test_token_minting_is_throttled_per_address(client, enrolled, settings):
    settings.API_TOKEN_MINT_RATE = "3/minute"
    user = user_for_role(Role.COUNTY_OFFICIAL)
    device, _codes = enrolled(user)
    for _ in range(3):
        assert _exchange(client, user, password="wrong-password-1").status_code == 400
    throttled = _exchange(client, user, code=next_code(device))  # even the right password and code
    assert throttled.status_code == 429 and "Retry-After" in throttled
    assert not ApiToken.objects.filter(user=user).exists()


def test_failed_token_authentications_are_throttled(api_client, settings):
    settings.API_TOKEN_FAILURE_RATE = "3/minute"
    _t, key = tokens.service_token_issue(actor=None, account=_service_account(), name="sync")
    guess = key[: ApiToken.PREFIX_LENGTH] + "0" * (len(key) - ApiToken.PREFIX_LENGTH)
    assert [_get(api_client, guess).status_code for _ in range(3)] == [401, 401, 401]
    assert _get(api_client, guess).status_code == 429
    assert _get(api_client, key).status_code == 429  # the address is held off, whatever it sends
    cache.delete(f"throttle_{TokenFailureThrottle.scope}_127.0.0.1")
    assert _get(api_client, key).status_code == 200  # successes are not counted


def test_a_service_account_never_signs_in_with_a_password(client, api_client):
    account = _service_account()
    assert not account.has_usable_password()
    # Even a password set behind the model's back (raw SQL) opens nothing.
    from django.contrib.auth.hashers import make_password

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_user SET password = %s WHERE id = %s", [make_password(TEST_PASSWORD), account.pk]
        )
    login = client.post(reverse("login"), {"username": account.username, "password": TEST_PASSWORD})
    assert login.status_code == 200 and client.session.get("_auth_user_id") is None
    refused = _exchange(client, account)
    assert refused.status_code == 400 and not ApiToken.objects.filter(user=account).exists()
    # A session made some other way is no sign-in: the account is never loaded from it.
    client.force_login(account)
    home = client.get(reverse("home"))
    assert home.status_code == 302 and home["Location"].startswith(reverse("login"))
    api_client.force_login(account)
    assert api_client.get(reverse("region-list")).status_code == 403
    assert not two_factor.may_enrol(account)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR, Role.CASE_OFFICER])
def test_roles_of_two_factor_people_cannot_be_service_accounts(role):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        user_for_role(role, is_service_account=True)


def test_only_admins_issue_and_only_to_service_accounts():
    account = _service_account(Role.DISPATCHER, region=Region.objects.get(code="520402"))
    with pytest.raises(PermissionDenied):
        tokens.service_token_issue(actor=user_for_role(Role.CITY_OFFICIAL), account=account, name="x")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        tokens.service_token_issue(
            actor=user_for_role(Role.ADMIN), account=user_for_role(Role.COUNTY_OFFICIAL), name="x"
        )
    token, _key = tokens.service_token_issue(actor=user_for_role(Role.ADMIN), account=account, name="centre")
    assert token.expires_at - token.created_at == timedelta(days=90)


def test_issue_api_token_command_prints_the_key_once(api_client, capsys):
    account = _service_account()
    call_command("issue_api_token", account.username, "--name", "office pc", "--days", "30")
    key = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(user=account)
    assert token.name == "office pc" and token.expires_at - token.created_at == timedelta(days=30)
    assert key not in str(list(ApiToken.objects.values_list()))
    assert _get(api_client, key).status_code == 200
    call_command("issue_api_token", account.username, "--revoke-others")
    new_key = capsys.readouterr().out.strip()
    assert _get(api_client, key).status_code == 401 and _get(api_client, new_key).status_code == 200
    with pytest.raises(CommandError):
        call_command("issue_api_token", user_for_role(Role.DISPATCHER).username)


def test_admins_issue_a_token_from_the_user_list(client, api_client):
    client.force_login(user_for_role(Role.ADMIN))
    account = _service_account()
    page = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "issue_api_token", "_selected_action": [account.pk]},
    )
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    key = page.context["key"]
    assert key in page.content.decode() and _get(api_client, key).status_code == 200
    listing = client.get(reverse("admin:accounts_apitoken_changelist")).content.decode()
    assert account.username in listing and key not in listing
    token = ApiToken.objects.get(user=account)
    client.post(
        reverse("admin:accounts_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert _get(api_client, key).status_code == 401
    person = user_for_role(Role.COUNTY_OFFICIAL)
    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "issue_api_token", "_selected_action": [person.pk]},
    )
    assert not ApiToken.objects.filter(user=person).exists()


def test_the_schema_documents_the_token_scheme(client):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/json").json()
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert scheme["type"] == "apiKey" and scheme["name"] == "Authorization"
    assert "code" in str(schema["paths"][EXCHANGE]["post"]["requestBody"])


def test_a_service_account_made_in_the_admin_keeps_no_password(client):
    from accounts.models import User
    from grids.models import GridOffice

    client.force_login(user_for_role(Role.ADMIN))
    assert client.get(reverse("admin:accounts_user_add")).status_code == 200
    office = GridOffice.objects.order_by("code").first()
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "sync-office-9",
            "usable_password": "true",
            "password1": "a-long-password-77",
            "password2": "a-long-password-77",
            "role": Role.GRID_WORKER,
            "grid_office": office.pk,
            "is_service_account": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    account = User.objects.get(username="sync-office-9")
    assert account.is_service_account and not account.has_usable_password()
    client.logout()
    client.post(reverse("login"), {"username": "sync-office-9", "password": "a-long-password-77"})
    assert client.session.get("_auth_user_id") is None
