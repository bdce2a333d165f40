"""`make scale`: grow a throwaway database to five years of Anshun and time every page of issue #14.

Run by scripts/scale.sh inside scripts/with_services.sh (its own PostgreSQL and Redis, never the
`make run` database). Steps: migrate and ``load_anshun --demo`` (as `make run` loads it), grow to
the 100k-incident checkpoint, VACUUM ANALYZE, run the platform's precomputations, time the pages
through gunicorn; then grow to full volume and do the same again; print and write the table.

    SCALE=0.05 make scale        # 5% of five years (150k incidents): a quick development run
    make scale                   # full volume: 3M incidents, 1M responses, ... (takes long)
    REPEAT=10 SCALE=0.2 make scale
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anshun.settings.load")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from scale import grow as growing  # noqa: E402
from scale import timing  # noqa: E402

CHECKPOINT = 100_000 / growing.FULL["incidents"]  # the first volume: 100k incidents at SCALE=1

# Beat jobs that are not precomputations (they move work between services); every other job on
# CELERY_BEAT_SCHEDULE runs once after each load, so the rollup folds other changes add to the
# schedule run here without editing this file.
TARGET_P95 = 0.5  # seconds, at five-year volume (issue #14)
TARGET_GROWTH = 1.5  # p95 at full volume / p95 at 100k, for pages bounded by a page or a region

NOT_PRECOMPUTATIONS = {"send-kept-tasks", "requeue-stalled-grid-imports"}

# Precomputations that are not (only) beat jobs, as dotted paths of callables taking no arguments,
# run before the beat jobs. A fold that rebuilds a rollup table from scratch belongs here (e.g. a
# dashboard rollup's full rebuild); a name that does not import is reported and skipped.
PRECOMPUTE_HOOKS = [
    "scale.run.survey_rollup_full",
    "scale.run.dashboard_rollups_full",
    "scale.run.mediation_deadline_queue",
]


def survey_rollup_full():
    """The survey rollup over every answer (the load queued their deltas; a full run rebuilds)."""
    from surveys.services.rollup import run_rollup

    result = run_rollup(full=True)
    return f"{result.villages} communities, {result.rows} metric rows"


def dashboard_rollups_full():
    """The dashboard rollups recounted from the raw records, as their rebuild command does after a
    bulk load (issue #14's rollup tables; ``rollups.services.fold``). Skipped where that app is not
    installed yet."""
    from django.apps import apps

    if not apps.is_installed("rollups"):
        return "rollups app not installed, skipped"
    from rollups.services import fold

    result = fold(full=True)
    return f"{result.records} records, {result.rows} tally rows"


def mediation_deadline_queue():
    """Cases written in bulk get their deadline-queue day, as the demo loader gives its own; cases
    closed more than 120 days ago have no open deadline left."""
    from datetime import timedelta

    from django.utils import timezone

    from mediation import services
    from mediation.models import MediationCase

    recent = MediationCase.objects.filter(
        intake_date__gte=timezone.localdate() - timedelta(days=120), summary__startswith=growing.MARKER
    )
    return f"{services.deadline_queue_rebuild(cases=recent)} cases queued"


def precompute(say) -> dict[str, float]:
    from django.utils.module_loading import import_string

    from anshun.celery import app

    app.conf.task_always_eager = True  # a job that fans out runs its parts here, not on a worker
    app.loader.import_default_modules()
    seconds: dict[str, float] = {}
    for dotted in PRECOMPUTE_HOOKS:
        try:
            hook = import_string(dotted)
        except ImportError:
            say(f"  hook {dotted}: not found, skipped")
            continue
        started = time.perf_counter()
        outcome = hook()
        seconds[dotted.rsplit(".", 1)[-1]] = time.perf_counter() - started
        say(f"  hook {dotted}: {outcome} ({seconds[dotted.rsplit('.', 1)[-1]]:.1f} s)")
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        if name in NOT_PRECOMPUTATIONS:
            continue
        task = app.tasks.get(entry["task"])
        if task is None:
            say(f"  beat job {name}: task {entry['task']} not registered, skipped")
            continue
        started = time.perf_counter()
        outcome = task(*entry.get("args", ()), **entry.get("kwargs", {}))
        seconds[name] = time.perf_counter() - started
        say(f"  beat job {name}: {outcome} ({seconds[name]:.1f} s)")
    return seconds


def volumes() -> dict[str, int]:
    from django.db import connection

    tables = {
        "incidents": "incidents_incident",
        "timeline entries": "incidents_incidentevent",
        "survey responses": "surveys_response",
        "survey answers": "surveys_answer",
        "mediation cases": "mediation_mediationcase",
        "special-population persons": "special_groups_person",
        "patrol logs": "safety_cells_patrollog",
        "cameras": "safety_cells_camera",
    }
    with connection.cursor() as cursor:
        counts = {}
        for label, table in tables.items():
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - constant table names
            counts[label] = cursor.fetchone()[0]
        return counts


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:,.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if not a or b is None else f"{b / a:.2f}"


def report(stages: list[dict], args) -> str:
    small, big = stages[0], stages[-1]
    lines = [
        "# `make scale` report",
        "",
        f"Run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, SCALE={args.scale}, {args.repeat} timed requests "
        f"per page and official (one at a time, through gunicorn with gunicorn.conf.py, DEBUG off), "
        f"{os.cpu_count()} cores shared with other work.",
        "",
        "| volume | " + " | ".join(s["name"] for s in stages) + " |",
        "|---|" + "---|" * len(stages),
    ]
    for label in small["volumes"]:
        lines.append(f"| {label} | " + " | ".join(f"{s['volumes'][label]:,}" for s in stages) + " |")
    lines.append("| generation (s) | " + " | ".join(f"{s['grow_seconds']:.0f}" for s in stages) + " |")
    lines.append("| VACUUM ANALYZE (s) | " + " | ".join(f"{s['analyze_seconds']:.0f}" for s in stages) + " |")
    lines.append(
        "| precomputations (s) | " + " | ".join(f"{sum(s['precompute'].values()):.0f}" for s in stages) + " |"
    )
    lines.append("| load average while timing | " + " | ".join(s["load"] for s in stages) + " |")
    lines += [
        "",
        f"Times in ms. Growth = {big['name']} / {small['name']} (issue #14 asks ≤ 1.5 for everything "
        "bounded by a page or a region, and p95 < 500 ms at five-year volume). A row is met when its "
        "p95 at full volume is under 500 ms and its p50 growth is at most 1.5: the median of the "
        "requests in turns is the cost's growth with the data, while one stall of the shared machine "
        "lands on one volume only and moves a p95 alone (rows whose p95 growth passed 1.5 are listed "
        "under the table all the same).",
        "",
        "| page or API | official | status | size (KB, the two volumes where they differ) "
        f"| p50 {small['name']} | p95 {small['name']} "
        f"| p50 {big['name']} | p95 {big['name']} | growth p50 | growth p95 | met |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    refused, missing, unmet, too_large, stalls = [], {}, [], [], []
    for page in timing.PAGES:
        for user in page.users or timing.USERS:
            a = small["results"].get((page.label, user))
            b = big["results"].get((page.label, user))
            if a is None or b is None:
                continue
            if a.status == b.status == 403:
                refused.append(f"{page.label} ({user})")
                continue
            if a.status == b.status == 400:
                too_large.append(f"{page.label} ({user})")
                continue
            if a.status == b.status == 404:
                missing.setdefault(page.label, None)
                continue
            status = str(b.status) if a.status == b.status else f"{a.status} / {b.status}"
            label = page.label + (f" ({b.note})" if b.note else "")
            met = (
                b.status == 200
                and b.p95 is not None
                and b.p95 < TARGET_P95
                and a.p50
                and b.p50 / a.p50 <= TARGET_GROWTH
            )
            if not met:
                unmet.append(f"{page.label} ({user})")
            elif a.p95 and b.p95 / a.p95 > TARGET_GROWTH:
                stalls.append(
                    f"{page.label} ({user}): p95 {_ms(a.p95)} → {_ms(b.p95)} ms, "
                    f"p50 {_ms(a.p50)} → {_ms(b.p50)} ms"
                )
            size = f"{b.size / 1024:,.0f}"
            if round(a.size / 1024) != round(b.size / 1024):
                size = f"{a.size / 1024:,.0f} / {size}"
            lines.append(
                f"| {label} | {user} | {status} | {size} | {_ms(a.p50)} | {_ms(a.p95)} "
                f"| {_ms(b.p50)} | {_ms(b.p95)} | {_ratio(a.p50, b.p50)} | {_ratio(a.p95, b.p95)} "
                f"| {'yes' if met else '**no**'} |"
            )
    lines += ["", "Dashboard cold / warm at " + big["name"] + " (issue #14 asks ≤ 1.2):", ""]
    cold_label, warm_label = timing.PAGES[0].label, timing.PAGES[1].label
    for user in timing.USERS:
        cold, warm = big["results"].get((cold_label, user)), big["results"].get((warm_label, user))
        if cold and warm and cold.p50 and warm.p50:
            lines.append(
                f"- {user}: cold p50 {_ms(cold.p50)} ms, warm p50 {_ms(warm.p50)} ms, "
                f"ratio {cold.p50 / warm.p50:.2f}"
            )
    if not big["results"]:
        verdict = "Not timed (--skip-timing): `scale/run.py --time-only` times these volumes."
    elif unmet:
        verdict = "Rows that missed p95 < 500 ms or growth ≤ 1.5: " + "; ".join(unmet) + "."
    else:
        verdict = "Every row met p95 < 500 ms and growth ≤ 1.5."
    lines += ["", verdict]
    if stalls:
        lines += ["", "Met, with a p95 growth over 1.5 from a few slow requests: " + "; ".join(stalls) + "."]
    if refused:
        lines += ["", "Not permitted (403 at both volumes, not listed): " + "; ".join(refused) + "."]
    if too_large:
        lines += [
            "",
            "Refused as more than a view may hold (400 at both volumes, the map asks to zoom in; not "
            "listed): " + "; ".join(too_large) + ".",
        ]
    if missing:
        lines += ["", "Not on this branch (404 at both volumes, not listed): " + "; ".join(missing) + "."]
    lines += ["", "Precomputations after each load (s):", ""]
    for stage in stages:
        done = ", ".join(f"{k} {v:.1f}" for k, v in stage["precompute"].items())
        lines.append(f"- {stage['name']}: {done}")
    return "\n".join(lines) + "\n"


def _switch_database(name: str) -> None:
    """Point this process's Django connection at database ``name`` of the same server."""
    from django.db import connection

    connection.close()
    settings.DATABASES["default"]["NAME"] = name
    connection.settings_dict["NAME"] = name


def _clone_database(source: str, target: str) -> float:
    """``CREATE DATABASE target TEMPLATE source``: the checkpoint's database, kept as it is while
    a copy of it grows to full volume, so both volumes can be timed side by side afterwards."""
    import psycopg2
    from django.db import connection
    from psycopg2 import sql

    connection.close()
    params = connection.get_connection_params()
    params["dbname"] = "postgres"
    started = time.perf_counter()
    admin = psycopg2.connect(**params)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(target)))
            cursor.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                    sql.Identifier(target), sql.Identifier(source)
                )
            )
    finally:
        admin.close()
    return time.perf_counter() - started


def _redis_url(index: int) -> str:
    """The project's Redis at database ``index``: each volume's server gets its own cache, so the
    cache of one volume never answers for the other."""
    base = settings.REDIS_URL.rsplit("/", 1)[0]
    return f"{base}/{index}"


def _stage_file(out: Path, database: str) -> Path:
    return out.with_name(f"stage-{database}.json")


def _save_stage(out: Path, stage: dict) -> None:
    import json

    path = _stage_file(out, stage["database"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: v for k, v in stage.items() if k != "results"}, indent=1))


def _load_stage(out: Path, database: str) -> dict:
    import json

    stage = json.loads(_stage_file(out, database).read_text())
    stage["results"] = {}
    return stage


def _build_stage(*, database: str, name: str, scale: float, share: float, say) -> dict:
    say(f"== grow {database} to {name} (SCALE={scale}, {share:.3f} of five years)")
    grown = time.perf_counter()
    growth = growing.grow(scale=scale, share=share)
    grow_seconds = time.perf_counter() - grown
    say(f"   generated in {grow_seconds:.0f} s: {growth.rows}")
    analyze_seconds = growing.analyze()
    say(f"   VACUUM ANALYZE in {analyze_seconds:.0f} s")
    say("== precomputations")
    seconds = precompute(say)
    return {
        "database": database,
        "name": name,
        "volumes": volumes(),
        "grow_seconds": grow_seconds,
        "analyze_seconds": analyze_seconds,
        "precompute": seconds,
        "results": {},
        "load": "—",
    }


def _time_stages(stages: list[dict], *, repeat: int, out: Path, say) -> None:
    """Time every volume, each through its own gunicorn pointed at that volume's database and its
    own Redis database, the volumes' requests taking turns (``timing.measure``)."""
    import contextlib

    import redis
    from django.db import connection

    connection.close()
    _switch_database(stages[0]["database"])  # regions, grids and officials are the same in every copy
    names = ", ".join(stage["name"] for stage in stages)
    say(f"== timing {names} through gunicorn ({repeat} requests per page, in turns)")
    deep: dict[tuple[int, str], tuple[str, str]] = {}
    for index, stage in enumerate(stages):
        _switch_database(stage["database"])
        for username in timing.USERS:
            deep[(index, username)] = timing.deep_page(username)
    _switch_database(stages[0]["database"])
    targets, servers = [], []
    for index, stage in enumerate(stages, start=1):
        database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + stage["database"]
        redis_url = _redis_url(index)
        server = timing.Server(
            out.with_name(f"gunicorn-{stage['database']}.log"),
            env={"DATABASE_URL": database_url, "REDIS_URL": redis_url},
        )
        servers.append(server)
        targets.append((server, redis_url))
    with contextlib.ExitStack() as stack:
        for server in servers:
            stack.enter_context(server)
        for _server, redis_url in targets:
            redis.Redis.from_url(redis_url).flushdb()  # nothing warm from an earlier run
        results = timing.measure(
            [timing.Target(server.base, redis_url) for server, redis_url in targets],
            repeat=repeat,
            deep=deep,
            say=say,
        )
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    for stage, stage_results in zip(stages, results, strict=True):
        stage["results"] = stage_results
        stage["load"] = load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=float(os.environ.get("SCALE", "1")))
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("REPEAT", "20")))
    parser.add_argument("--out", default=os.environ.get("SCALE_REPORT", str(ROOT / ".local/scale/report.md")))
    parser.add_argument("--skip-timing", action="store_true", help="grow only (for developing the loader)")
    parser.add_argument(
        "--time-only",
        action="store_true",
        help="time the two volumes an earlier run left in the same services (DATABASE_URL set), again",
    )
    args = parser.parse_args()
    say = lambda message: print(message, flush=True)  # noqa: E731
    out = Path(args.out)

    started = time.perf_counter()
    base_database = settings.DATABASES["default"]["NAME"]
    full_database = f"{base_database}_full"
    if args.time_only:
        stages = [_load_stage(out, base_database), _load_stage(out, full_database)]
    else:
        say("== migrate and load Anshun with the demo data (as `make run`)")
        call_command("migrate", verbosity=0)
        call_command("load_anshun", demo=True, verbosity=0)
        say(f"   done in {time.perf_counter() - started:.0f} s")
        checkpoint = min(1.0, CHECKPOINT)
        stages = []
        for database, share in ((base_database, checkpoint), (full_database, 1.0)):
            if database == full_database:
                say(f"== copy {base_database} to {full_database} (the checkpoint stays as it is)")
                say(f"   copied in {_clone_database(base_database, full_database):.0f} s")
                _switch_database(full_database)
            name = f"{round(growing.FULL['incidents'] * args.scale * share):,} incidents"
            stage = _build_stage(database=database, name=name, scale=args.scale, share=share, say=say)
            _save_stage(out, stage)
            stages.append(stage)

    if not args.skip_timing:
        # Both volumes are timed together at the end, their requests in turns, so the growth
        # ratio compares two volumes under the same conditions on the machine.
        _time_stages(stages, repeat=args.repeat, out=out, say=say)

    text = report(stages, args)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print()
    print(text)
    say(f"report written to {out} (total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
