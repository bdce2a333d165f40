"""An official turns on two-factor sign-in in headless Chromium, then signs in with it."""

import re
from base64 import b32encode

import pytest
from playwright.sync_api import expect

from accounts.models import AuthenticatorDevice
from accounts.roles import Role
from tests.accounts.conftest import next_code
from tests.factories import TEST_PASSWORD, user_for_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _password_step(page, live_server, user, *, go=True):
    if go:
        page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit].primary")


def test_official_enrols_then_signs_in_with_password_and_code(anshun_tree, live_server, phone_page):
    page = phone_page
    user = user_for_role(Role.CITY_OFFICIAL)
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    _password_step(page, live_server, user)
    expect(page).to_have_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/accounts/")
    with page.expect_response(re.compile(r"/accounts/two-factor/qr\.svg$")) as qr:
        page.click("a[href='/accounts/two-factor/setup/']")
    assert qr.value.status == 200 and qr.value.headers["content-type"] == "image/svg+xml"
    expect(page.locator("img.qr")).to_be_visible()
    device = AuthenticatorDevice.objects.get(user=user, confirmed=False)
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    assert secret == b32encode(device.bin_key).decode()
    page.fill("#id_code", next_code(device))
    page.click("button[type=submit].primary")
    expect(page.get_by_test_id("backup-codes").locator("li")).to_have_count(10)

    page.click("form[action='/accounts/logout/'] button")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    _password_step(page, live_server, user)
    expect(page).to_have_url(re.compile(r"/accounts/login/verify/"))
    page.goto(f"{live_server.url}/dashboard/")  # not signed in yet: back to the login
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    _password_step(page, live_server, user, go=False)  # the code step keeps where the user was going
    page.fill("#id_code", next_code(device))
    page.click("button[type=submit].primary")
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_test_id("dashboard-region")).to_be_visible()
    assert refused == []
