"""The deadline beat job, run by a real Celery worker through the real broker."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.roles import Role
from grids.models import Region
from mediation import seed, services
from mediation.models import DeadlineNotice, MediationCommittee
from mediation.tasks import check_deadlines
from tests.factories import user_for_role

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_the_worker_warns_the_mediator_once(celery_worker_process):
    assert settings.CELERY_BEAT_SCHEDULE["mediation-deadlines"]["task"] == check_deadlines.name
    seed.ensure_professional_committees()
    committee = MediationCommittee.objects.get(dispute_type="劳动争议")
    mediator = user_for_role(Role.MEDIATOR, region=Region.objects.get(code="520402"))
    services.membership_add(
        actor=user_for_role(Role.ADMIN), committee=committee, user=mediator, speciality="劳动争议"
    )
    case = services.case_open(
        actor=mediator,
        committee=committee,
        region=Region.objects.get(code="520402005"),
        dispute_type="劳动争议",
        summary="拖欠工资",
        intake_date=timezone.localdate() - timedelta(days=27),  # due in 3 days
        parties=[services.PartyInput(name="王某")],
        mediator=mediator,
    )
    first = check_deadlines.delay()
    assert first.get(timeout=60) == {"warned": 1, "missed": 0}
    assert _wait_for(lambda: DeadlineNotice.objects.filter(case=case).exists())
    second = check_deadlines.delay()
    assert second.get(timeout=60) == {"warned": 0, "missed": 0}
    notice = DeadlineNotice.objects.get(case=case)
    assert (notice.recipient, notice.stage, notice.deadline) == (mediator, "warning", "mediation")
