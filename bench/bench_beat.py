"""One pass of each beat job at two volumes with the same new work due: the pass must cost what
the new work costs, not what the history holds (target: the large volume's pass within 2× of the
small one's).

Volumes (``BENCH_SCALE``, see bench/volume.py): 100,000 and 300,000 incidents by default,
100,000 and 3,000,000 with ``BENCH_SCALE=full`` (the growth then without timelines, see
``_grow``); five years of traffic, mediation cases at one per 20 incidents, the six projects'
task history at one per 10. The new work is 1% of each job's
table at the small volume, the same count at both:

- escalation (``escalate_overdue``): 1,000 dispatched incidents that fell due in the last five
  minutes, each escalated to its township (timeline entry, a notification to the township's dispatcher
  and official);
- mediation deadlines (``deadlines_check``): 1% of the cases reach their first warning today;
- six projects' planning (``plan_tasks``): 1% as many patients as there are 安宁 enrolments,
  enrolled today, each needing its first visit planned.

Each pass is checked to have done exactly the new work. Before the timings, one untimed pass of
each job takes what the generated history left due (the steady state of a running system).

The two volumes live in two databases (the small one copied as a template before the data grows),
and their passes are timed in turns, so that the load of a shared machine falls on both alike. The
queues' plans are printed at the large volume.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Iterator

from django.db import connection
from django.utils import timezone

from bench.harness import Comparison, timed
from bench.volume import (
    add_due_incidents,
    add_due_mediation_cases,
    add_new_patients,
    ensure_case_task_history,
    ensure_incidents,
    ensure_mediation_cases,
    volume_scale,
)


# Passes per volume: three with BENCH_SCALE=full, two by default (the escalation pass of 1,000
# incidents takes 15-120 s, depending on what else the machine is doing).
def _repeat() -> int:
    return 3 if volume_scale()[0] == "full" else 2


def _prepare_apps() -> None:
    from mediation.demo import load_demo
    from special_groups.demo import load_demo_special_groups

    load_demo()  # committees, mediators
    load_demo_special_groups()  # people, enrolments, officers
    _township_staff()


def _township_staff() -> None:
    """A dispatcher and an official in every township: whom an escalation to the township tells."""
    import uuid

    from accounts.models import User
    from accounts.roles import Role
    from accounts.services import user_create
    from grids.models import Region

    for township in Region.objects.filter(level=Region.Level.TOWNSHIP).order_by("code"):
        for role in (Role.DISPATCHER, Role.TOWNSHIP_OFFICIAL):
            username = f"bench-{role}-{township.code}"
            if not User.objects.filter(username=username).exists():
                user_create(username=username, password=uuid.uuid4().hex, role=role, region=township)


def _grow(incidents: int) -> None:
    # With BENCH_SCALE=full the incidents come without timelines (the jobs never read the history of
    # other incidents; writing 12M timeline rows would more than double the generation time).
    ensure_incidents(incidents, timeline=volume_scale()[0] != "full")
    ensure_mediation_cases(incidents // 20)
    ensure_case_task_history(incidents // 10)


def _count(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


# Incidents escalated beyond the new work, per database (see ``_jobs``).
EXTRA: dict[str, int] = {}


def _jobs(new_cases: int, new_patients: int) -> list[tuple[str, Callable, Callable, Callable]]:
    from incidents.services.escalation import escalate_overdue
    from mediation.services import deadlines_check
    from special_groups.services import plan_tasks

    def escalation():
        # At least the 1,000: generated open incidents whose due time passes while the bench runs
        # fall due too (at 3M, a few a minute), as they would in a live system.
        escalated = escalate_overdue()
        assert escalated >= 1000, escalated
        EXTRA[connection.settings_dict["NAME"]] = (
            EXTRA.get(connection.settings_dict["NAME"], 0) + escalated - 1000
        )

    def deadlines():
        run = deadlines_check()
        assert run.warned == new_cases, run

    def planning():
        result = plan_tasks()
        assert result.visit_tasks == new_patients, result

    return [
        ("escalate_overdue", lambda: add_due_incidents(1000), escalation, lambda: "1,000 incidents fell due"),
        (
            "deadlines_check",
            lambda: add_due_mediation_cases(new_cases),
            deadlines,
            lambda: f"{new_cases:,} cases reach their warning",
        ),
        (
            "plan_tasks",
            lambda: add_new_patients(new_patients),
            planning,
            lambda: f"{new_patients:,} new patients need a visit",
        ),
    ]


def _drain() -> None:
    """What the generated history left due, taken by one untimed pass of each job."""
    from incidents.services.escalation import escalate_overdue
    from mediation.services import deadlines_check
    from special_groups.services import plan_tasks

    escalate_overdue()
    deadlines_check()
    plan_tasks()


def _use_database(name: str) -> None:
    connection.close()
    connection.settings_dict["NAME"] = name
    connection.ensure_connection()


def _copy_database(source: str, copy: str) -> None:
    """``copy`` becomes a copy of ``source`` (whose connections are closed first)."""
    _use_database("postgres")
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        cursor.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
    _use_database(source)


def _drop_database(name: str, back_to: str) -> None:
    _use_database("postgres")
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    _use_database(back_to)


def _interleaved(jobs, databases: tuple[str, str]) -> dict[str, tuple[float, float]]:
    """Median pass time of each job in each database, the databases taken in turns."""
    times = {}
    for name, add_work, one_pass, _what in jobs:
        samples: dict[str, list[float]] = {db: [] for db in databases}
        for repeat in range(_repeat()):
            for db in databases if repeat % 2 == 0 else databases[::-1]:
                _use_database(db)
                add_work()
                samples[db].append(timed(one_pass))
        times[name] = tuple(statistics.median(samples[db]) for db in databases)
    return times


def _plans() -> Iterator[str]:
    from incidents.models import Incident
    from mediation.models import MediationCase

    now = timezone.now()
    for label, queryset in (
        (
            "escalation queue (incidents_escalation_queue)",
            Incident.objects.filter(next_escalation_at__lte=now, due_at__lt=now)
            .order_by("next_escalation_at")
            .values_list("pk", flat=True),
        ),
        (
            "deadline queue (mediation_deadline_queue)",
            MediationCase.objects.filter(next_deadline_at__lte=timezone.localdate())
            .order_by("next_deadline_at", "pk")
            .values_list("pk", flat=True),
        ),
    ):
        yield f"    plan, {label}:\n" + "\n".join(
            "      " + line for line in queryset.explain(analyze=True, timing=False).splitlines()
        )


def run() -> Iterator[Comparison | str]:
    scale, (small, large) = volume_scale()
    _prepare_apps()
    main_db = connection.settings_dict["NAME"]
    # BENCH_BEAT_SMALL_DB: a database already holding the small volume (made by an earlier run of
    # this bench's first half) is used as it is, and kept; otherwise a copy is made and dropped.
    small_db = os.environ.get("BENCH_BEAT_SMALL_DB") or f"{main_db}_beat_small"
    copied = not os.environ.get("BENCH_BEAT_SMALL_DB")
    if copied:
        _grow(small)
        _drain()
        _copy_database(main_db, small_db)
    try:
        _use_database(small_db)  # the new work is 1% of the small volume's tables
        cases = _count("SELECT count(*) FROM mediation_mediationcase")
        patients = _count("SELECT count(*) FROM special_groups_enrollment WHERE project = 'anning'")
        jobs = _jobs(max(1, cases // 100), max(1, patients // 100))
        _use_database(main_db)
        _grow(large)
        _drain()
        times = _interleaved(jobs, (main_db, small_db))
    finally:
        if copied:
            _drop_database(small_db, back_to=main_db)
        _use_database(main_db)
    incidents = _count("SELECT count(*) FROM incidents_incident")
    yield (
        f"    BENCH_SCALE={scale}: small {small:,} incidents; large {incidents:,} incidents, "
        f"{_count('SELECT count(*) FROM mediation_mediationcase'):,} mediation cases, "
        f"{_count('SELECT count(*) FROM special_groups_casetask'):,} six-project tasks"
    )
    if EXTRA:
        yield f"    escalated beyond the new work (fell due meanwhile), all passes: {EXTRA}"
    for name, _add, _pass, what in jobs:
        yield Comparison(
            f"beat {name}, one pass at {large:,} vs {small:,} incidents",
            *times[name],
            target=2.0,
            sides=(
                f"both: {what()} since the last pass, one pass (median of {_repeat()}); "
                f"platform = the large volume, baseline = the small one"
            ),
        )
    yield from _plans()
