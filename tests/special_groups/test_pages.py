"""The pages render for the roles that use them, and refuse the others."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role, SpecialProject
from special_groups.models import AccessRecord, CaseTask
from special_groups.services import plan_tasks
from tests.factories import user_for_role
from tests.special_groups.helpers import enroll, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def overdue_patient():
    patient = enroll(
        SpecialProject.ANNING,
        who=person(name="逾期测试"),
        risk_grade=4,
        last_visit_on=timezone.localdate() - timedelta(days=30),
    )
    plan_tasks()
    return patient


def test_task_list_shows_the_officer_their_overdue_visits_masked(client, overdue_patient):
    client.force_login(user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING))
    body = client.get(reverse("special_groups:tasks")).content.decode()
    assert "逾*" in body and "逾期测试" not in body
    assert 'class="overdue"' in body
    export = client.get(reverse("special_groups:tasks"), {"export": "csv"})
    text = b"".join(export.streaming_content).decode()
    assert "逾*" in text and "逾期测试" not in text
    assert AccessRecord.objects.filter(action="export", row_count=1).exists()
    client.force_login(user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI))
    assert "逾*" not in client.get(reverse("special_groups:tasks")).content.decode()


def test_officials_see_overdue_counts_suppressed_and_charts(client, overdue_patient):
    assert CaseTask.objects.filter(overdue_since__isnull=False).count() == 1
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    response = client.get(reverse("special_groups:dashboard"))
    assert response.status_code == 200
    tiles = {t.key: t for t in response.context["tiles"]}
    assert tiles["special_groups.overdue_tasks"].display == "<5"
    body = response.content.decode()
    assert "vendor/chartjs/chart.umd.min.js" in body and 'data-chart="rates-config"' in body
    # An official cannot open another county's dashboard.
    assert client.get(reverse("special_groups:dashboard"), {"region": "520425"}).status_code == 403


@pytest.mark.parametrize(
    "role, status",
    [(Role.CASE_OFFICER, 200), (Role.CITY_OFFICIAL, 403), (Role.AUDITOR, 403), (Role.GRID_WORKER, 403)],
)
def test_caseload_is_for_case_officers_only(client, role, status):
    client.force_login(user_for_role(role))
    assert client.get(reverse("special_groups:caseload")).status_code == status
    assert client.get(reverse("special_groups:tasks")).status_code == status
