"""The test database, cloned from a template that is built once.

Migrating an empty database and loading the Anshun tree (1,300 regions with boundaries, 388
grid offices, their grids) costs about a minute on the 2-core machine; copying a database that
already holds them costs a second or two. So the migrated, loaded and analysed database is kept
as a PostgreSQL template named after a hash of everything that decides its contents (the
migrations and the app modules they import, the loader and its data files, the locked
dependency set and this file), and every run, and every xdist worker of a run, gets its own
``CREATE DATABASE test_… TEMPLATE anshun_template_<hash>``. A change to any of those inputs
gives a new name, so the template is rebuilt rather than trusted.

`make test` starts a new throwaway server each run, so the built template is also dumped to
``.local/test-template/`` (under the same hash, plus the server's and PostGIS's versions); the
next run restores it in a few seconds instead of building it again.

A template is built under a new name and renamed when complete, so an interrupted build never
leaves a half-loaded template behind; an advisory lock lets one process build it while
others (xdist workers, a second run on the same server) wait for it.
"""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, connections

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PREFIX = "anshun_template_"
LOCK_KEY = 5204_0014  # pg_advisory_lock key: Anshun (5204), issue 14
# A dump of the built template, for the next run on a new throwaway server (make test starts one
# per run): restoring it takes seconds, building it most of a minute.
DUMP_DIR = ROOT / ".local" / "test-template"

# What load_anshun reads and runs, besides the migrations (found below).
LOADER_INPUTS = (
    "grids/management/commands/load_anshun.py",
    "grids/services/*.py",
    "grids/models.py",
    "grids/data/*",
    "anshun/db.py",
    "requirements.lock",
    "tests/db_template.py",
)


def _project_module_files(source: Path) -> set[Path]:
    """The project's own modules a migration imports (its data functions and field classes run
    when the template is built)."""
    found: set[Path] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        names = (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module]
            if isinstance(node, ast.ImportFrom) and node.module and not node.level
            else []
        )
        for name in names:
            parts = name.split(".")
            for candidate in (ROOT.joinpath(*parts).with_suffix(".py"), ROOT.joinpath(*parts, "__init__.py")):
                if candidate.is_file() and ".venv" not in candidate.parts:
                    found.add(candidate)
    return found


def template_inputs() -> list[Path]:
    migrations = sorted(
        p
        for p in ROOT.glob("*/migrations/*.py")
        if not {".venv", "node_modules", ".local"} & set(p.relative_to(ROOT).parts)
    )
    files = set(migrations)
    for migration in migrations:
        files |= _project_module_files(migration)
    for pattern in LOADER_INPUTS:
        files.update(p for p in ROOT.glob(pattern) if p.is_file())
    return sorted(files)


def template_key() -> str:
    digest = hashlib.sha256()
    for path in template_inputs():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _exists(cursor, name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    return cursor.fetchone() is not None


def _on(name: str):
    """A connection of its own to database ``name`` (the template being built), autocommit."""
    default = connections["default"]
    return default.__class__({**default.settings_dict, "NAME": name}, alias="template")


def _finish(building: str) -> None:
    other = _on(building)
    try:
        with other.cursor() as cursor:
            # The clones inherit the statistics and the visibility map: their first queries are
            # planned on the real row counts and read no page twice.
            cursor.execute("VACUUM ANALYZE")
    finally:
        other.close()


def _migrate_and_load(building: str, *, verbose: bool) -> None:
    test_settings = connection.settings_dict.setdefault("TEST", {})
    wanted_name = test_settings.get("NAME")
    old_name = connection.settings_dict["NAME"]
    test_settings["NAME"] = building
    try:
        connection.creation.create_test_db(
            verbosity=1 if verbose else 0, autoclobber=True, serialize=False, keepdb=False
        )
        call_command("load_anshun", verbosity=0)
    finally:
        connection.close()
        test_settings["NAME"] = wanted_name
        connection.settings_dict["NAME"] = old_name
        settings.DATABASES["default"]["NAME"] = old_name


def _client(program: str, server_major: str) -> tuple[str, dict]:
    """A PostgreSQL client of the server's major version, and the environment to reach it."""
    versioned = Path(f"/usr/lib/postgresql/{server_major}/bin/{program}")
    path = str(versioned) if versioned.exists() else shutil.which(program) or program
    db = connection.settings_dict
    env = {
        **os.environ,
        "PGHOST": db["HOST"] or "",
        "PGPORT": str(db["PORT"] or ""),
        "PGUSER": db["USER"] or "",
    }
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return path, env


def _server(cursor) -> tuple[str, str]:
    """(major version, a tag of the server and PostGIS versions) for the dump's file name."""
    cursor.execute(
        "SELECT current_setting('server_version_num'), "
        "(SELECT default_version FROM pg_available_extensions WHERE name = 'postgis')"
    )
    number, postgis = cursor.fetchone()
    return str(int(number) // 10000), f"pg{number}-postgis{postgis}"


def _build(template: str, cursor, *, verbose: bool) -> str:
    """Make ``template``: restored from the dump a run with the same inputs left in ``.local``,
    else migrated and loaded (and dumped for the next run); analysed, then renamed into place."""
    started = time.monotonic()
    building = f"{template}_building"
    major, server_tag = _server(cursor)
    dump = DUMP_DIR / f"{template}-{server_tag}.dump"
    cursor.execute(f"DROP DATABASE IF EXISTS {_quote(building)} WITH (FORCE)")
    how = None
    if dump.exists():
        cursor.execute(f"CREATE DATABASE {_quote(building)}")
        restore, env = _client("pg_restore", major)
        done = subprocess.run(  # noqa: S603 - a fixed client and our own file
            [restore, "--exit-on-error", "--no-owner", "-d", building, str(dump)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            how = f"restored {template} from {dump.relative_to(ROOT)}"
        else:
            cursor.execute(f"DROP DATABASE IF EXISTS {_quote(building)} WITH (FORCE)")
            dump.unlink(missing_ok=True)
    if how is None:
        _migrate_and_load(building, verbose=verbose)
        how = f"built {template} (migrations and load_anshun)"
        _save_dump(building, dump, major)
    _finish(building)
    cursor.execute(f"ALTER DATABASE {_quote(building)} RENAME TO {_quote(template)}")
    cursor.execute(f"ALTER DATABASE {_quote(template)} IS_TEMPLATE true")
    return f"{how} in {time.monotonic() - started:.0f} s"


def _save_dump(building: str, dump: Path, major: str) -> None:
    """Keep the built database for the next run on a new server (best effort: a failure only
    means the next run builds again). Dumps of older inputs are removed."""
    DUMP_DIR.mkdir(parents=True, exist_ok=True)
    partial = dump.with_suffix(f".{os.getpid()}.partial")
    program, env = _client("pg_dump", major)
    done = subprocess.run(  # noqa: S603 - a fixed client and our own file
        [program, "-Fc", "-Z1", "-f", str(partial), building], env=env, capture_output=True, check=False
    )
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        return
    partial.replace(dump)
    for old in DUMP_DIR.glob(f"{TEMPLATE_PREFIX}*.dump"):
        if old != dump:
            old.unlink(missing_ok=True)


def _drop_stale_templates(cursor, keep: str) -> None:
    """Templates of older inputs are of no further use; one still being cloned is left alone."""
    cursor.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
        [TEMPLATE_PREFIX.replace("_", r"\_") + "%", keep],
    )
    for (name,) in cursor.fetchall():
        if name.endswith("_building"):
            continue  # another process may be building it right now
        try:
            cursor.execute(f"ALTER DATABASE {_quote(name)} IS_TEMPLATE false")
            cursor.execute(f"DROP DATABASE {_quote(name)}")
        except DatabaseError:  # in use by someone else: theirs to drop
            continue


def clone_test_database(*, verbose: bool = False) -> tuple[str, str]:
    """Make this process's test database a fresh copy of the template (built first if missing).

    Returns (test database name, how it was made) and points Django's connection at the copy.
    """
    test_name = connection.creation._get_test_db_name()
    template = TEMPLATE_PREFIX + template_key()
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        try:
            how = f"cloned from {template}"
            if not _exists(cursor, template):
                how = _build(template, cursor, verbose=verbose) + ", then cloned"
                _drop_stale_templates(cursor, keep=template)
            cursor.execute(f"DROP DATABASE IF EXISTS {_quote(test_name)} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {_quote(test_name)} TEMPLATE {_quote(template)}")
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    connection.close()
    settings.DATABASES["default"]["NAME"] = test_name
    connection.settings_dict["NAME"] = test_name
    return test_name, how


def drop_test_database(name: str) -> None:
    """Drop this process's copy; FORCE ends what a test left connected (a live server thread)."""
    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
