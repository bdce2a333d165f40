"""Two-factor sign-in: enrolment, the code step at login, throttling, lock-out, backup codes,
mandatory roles and the admin. API tokens: test_tokens.py."""

import re
from base64 import b32encode

import pytest
from django.urls import reverse

from accounts import two_factor
from accounts.crypto import digest
from accounts.models import AuthenticatorDevice, BackupCode, normalise_code
from accounts.roles import Role
from tests.accounts.conftest import next_code
from tests.factories import TEST_PASSWORD, user_for_role

pytestmark = pytest.mark.django_db
BACKUP_CODE = re.compile(r"\b[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}\b")


def _password(client, user, next_url=""):
    data = {"username": user.username, "password": TEST_PASSWORD}
    url = reverse("login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, data)


def _code(client, code):
    return client.post(reverse("login-verify"), {"code": code})


def _signed_in_as(client):
    return client.session.get("_auth_user_id")


def test_enrolment_confirms_only_with_a_valid_code(client):
    user = user_for_role(Role.COUNTY_OFFICIAL)
    client.force_login(user)
    page = client.get(reverse("two-factor-setup"))
    assert page.status_code == 200
    device = AuthenticatorDevice.objects.get(user=user, confirmed=False)
    assert two_factor.secret_for_manual_entry(device) in page.content.decode()
    qr = client.get(reverse("two-factor-qr"))
    assert qr["Content-Type"] == "image/svg+xml" and qr["Cache-Control"] == "no-store"
    assert qr.content.lstrip().startswith(b"<svg")

    wrong = f"{(int(next_code(device)) + 1) % 1_000_000:06d}"
    refused = client.post(reverse("two-factor-setup"), {"code": wrong})
    assert refused.status_code == 200 and 'data-testid="code-error"' in refused.content.decode()
    device.refresh_from_db()
    assert not device.confirmed and not two_factor.has_confirmed_device(user)

    device.throttle_reset()  # the wrong code above started django-otp's back-off
    shown = client.post(reverse("two-factor-setup"), {"code": next_code(device)})
    device.refresh_from_db()
    assert device.confirmed
    codes = BACKUP_CODE.findall(shown.content.decode())
    assert len(set(codes)) == two_factor.BACKUP_CODE_COUNT == 10
    stored = set(BackupCode.objects.filter(device__user=user).values_list("code_digest", flat=True))
    assert stored == {digest(normalise_code(code)) for code in codes}  # digests only, one per code
    # The session that proved the code stays signed in; the account page says two-factor is on.
    account = client.get(reverse("account"))
    assert account.status_code == 200 and "剩余 10 个备用码" in account.content.decode()
    assert client.get(reverse("two-factor-qr")).status_code == 404  # no secret once confirmed
    # The confirming form sent again (a reload) neither fails nor makes new codes.
    again = client.post(reverse("two-factor-setup"), {"code": next_code(device)})
    assert again.status_code == 302 and again["Location"] == reverse("account")
    assert set(BackupCode.objects.filter(device__user=user).values_list("code_digest", flat=True)) == stored


@pytest.mark.parametrize("role", list(Role))
def test_every_person_may_turn_two_factor_on(client, role):
    client.force_login(user_for_role(role))
    assert client.get(reverse("account")).status_code == 200
    assert client.get(reverse("two-factor-setup")).status_code == 200
    assert AuthenticatorDevice.objects.filter(user__role=role, confirmed=False).exists()


def test_login_with_a_device_requires_the_code(client, enrolled):
    user = user_for_role(Role.CITY_OFFICIAL)
    device, _codes = enrolled(user)
    response = _password(client, user, next_url="/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login-verify"))
    assert _signed_in_as(client) is None
    assert client.get(reverse("home")).status_code == 302  # not signed in before the code
    assert client.get(response["Location"]).status_code == 200
    done = client.post(response["Location"], {"code": next_code(device), "next": "/dashboard/"})
    assert done.status_code == 302 and done["Location"] == "/dashboard/"
    assert _signed_in_as(client) == str(user.pk)
    assert client.get("/dashboard/").status_code == 200


def test_the_code_page_needs_the_password_step_first(client, enrolled):
    user = user_for_role(Role.CITY_OFFICIAL)
    device, _codes = enrolled(user)
    assert client.get(reverse("login-verify")).status_code == 302
    assert _code(client, next_code(device))["Location"] == reverse("login")
    assert _signed_in_as(client) is None


def test_a_wrong_code_is_refused_and_throttled(client, enrolled, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # a minute after one failure, so the test cannot race it
    user = user_for_role(Role.CITY_OFFICIAL)
    device, _codes = enrolled(user)
    _password(client, user)
    right = next_code(device)
    refused = _code(client, f"{(int(right) + 1) % 1_000_000:06d}")
    assert refused.status_code == 200 and str(two_factor.INVALID_CODE) in refused.content.decode()
    throttled = _code(client, right)
    assert throttled.status_code == 200 and str(two_factor.THROTTLED) in throttled.content.decode()
    assert _signed_in_as(client) is None
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # the throttled attempt was not even checked


def test_wrong_codes_count_toward_the_lockout(client, enrolled, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = user_for_role(Role.CITY_OFFICIAL)
    device, _codes = enrolled(user)
    _password(client, user)
    wrong = f"{(int(next_code(device)) + 1) % 1_000_000:06d}"
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _code(client, wrong).status_code == 200
    assert _code(client, wrong).status_code == 429
    # Locked out: neither the code page nor the password step lets the user in now.
    assert _code(client, next_code(device))["Location"] == reverse("login")
    assert _password(client, user).status_code == 429
    assert _signed_in_as(client) is None


def test_backup_codes_work_once(client, enrolled, settings):
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    user = user_for_role(Role.TOWNSHIP_OFFICIAL)
    _device, codes = enrolled(user)
    _password(client, user)
    assert _code(client, codes[0].upper())["Location"] == reverse("home")  # case and spaces do not matter
    assert _signed_in_as(client) == str(user.pk)
    client.logout()
    _password(client, user)
    assert _code(client, codes[0]).status_code == 200
    assert _signed_in_as(client) is None
    assert _code(client, codes[1])["Location"] == reverse("home")
    assert two_factor.backup_codes_left(user) == 8


def test_mandatory_roles_are_sent_to_enrolment_until_they_have_a_device(client, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = [Role.CITY_OFFICIAL]
    user = user_for_role(Role.CITY_OFFICIAL)
    _password(client, user)
    home = client.get(reverse("home"))
    assert home.status_code == 302 and home["Location"] == reverse("two-factor-setup")
    assert client.get(reverse("grid-map"))["Location"] == reverse("two-factor-setup")
    assert client.get(reverse("region-list")).status_code == 403
    setup = client.get(reverse("two-factor-setup"))
    assert setup.status_code == 200
    device = AuthenticatorDevice.objects.get(user=user)
    client.post(reverse("two-factor-setup"), {"code": next_code(device)})
    assert client.get(reverse("home")).status_code == 200
    # A role not listed is left alone.
    other = user_for_role(Role.COUNTY_OFFICIAL)
    client.force_login(other)
    assert client.get(reverse("home")).status_code == 200


def test_mandatory_two_factor_cannot_be_turned_off(client, enrolled, settings):
    user = user_for_role(Role.CITY_OFFICIAL)
    device, _codes = enrolled(user)
    settings.TWO_FACTOR_REQUIRED_ROLES = [Role.CITY_OFFICIAL]
    _password(client, user)
    _code(client, next_code(device))
    client.post(reverse("two-factor-disable"), {"code": next_code(device)})
    assert two_factor.has_confirmed_device(user)


def test_turning_two_factor_off_needs_a_fresh_code(client, enrolled, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = user_for_role(Role.DISPATCHER)
    device, _codes = enrolled(user)
    _password(client, user)
    _code(client, next_code(device))
    client.post(
        reverse("two-factor-disable"), {"code": "000000" if next_code(device) != "000000" else "111111"}
    )
    assert two_factor.has_confirmed_device(user)
    client.post(reverse("two-factor-disable"), {"code": next_code(device)})
    assert not two_factor.has_confirmed_device(user)
    assert not BackupCode.objects.filter(device__user=user).exists()
    client.logout()
    assert _password(client, user)["Location"] == reverse("home")  # password alone again


@pytest.mark.parametrize("role", [Role.COUNTY_OFFICIAL, Role.GRID_WORKER, Role.ADMIN])
def test_a_user_without_two_factor_logs_in_as_before(client, role):
    user = user_for_role(role)
    response = _password(client, user)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert _signed_in_as(client) == str(user.pk)
    assert client.get(reverse("home")).status_code == 200


def test_the_admin_requires_the_code_step(client, enrolled):
    admin = user_for_role(Role.ADMIN)
    device, _codes = enrolled(admin)
    # A session made without the code (here: force_login) is signed out, not let in.
    client.force_login(admin)
    response = client.get("/admin/")
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert _signed_in_as(client) is None
    # The admin's own login form is not a way round: it hands over to the two-step login.
    handed = client.get("/admin/login/?next=/admin/accounts/user/")
    assert handed["Location"] == reverse("login") + "?next=%2Fadmin%2Faccounts%2Fuser%2F"
    step = _password(client, admin, next_url="/admin/")
    assert client.get("/admin/").status_code == 302
    client.post(step["Location"], {"code": next_code(device), "next": "/admin/"})
    assert client.get("/admin/").status_code == 200


def test_admins_can_remove_a_lost_device_but_never_read_its_secrets(client, enrolled):
    official = user_for_role(Role.COUNTY_OFFICIAL)
    device, codes = enrolled(official)
    admin = user_for_role(Role.ADMIN)
    _password(client, admin)
    listing = client.get("/admin/accounts/authenticatordevice/")
    assert listing.status_code == 200 and official.username in listing.content.decode()
    change = client.get(f"/admin/accounts/authenticatordevice/{device.pk}/change/").content.decode()
    assert official.username in change
    for secret in (device.bin_key.hex(), b32encode(device.bin_key).decode(), device.encrypted_key):
        assert secret not in change
    static = official.backupcodedevice_set.get()
    backup_page = client.get(f"/admin/accounts/backupcodedevice/{static.pk}/change/").content.decode()
    assert codes[0] not in backup_page and digest(normalise_code(codes[0])) not in backup_page
    client.post(f"/admin/accounts/authenticatordevice/{device.pk}/delete/", {"post": "yes"})
    assert not AuthenticatorDevice.objects.filter(user=official).exists()


def test_an_admin_without_a_device_still_reaches_the_admin(client):
    admin = user_for_role(Role.ADMIN)
    _password(client, admin)
    assert client.get("/admin/").status_code == 200


def test_the_code_page_speaks_chinese_by_default(client, enrolled):
    user = user_for_role(Role.CITY_OFFICIAL)
    enrolled(user)
    _password(client, user)
    page = client.get(reverse("login-verify")).content.decode()
    assert "动态验证码" in page
