"""The hourly plan reads only open work: each of its reads is served by a partial index that
holds what is still open, so a pass does not grow with years of done tasks (issue #19)."""

import pytest
from django.db import connection, transaction
from django.utils import timezone

from special_groups.models import CaseTask

pytestmark = pytest.mark.django_db


def plan(queryset) -> str:
    """The plan with sequential scans priced out: an index that can serve the query is chosen
    whatever the table's size, one that cannot is not."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        return queryset.explain()


def test_open_visits_come_from_their_partial_index():
    query = CaseTask.objects.filter(kind=CaseTask.Kind.VISIT, done_on__isnull=True).values("enrollment_id")
    assert "casetask_open_visit" in plan(query)


def test_tasks_to_flag_come_from_their_partial_index():
    query = CaseTask.objects.filter(
        done_on__isnull=True, due_on__lt=timezone.localdate(), overdue_since__isnull=True
    ).values("pk")
    assert "casetask_open_unflagged" in plan(query)


def test_done_tasks_are_outside_both_indexes():
    """A control: a query for done tasks cannot use either partial index, so the two tests above
    would fail if the plan named them for any query."""
    query = CaseTask.objects.filter(done_on__isnull=False).values("pk")
    text = plan(query)
    assert "casetask_open_visit" not in text and "casetask_open_unflagged" not in text
