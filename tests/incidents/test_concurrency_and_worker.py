"""Two people acting at once, and the escalation job run by a real Celery worker."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from accounts.roles import Role
from grids.models import GridOffice
from incidents.models import Incident, IncidentCategory, IncidentEvent, Notification
from incidents.services import editing, workflow
from incidents.services.reporting import report_incident
from tests.factories import user_for_role
from tests.incidents.conftest import HOME_OFFICE_PREFIX, point_in

pytestmark = pytest.mark.django_db(transaction=True)


def _dispatched_incident():
    office = GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX).order_by("code").first()
    worker = user_for_role(Role.GRID_WORKER, office=office)
    dispatcher = user_for_role(Role.DISPATCHER)
    incident, _ = report_incident(
        actor=worker,
        category=IncidentCategory.objects.get(code="exposed-rubbish"),
        description="并发",
        location=point_in(office.grids.order_by("code").first()),
    )
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    return incident, office, dispatcher


def _race(*calls):
    """Run the calls at the same moment, each on its own database connection."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_workers_taking_the_same_incident_cannot_both_win(incident_tree):
    incident, office, _ = _dispatched_incident()
    first, second = (user_for_role(Role.GRID_WORKER, office=office) for _ in range(2))
    outcomes = _race(
        lambda: workflow.take_incident(actor=first, incident_id=incident.pk),
        lambda: workflow.take_incident(actor=second, incident_id=incident.pk),
    )
    winners = [o for o in outcomes if isinstance(o, Incident)]
    losers = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    fresh = Incident.objects.get(pk=incident.pk)
    assert fresh.handler_id == winners[0].handler_id and fresh.version == 4
    assert IncidentEvent.objects.filter(incident=incident, to_status="handling").count() == 1


def test_two_updates_from_the_same_version_cannot_both_win(incident_tree):
    incident, _, dispatcher = _dispatched_incident()
    version = Incident.objects.get(pk=incident.pk).version
    outcomes = _race(
        lambda: editing.update_incident(
            actor=dispatcher, incident_id=incident.pk, expected_version=version, description="甲"
        ),
        lambda: editing.update_incident(
            actor=dispatcher, incident_id=incident.pk, expected_version=version, description="乙"
        ),
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["Incident", "StaleVersion"], outcomes
    fresh = Incident.objects.get(pk=incident.pk)
    assert fresh.version == version + 1 and fresh.description in ("甲", "乙")


@pytest.mark.worker
def test_the_worker_escalates_once_however_often_the_job_runs(incident_tree, celery_worker_process):
    from incidents.tasks import escalate_overdue_incidents

    incident, _, dispatcher = _dispatched_incident()
    Incident.objects.filter(pk=incident.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    results = [escalate_overdue_incidents.delay() for _ in range(3)]
    assert sorted(r.get(timeout=60) for r in results) == [0, 0, 1]
    fresh = Incident.objects.get(pk=incident.pk)
    assert fresh.escalation_level == Incident.EscalationLevel.TOWNSHIP
    assert IncidentEvent.objects.filter(incident=incident, escalation_level__isnull=False).count() == 1
    assert Notification.objects.filter(recipient=dispatcher, incident=incident).count() == 1
