"""The indexes the lists, exports and beat jobs rely on, shown used in the plans PostgreSQL picks
for the platform's own queries over the bench volume (EXPLAIN ANALYZE, real statistics, no
planner settings changed). Prints plans, no ratios; a plan missing its index is flagged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone

from bench.volume import ensure_incidents, ensure_mediation_cases, ensure_patrol_logs, volume_scale


def _queries():
    from incidents.filters import IncidentFilter
    from incidents.models import Incident
    from mediation.models import MediationCase
    from safety_cells.models import PatrolLog

    busiest_grid = Incident.objects.values_list("grid_id", flat=True).order_by("grid_id").first()
    unit = PatrolLog.objects.values_list("unit_id", flat=True).order_by("unit_id").first() or 0
    today = timezone.localdate()
    month = IncidentFilter(
        {"reported_from": (today - timedelta(days=30)).isoformat(), "reported_to": today.isoformat()},
        queryset=Incident.objects.filter(deleted_at__isnull=True),
    ).qs
    now = timezone.now()
    return (
        (
            "incidents_grid_reported",
            "a grid's newest incidents",
            Incident.objects.filter(grid_id=busiest_grid).order_by("-reported_at")[:20],
        ),
        (
            "incidents_live_reported",
            "the list's first page (not deleted, newest first)",
            Incident.objects.filter(deleted_at__isnull=True).order_by("-reported_at", "-id")[:50],
        ),
        (
            "reported_at",
            "the last 30 days by the list's date filter",
            month.order_by("-reported_at", "-id")[:50],
        ),
        (
            "incidents_escalation_queue",
            "the escalation pass's queue",
            Incident.objects.filter(next_escalation_at__lte=now, due_at__lt=now)
            .order_by("next_escalation_at")
            .values_list("pk", flat=True),
        ),
        (
            "mediation_case_intake",
            "the mediation case list's first page",
            MediationCase.objects.order_by("-intake_date", "-id")[:50],
        ),
        (
            "mediation_deadline_queue",
            "the deadline pass's queue",
            MediationCase.objects.filter(next_deadline_at__lte=today)
            .order_by("next_deadline_at", "pk")
            .values_list("pk", flat=True),
        ),
        (
            "patrol_unit_ended",
            "a unit's latest patrols",
            PatrolLog.objects.filter(unit_id=unit).order_by("-ended_at")[:20],
        ),
    )


def run() -> Iterator[str]:
    from incidents.models import Incident

    _scale, (small, _large) = volume_scale()
    ensure_incidents(small)
    ensure_mediation_cases(small // 20)
    from safety_cells.demo import load_demo

    load_demo()  # prevention units
    ensure_patrol_logs(small // 10)
    yield (
        f"    plans over {Incident.objects.count():,} incidents, "
        f"{_count('mediation_mediationcase'):,} mediation cases, {_count('safety_cells_patrollog'):,} patrols"
    )
    for index, what, queryset in _queries():
        plan = queryset.explain(analyze=True, timing=False)
        verdict = "uses" if index in plan else "DOES NOT USE"
        yield f"    plan, {what}: {verdict} {index}\n" + "\n".join(
            "      " + line for line in plan.splitlines()
        )


def _count(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - a module constant
        return cursor.fetchone()[0]
