"""Shared test fixtures. Tests run on the real PostGIS and Redis that `make test` starts.

The Anshun tree (divisions, demo offices and grids) is loaded once per session
into the test database; transactional tests, which flush the database when they
end, load it again through ``anshun_tree``.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

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


ROOT = Path(__file__).resolve().parent.parent


def _start_celery_worker(log_path: Path, name: str) -> subprocess.Popen:
    """Start a `celery worker` subprocess on the test database and wait until it answers pings."""
    from anshun.celery import app as celery_app

    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "anshun.settings.test",
        "DATABASE_URL": f"postgis://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "anshun",
            "worker",
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "info",
            "--hostname",
            f"{name}-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if celery_app.control.ping(timeout=0.5):
            break
        assert process.poll() is None, log_path.read_text()
    else:
        process.kill()
        pytest.fail("the Celery worker did not come up")
    return process


@pytest.fixture
def celery_worker_process(anshun_tree, tmp_path):
    """A real `celery worker` subprocess bound to the test database, through the real Redis."""
    process = _start_celery_worker(tmp_path / "worker.log", "test")
    yield process
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def celery_worker_factory(anshun_tree, tmp_path):
    """Start real workers on demand (for tests that kill one and need the next); stops what is left."""
    started: list[subprocess.Popen] = []

    def start(name: str = "worker") -> subprocess.Popen:
        process = _start_celery_worker(tmp_path / f"{name}-{len(started)}.log", f"{name}{len(started)}")
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
