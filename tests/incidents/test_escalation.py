"""Overdue incidents climb one level per overrun limit, notify the people there, and never twice."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from accounts.roles import Role
from grids.models import Region
from incidents.models import Incident, IncidentEvent, Notification
from incidents.selectors import incident_metrics
from incidents.services import workflow
from incidents.services.escalation import escalate_overdue
from incidents.services.worktime import add_working_hours
from tests.factories import user_for_role

# A dispatch sets the deadline in working hours from now (weekday, time of day, lunch break):
# every test here runs at ``FIXED_NOW`` (tests/conftest.py), not at whatever hour the suite runs.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def dispatched(make_incident, dispatcher):
    incident = make_incident()
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    return workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)


@pytest.fixture
def chain(dispatched, dispatcher):
    """A dispatcher and an official at each level above the incident's village."""
    village = dispatched.grid.village
    township, county = village.parent, village.parent.parent
    assert dispatcher.region == township  # the dispatcher who dispatched it works at the township
    return {
        1: [dispatcher, user_for_role(Role.TOWNSHIP_OFFICIAL, region=township)],
        2: [
            user_for_role(Role.DISPATCHER, region=county),
            user_for_role(Role.COUNTY_OFFICIAL, region=county),
        ],
        3: [user_for_role(Role.DISPATCHER, region=county.parent), user_for_role(Role.CITY_OFFICIAL)],
    }


def test_nothing_happens_before_the_deadline(dispatched):
    assert escalate_overdue(now=dispatched.due_at - timedelta(minutes=1)) == 0
    assert Incident.objects.get(pk=dispatched.pk).escalation_level == 0


def test_one_level_per_overrun_limit_and_each_level_once(dispatched, chain):
    limit = dispatched.category.handling_limit_hours
    just_late = dispatched.due_at + timedelta(minutes=1)
    assert escalate_overdue(now=just_late) == 1
    assert escalate_overdue(now=just_late) == 0  # the same step is never taken twice
    incident = Incident.objects.get(pk=dispatched.pk)
    assert (incident.escalation_level, incident.version) == (1, 4)
    overdue = Notification.objects.filter(incident=incident, kind="overdue")
    told = set(overdue.values_list("recipient", flat=True))
    assert told == {u.pk for u in chain[1]}
    # After another full limit it goes to the county, then the city; never past the city.
    second = add_working_hours(dispatched.due_at, limit) + timedelta(minutes=1)
    assert escalate_overdue(now=second) == 1
    much_later = dispatched.due_at + timedelta(days=60)
    assert escalate_overdue(now=much_later) == 1
    assert escalate_overdue(now=much_later) == 0
    levels = list(
        IncidentEvent.objects.filter(incident=incident, escalation_level__isnull=False).values_list(
            "escalation_level", flat=True
        )
    )
    assert levels == [1, 2, 3]
    for level, users in chain.items():
        for user in users:
            assert overdue.filter(recipient=user).count() == 1, (level, user)


def test_the_database_refuses_a_second_step_to_the_same_level(dispatched):
    escalate_overdue(now=dispatched.due_at + timedelta(minutes=1))
    with pytest.raises(IntegrityError):
        IncidentEvent.objects.create(
            incident=dispatched, from_status="dispatched", to_status="dispatched", escalation_level=1
        )


def test_handled_incidents_do_not_escalate(dispatched, worker):
    workflow.take_incident(actor=worker, incident_id=dispatched.pk)
    workflow.report_handled(actor=worker, incident_id=dispatched.pk)
    assert escalate_overdue(now=dispatched.due_at + timedelta(days=3)) == 0


def test_metrics_follow_the_domain_definitions(make_incident, dispatcher, worker, home_office):
    head = user_for_role(Role.GRID_OFFICE_HEAD, office=home_office)
    now = timezone.now()

    def closed(*, late: bool):
        incident = make_incident()
        for step in ("register", "dispatch"):
            workflow.SERVICES[step](actor=dispatcher, incident_id=incident.pk)
        workflow.take_incident(actor=worker, incident_id=incident.pk)
        workflow.report_handled(actor=worker, incident_id=incident.pk)
        workflow.verify_incident(actor=head, incident_id=incident.pk)
        workflow.close_incident(actor=dispatcher, incident_id=incident.pk)
        # Place the deadline before or after the closure, as the record would show.
        offset = timedelta(hours=-1) if late else timedelta(hours=1)
        Incident.objects.filter(pk=incident.pk).update(
            due_at=now + offset - timedelta(days=1), closed_at=now - timedelta(days=1)
        )

    for _ in range(3):
        closed(late=False)
    closed(late=True)
    overdue = make_incident()
    workflow.register_incident(actor=dispatcher, incident_id=overdue.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=overdue.pk)
    Incident.objects.filter(pk=overdue.pk).update(due_at=now - timedelta(hours=2))
    make_incident()  # reported, no deadline yet: open, not due
    figures = incident_metrics(actor=dispatcher, region=Region.objects.get(code="520402"), now=now)
    assert figures["open"] == 2 and figures["overdue"] == 1
    assert (figures["due"], figures["closed"], figures["closed_on_time"]) == (5, 4, 3)
    assert figures["closure_rate"] == round(100 * 4 / 5, 2) and figures["on_time_rate"] == round(
        100 * 3 / 5, 2
    )
    # Outside the actor's scope nothing is counted.
    elsewhere = user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code="520425"))
    assert incident_metrics(actor=elsewhere)["due"] == 0


def test_notifications_show_in_the_app_and_are_marked_read(client, dispatched, dispatcher):
    escalate_overdue(now=dispatched.due_at + timedelta(minutes=1))
    client.force_login(dispatcher)
    page = client.get("/incidents/notifications/")
    assert page.status_code == 200 and f"#{dispatched.pk}" in page.content.decode()
    # Reading the page (or a browser prefetching it) leaves them unread; the button marks them.
    assert Notification.objects.filter(recipient=dispatcher, read_at__isnull=True).exists()
    assert 'data-action="mark-read"' in page.content.decode()
    client.post("/incidents/notifications/")
    assert not Notification.objects.filter(recipient=dispatcher, read_at__isnull=True).exists()
    assert 'data-action="mark-read"' not in client.get("/incidents/notifications/").content.decode()
    other = user_for_role(Role.CITY_OFFICIAL)
    client.force_login(other)
    assert f"#{dispatched.pk}" not in client.get("/incidents/notifications/").content.decode()
