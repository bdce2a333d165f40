"""Shared test fixtures. Tests run on the real PostGIS and Redis that `make test` starts.

The test database is a copy of a template that holds the migrated schema and the Anshun tree
(divisions, demo offices and grids), built once for its inputs (``tests/db_template.py``);
transactional tests, which flush the database when they end, load the tree again through
``anshun_tree``.
"""

import io
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction

from accounts.roles import Role
from anshun.db import analyze
from tests.factories import user_for_role


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_modify_db_settings):
    """Replaces pytest-django's set-up: a fresh clone of the template for every run (and every
    xdist worker), whatever ``--reuse-db``/``--create-db`` say, dropped when the session ends."""
    from tests.db_template import clone_test_database, drop_test_database

    started = time.monotonic()
    _empty_test_media()
    with django_db_blocker.unblock():
        name, how = clone_test_database(verbose=request.config.option.verbose > 0)
        _save_tree()
    note = f"test database {name}: {how} ({time.monotonic() - started:.1f} s)"
    request.config.stash.setdefault(TEST_DB_NOTES, []).append(note)
    if hasattr(request.config, "workeroutput"):  # an xdist worker: the controller prints it
        request.config.workeroutput["anshun_test_db"] = note
    yield
    with django_db_blocker.unblock():
        drop_test_database(name)


def _empty_test_media() -> None:
    """Files follow the database: a fresh database with files of an earlier run beside it would
    let a new row (job 11, photo 3) meet an old file of the same name."""
    from django.conf import settings

    media = Path(settings.MEDIA_ROOT)
    if media.name.startswith("test-media") and media.is_dir():
        shutil.rmtree(media)


TEST_DB_NOTES = pytest.StashKey[list]()


FUZZ_TOTALS = pytest.StashKey[dict]()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """The xdist controller gathers what each worker reports (see also tests/fuzz/conftest.py)."""
    output = getattr(node, "workeroutput", {})
    if output.get("anshun_test_db"):
        node.config.stash.setdefault(TEST_DB_NOTES, []).append(output["anshun_test_db"])
    totals = node.config.stash.setdefault(FUZZ_TOTALS, {"cases": Counter(), "statuses": Counter()})
    totals["cases"].update(output.get("fuzz_cases", {}))
    totals["statuses"].update({int(code): n for code, n in output.get("fuzz_statuses", {}).items()})


def pytest_configure(config):
    """Under pytest-xdist, each worker must keep its own Redis database and uploaded files."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    if os.environ.get("ANSHUN_TEST_REDIS_ISOLATED") != worker:
        raise pytest.UsageError(
            "xdist workers would share one Redis (Celery queue, cache): run with -p tests.xdist_worker_env "
            "(scripts/pytest_in_services.sh does)."
        )


def pytest_collection_modifyitems(config, items):
    """The fault tests start private stacks on preferred ports: two workers starting theirs at
    once would race for the same ports, so under xdist (``--dist loadgroup``) they share one."""
    for item in items:
        if item.get_closest_marker("faults"):
            item.add_marker(pytest.mark.xdist_group("faults"))


def pytest_make_parametrize_id(config, val, argname):
    """Long binary parameters (a generated XLSX, whose zip headers hold the time it was made, so
    even its length can differ by a byte) are named by their kind only, not their bytes: every
    xdist worker must collect the same ids (pytest numbers equal ids itself)."""
    if isinstance(val, bytes) and len(val) > 64:
        return f"{val[:4]!r}…bytes"
    return None


def pytest_terminal_summary(terminalreporter, config):
    for note in config.stash.get(TEST_DB_NOTES, []):
        terminalreporter.write_line(note)
    totals = config.stash.get(FUZZ_TOTALS, None)
    if totals and totals["cases"]["generated"]:
        terminalreporter.write_sep("=", "API fuzzing (all workers)")
        terminalreporter.write_line(
            f"schemathesis: {totals['cases']['generated']} generated cases, "
            f"{totals['cases']['server_errors']} answered 5xx"
        )
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(totals["statuses"].items()))
        terminalreporter.write_line(f"responses by status: {statuses}")


@pytest.fixture
def anshun_tree(transactional_db):
    """For transactional tests: the tree is gone after the previous flush, so put it back.

    It is copied back as ``load_anshun`` wrote it into the template (``TREE_TABLES``, saved when
    the session's database was cloned): regenerating the demo grids costs seconds per test, and
    the suite has dozens of transactional tests. On a database that still holds the tree (no
    flush yet) ``load_anshun`` runs as before, which leaves it as it is.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM grids_region)")
        loaded = cursor.fetchone()[0]
    if loaded or not _TREE:
        call_command("load_anshun", verbosity=0)
        return
    with transaction.atomic(), connection.cursor() as cursor:
        for table in TREE_TABLES:
            cursor.copy_expert(f"COPY {table} FROM STDIN (FORMAT binary)", io.BytesIO(_TREE[table]))
            # Past both the copied ids and whatever the sequence had handed out before the flush.
            cursor.execute(
                f"SELECT setval(%(seq)s::regclass, GREATEST((SELECT max(id) FROM {table}), "  # noqa: S608 - a constant
                "coalesce(pg_sequence_last_value(%(seq)s::regclass), 1)))",
                {"seq": _TREE_SEQUENCES[table]},
            )
        analyze(*TREE_TABLES)


# What load_anshun writes (parents first), copied out of the freshly cloned database.
TREE_TABLES = ("grids_region", "grids_gridoffice", "grids_grid")
_TREE: dict[str, bytes] = {}
_TREE_SEQUENCES: dict[str, str] = {}


def _save_tree() -> None:
    with connection.cursor() as cursor:
        for table in TREE_TABLES:
            out = io.BytesIO()
            cursor.copy_expert(f"COPY {table} TO STDOUT (FORMAT binary)", out)
            _TREE[table] = out.getvalue()
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            _TREE_SEQUENCES[table] = cursor.fetchone()[0]


# A Wednesday morning in Anshun, on no public holiday, mid-month: the moment the clock-controlled
# tests run at, whatever the wall clock says (no midnight, month end, weekend or lunch break).
FIXED_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def clock():
    """Python's clock (``timezone.now()``, ``localdate()``, ``time.time()``) set to ``FIXED_NOW``
    and running on from there (``time.monotonic()``, timeouts and PostgreSQL's own ``now()`` are
    not moved). ``clock.shift(timedelta(...))`` moves it; ``clock.move_to(...)`` sets it."""
    with time_machine.travel(FIXED_NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def controlled_clock(request):
    """``clock`` for the tests of a folder whose rules count days from today (an autouse fixture
    in its conftest uses this), but not for tests whose other processes read the real clock:
    browsers and Celery workers."""
    if request.node.get_closest_marker("browser") or request.node.get_closest_marker("worker"):
        yield None
        return
    yield request.getfixturevalue("clock")


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
    from django.conf import settings

    from anshun.celery import app as celery_app

    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,  # an xdist worker's own, see above
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
