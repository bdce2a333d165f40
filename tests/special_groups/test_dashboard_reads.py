"""The six-projects dashboard shows all records and one year, each with the same period-free
figures (facilities, places, overdue tasks) and the year's months for the charts and the year's
tiles: one page reads each of them once, and a year's months come summed by the database (their
equality with the raw count is tests/test_rollups_special_groups.py's)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role, SpecialProject
from special_groups.services import plan_tasks
from tests.factories import user_for_role
from tests.special_groups.helpers import enroll, person

pytestmark = pytest.mark.django_db


def statements(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("special_groups:dashboard"))
    assert response.status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def test_each_period_free_read_runs_once_per_page(client):
    enroll(SpecialProject.ANNING, who=person(name="看板"), risk_grade=4,
           last_visit_on=timezone.localdate() - timedelta(days=30))  # fmt: skip
    plan_tasks()
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    statements(client)  # the first view folds the rollup changes the enrolment queued
    sql = statements(client)
    facilities = [s for s in sql if 'FROM "special_groups_servicefacility"' in s]
    overdue = [s for s in sql if "'sg.overdue_task'" in s]
    months = [s for s in sql if 'FROM "rollups_tally"' in s and "GROUP BY" in s and "'sg.visit'" in s]
    assert (len(facilities), len(overdue), len(months)) == (1, 1, 1), sql
    # The cost does not grow with the records behind the figures.
    for n in range(6):
        enroll(SpecialProject.ANNING, who=person(name=f"看板{n}"), risk_grade=3)
    statements(client)
    assert len(statements(client)) == len(sql)
