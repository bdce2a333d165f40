"""Shared test fixtures. Tests run on the real PostGIS and Redis that `make test` starts.

The Anshun tree (divisions, demo offices and grids) is loaded once per session
into the test database; transactional tests, which flush the database when they
end, load it again through ``anshun_tree``.
"""

import os
import shutil

import pytest
from django.core.management import call_command

from accounts.roles import Role
from tests.factories import user_for_role


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("load_anshun", verbosity=0)


@pytest.fixture
def anshun_tree(transactional_db):
    """For transactional tests: the tree is gone after the previous flush, so load it again."""
    call_command("load_anshun", verbosity=0)


@pytest.fixture
def role_user():
    """Make a user of a role (jurisdiction defaults inside 西秀区)."""
    return user_for_role


@pytest.fixture
def city_official(db):
    return user_for_role(Role.CITY_OFFICIAL)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture(scope="session")
def chromium_path():
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path:
        pytest.fail("Debian's chromium is required for browser tests (make setup installs it).")
    return path


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone_page(browser):
    """A page the size of a mid-range Android phone."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    yield page
    context.close()
