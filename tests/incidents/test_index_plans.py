"""The indexes the lists, exports and beat jobs rely on, each shown usable in a plan, and the
filters written so that they can use them (no whole-row DISTINCT, no cast of reported_at)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.utils import timezone

from incidents.filters import IncidentFilter
from incidents.models import Incident
from mediation.models import MediationCase
from safety_cells.models import PatrolLog

pytestmark = pytest.mark.django_db
LOCAL = ZoneInfo("Asia/Shanghai")


def plan(queryset, *, without: str = "") -> str:
    """The plan with sequential scans priced out: an index that can serve the query is chosen
    whatever the table's size, one that cannot is not. ``without`` names a column whose plain
    index is dropped for the plan (inside a savepoint that is rolled back): on a table of a few
    rows the planner prices a scan of that index plus a filter the same as the index under test,
    and which one wins would depend on statistics earlier tests left behind."""
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute("SET LOCAL enable_sort = off")
                if without:
                    cursor.execute(
                        "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
                        [queryset.model._meta.db_table, f"%btree ({without})"],
                    )
                    for (name,) in cursor.fetchall():
                        cursor.execute(f'DROP INDEX "{name}"')
                text = queryset.explain()
                raise _Rollback(text)
        except _Rollback as done:
            return done.text


class _Rollback(Exception):
    def __init__(self, text: str):
        self.text = text


@pytest.mark.parametrize(
    ("index", "query"),
    [
        (
            "incidents_escalation_queue",
            lambda: Incident.objects.filter(next_escalation_at__lte=timezone.now())
            .order_by("next_escalation_at")
            .values_list("pk", flat=True),
        ),
        (
            "incidents_grid_reported",
            lambda: (Incident.objects.filter(grid_id=1).order_by("-reported_at")[:20], "reported_at"),
        ),
        (
            "incidents_live_reported",
            lambda: Incident.objects.filter(deleted_at__isnull=True).order_by("-reported_at", "-id")[:20],
        ),
        (
            "mediation_deadline_queue",
            lambda: MediationCase.objects.filter(next_deadline_at__lte=date(2026, 5, 1))
            .order_by("next_deadline_at")
            .values_list("pk", flat=True),
        ),
        ("mediation_case_intake", lambda: MediationCase.objects.order_by("-intake_date", "-id")[:20]),
        (
            "patrol_unit_ended",
            lambda: (PatrolLog.objects.filter(unit_id=1).order_by("-ended_at")[:20], "ended_at"),
        ),
    ],
)
def test_each_new_index_serves_its_query(index, query):
    built = query()
    queryset, without = built if isinstance(built, tuple) else (built, "")
    assert index in plan(queryset, without=without)


def test_a_date_range_is_a_timestamp_range_on_the_reported_at_index():
    queryset = IncidentFilter(
        {"reported_from": "2026-01-01", "reported_to": "2026-01-31"}, queryset=Incident.objects.all()
    ).qs
    sql = str(queryset.query)
    assert "::date" not in sql and "AT TIME ZONE" not in sql
    text = plan(queryset)
    assert "Index" in text and "reported_at" in text and "Seq Scan" not in text


def test_multi_value_filters_are_one_in_list_without_distinct():
    queryset = IncidentFilter(
        {"status": ["reported", "dispatched"], "priority": ["urgent", "normal"]},
        queryset=Incident.objects.all(),
    ).qs
    sql = str(queryset.query).upper()
    assert "DISTINCT" not in sql
    assert '"STATUS" IN' in sql and '"PRIORITY" IN' in sql


def test_the_date_bounds_are_the_local_day_in_anshun(make_incident):
    def at(local: datetime) -> Incident:
        incident = make_incident()
        Incident.objects.filter(pk=incident.pk).update(reported_at=local)
        return incident

    before = at(datetime(2026, 1, 31, 23, 59, tzinfo=LOCAL))  # 15:59 UTC on the 31st
    first = at(datetime(2026, 2, 1, 0, 0, tzinfo=LOCAL))  # 16:00 UTC on the 31st: already February in Anshun
    last = at(datetime(2026, 2, 28, 23, 59, 59, tzinfo=LOCAL))
    after = at(datetime(2026, 3, 1, 0, 0, tzinfo=LOCAL))

    def listed(**params):
        return set(IncidentFilter(params, queryset=Incident.objects.all()).qs.values_list("pk", flat=True))

    february = listed(reported_from="2026-02-01", reported_to="2026-02-28")
    assert february == {first.pk, last.pk}
    assert listed(reported_to="2026-01-31") == {before.pk}
    assert listed(reported_from="2026-03-01") == {after.pk}
    assert not listed(reported_from="2026-02-02", reported_to="2026-02-01")


def test_the_escalation_queue_follows_every_writer(make_incident, dispatcher):
    from incidents.services import workflow

    incident = make_incident()
    assert Incident.objects.get(pk=incident.pk).next_escalation_at is None  # not dispatched
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    incident.refresh_from_db()
    assert incident.next_escalation_at == incident.due_at
    moved = incident.due_at - timedelta(days=3)
    Incident.objects.filter(pk=incident.pk).update(due_at=moved)  # a writer past the services
    assert Incident.objects.get(pk=incident.pk).next_escalation_at == moved
    Incident.objects.filter(pk=incident.pk).update(deleted_at=timezone.now())
    assert Incident.objects.get(pk=incident.pk).next_escalation_at is None
