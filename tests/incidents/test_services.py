"""Reporting and the workflow services: grid assignment, idempotency, every transition × role."""

import uuid

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from accounts.roles import ROLE_JURISDICTION, JurisdictionKind, Role
from grids.models import Region
from incidents.models import Incident, IncidentAttachment, IncidentEvent
from incidents.services import workflow
from incidents.services.reporting import report_incident
from tests.factories import user_for_role
from tests.incidents.conftest import OTHER_COUNTY, point_in

pytestmark = pytest.mark.django_db

S = Incident.Status
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def test_the_grid_comes_from_the_point(worker, home_grid, category):
    incident, created = report_incident(
        actor=worker, category=category, description="垃圾", location=point_in(home_grid)
    )
    assert created and incident.grid == home_grid and incident.status == S.REPORTED
    assert list(incident.offices.all()) == [home_grid.office]
    assert [(e.from_status, e.to_status, e.actor) for e in incident.events.all()] == [
        ("", S.REPORTED, worker)
    ]


def test_a_point_outside_anshun_is_a_location_error(worker, category):
    with pytest.raises(ValidationError) as error:
        report_incident(
            actor=worker, category=category, description="x", location=Point(116.39, 39.9, srid=4326)
        )
    assert error.value.error_dict["location"][0].code == "outside_city"
    assert not Incident.objects.exists()


def test_a_point_outside_the_reporters_jurisdiction_is_a_location_error(worker, far_grid, category):
    with pytest.raises(ValidationError) as error:
        report_incident(actor=worker, category=category, description="x", location=point_in(far_grid))
    assert error.value.error_dict["location"][0].code == "outside_jurisdiction"
    assert not Incident.objects.exists()


def test_no_location_needs_a_grid_in_scope(worker, home_grid, far_grid, category):
    with pytest.raises(ValidationError) as error:
        report_incident(actor=worker, category=category, description="x")
    assert "location" in error.value.message_dict
    with pytest.raises(ValidationError):
        report_incident(actor=worker, category=category, description="x", grid=far_grid)
    incident, _ = report_incident(actor=worker, category=category, description="x", grid=home_grid)
    assert incident.location is None and incident.grid == home_grid


def test_a_retry_with_the_same_client_uuid_returns_the_first_incident(make_incident):
    key = uuid.uuid4()
    first = make_incident(client_uuid=key)
    again, created = report_incident(
        actor=first.reporter,
        category=first.category,
        description=first.description,
        location=first.location,
        client_uuid=key,
    )
    assert (again.pk, created) == (first.pk, False)
    assert Incident.objects.count() == 1 and IncidentEvent.objects.count() == 1


def test_roles_without_the_capability_cannot_report(home_grid, category):
    mediator = user_for_role(Role.MEDIATOR)
    with pytest.raises(PermissionDenied):
        report_incident(actor=mediator, category=category, description="x", location=point_in(home_grid))


def test_photos_are_checked_by_their_bytes_and_size(make_incident, settings):
    settings.INCIDENT_ATTACHMENT_MAX_BYTES = 1024
    fake = SimpleUploadedFile("photo.jpg", b"MZ not a photo", content_type="image/jpeg")
    big = SimpleUploadedFile("big.jpg", JPEG + b"\x00" * 2000, content_type="image/jpeg")
    with pytest.raises(ValidationError) as error:
        make_incident(attachments=[fake, big])
    assert len(error.value.message_dict["attachments"]) == 2
    assert not Incident.objects.exists() and not IncidentAttachment.objects.exists()
    incident = make_incident(attachments=[SimpleUploadedFile("ok.jpg", JPEG, content_type="text/plain")])
    attachment = incident.attachments.get()
    assert attachment.content_type == "image/jpeg" and attachment.size == len(JPEG)
    assert attachment.file.storage.exists(attachment.file.name)
    assert attachment.event == incident.events.get()


def _walk(incident, *, dispatcher, worker, verifier, until):
    """Drive an incident along the main path until it reaches status ``until``."""
    steps = [
        (S.REGISTERED, lambda: workflow.register_incident(actor=dispatcher, incident_id=incident.pk)),
        (S.DISPATCHED, lambda: workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)),
        (S.HANDLING, lambda: workflow.take_incident(actor=worker, incident_id=incident.pk)),
        (S.HANDLED, lambda: workflow.report_handled(actor=worker, incident_id=incident.pk, note="已清理")),
        (S.VERIFIED, lambda: workflow.verify_incident(actor=verifier, incident_id=incident.pk)),
        (S.CLOSED, lambda: workflow.close_incident(actor=dispatcher, incident_id=incident.pk)),
    ]
    current = incident
    for status, step in steps:
        if current.status == until:
            break
        current = step()
        assert current.status == status
    return Incident.objects.get(pk=incident.pk)


def test_the_main_path_writes_one_timeline_entry_per_step(make_incident, dispatcher, worker, home_office):
    head = user_for_role(Role.GRID_OFFICE_HEAD, office=home_office)
    incident = _walk(make_incident(), dispatcher=dispatcher, worker=worker, verifier=head, until=S.CLOSED)
    assert incident.version == 7 and incident.closed_at is not None
    assert incident.handling_office == home_office and incident.handler == worker and incident.due_at
    trail = list(incident.events.values_list("from_status", "to_status", "actor"))
    assert trail == [
        ("", S.REPORTED, worker.pk),
        (S.REPORTED, S.REGISTERED, dispatcher.pk),
        (S.REGISTERED, S.DISPATCHED, dispatcher.pk),
        (S.DISPATCHED, S.HANDLING, worker.pk),
        (S.HANDLING, S.HANDLED, worker.pk),
        (S.HANDLED, S.VERIFIED, head.pk),
        (S.VERIFIED, S.CLOSED, dispatcher.pk),
    ]


def test_the_handler_cannot_verify_their_own_work(make_incident, dispatcher, home_office):
    head = user_for_role(Role.GRID_OFFICE_HEAD, office=home_office)
    incident = _walk(make_incident(), dispatcher=dispatcher, worker=head, verifier=None, until=S.HANDLED)
    with pytest.raises(PermissionDenied):
        workflow.verify_incident(actor=head, incident_id=incident.pk)
    assert Incident.objects.get(pk=incident.pk).status == S.HANDLED


def test_a_wrong_unit_returns_it_with_a_reason_and_it_is_dispatched_again(
    make_incident, dispatcher, worker, home_office, other_office
):
    incident = make_incident()
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk, handling_office=other_office)
    # The reporting office is not the handling unit now.
    with pytest.raises(PermissionDenied):
        workflow.take_incident(actor=worker, incident_id=incident.pk)
    other_worker = user_for_role(Role.GRID_WORKER, office=other_office)
    with pytest.raises(ValidationError) as error:
        workflow.return_incident(actor=other_worker, incident_id=incident.pk, note=" ")
    assert "note" in error.value.message_dict
    returned = workflow.return_incident(actor=other_worker, incident_id=incident.pk, note="不属于本网格")
    assert returned.status == S.RETURNED
    again = workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk, handling_office=home_office)
    assert again.handling_office == home_office
    assert workflow.take_incident(actor=worker, incident_id=incident.pk).status == S.HANDLING
    assert incident.events.get(to_status=S.RETURNED).note == "不属于本网格"


def test_failed_verification_reopens_it_for_the_handling_unit(make_incident, dispatcher, worker):
    incident = _walk(make_incident(), dispatcher=dispatcher, worker=worker, verifier=None, until=S.HANDLED)
    reopened = workflow.reopen_incident(actor=dispatcher, incident_id=incident.pk, note="垃圾仍在")
    assert reopened.status == S.HANDLING and reopened.handler == worker
    assert workflow.report_handled(actor=worker, incident_id=incident.pk).status == S.HANDLED


def test_an_invalid_transition_changes_nothing(make_incident, dispatcher):
    incident = make_incident()
    with pytest.raises(ValidationError) as error:
        workflow.close_incident(actor=dispatcher, incident_id=incident.pk)
    assert error.value.error_dict["status"][0].code == "invalid_transition"
    fresh = Incident.objects.get(pk=incident.pk)
    assert (fresh.status, fresh.version, fresh.events.count()) == (S.REPORTED, 1, 1)


def test_a_stale_version_is_refused(make_incident, dispatcher):
    incident = make_incident()
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk, expected_version=1)
    with pytest.raises(workflow.StaleVersion):
        workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk, expected_version=1)
    assert Incident.objects.get(pk=incident.pk).status == S.REGISTERED


def test_out_of_scope_incidents_are_not_found(make_incident):
    incident = make_incident()
    elsewhere = user_for_role(Role.DISPATCHER, region=Region.objects.get(code=OTHER_COUNTY))
    with pytest.raises(Http404):
        workflow.register_incident(actor=elsewhere, incident_id=incident.pk)


# --- every transition × every role -------------------------------------------------------

SOURCE_STATUS = {
    "register": S.REPORTED,
    "dispatch": S.REGISTERED,
    "take": S.DISPATCHED,
    "report_handled": S.HANDLING,
    "return": S.DISPATCHED,
    "verify": S.HANDLED,
    "reopen": S.HANDLED,
    "close": S.VERIFIED,
}

# Stated independently of the services: who may move an incident of their own jurisdiction.
MAY = {
    "register": {Role.DISPATCHER, Role.ADMIN},
    "dispatch": {Role.DISPATCHER, Role.ADMIN},
    "take": {Role.GRID_WORKER, Role.GRID_OFFICE_HEAD, Role.ADMIN},
    "report_handled": {Role.GRID_WORKER, Role.GRID_OFFICE_HEAD, Role.ADMIN},
    "return": {Role.GRID_WORKER, Role.GRID_OFFICE_HEAD, Role.ADMIN},
    "verify": {Role.DISPATCHER, Role.GRID_OFFICE_HEAD, Role.ADMIN},
    "reopen": {Role.DISPATCHER, Role.GRID_OFFICE_HEAD, Role.ADMIN},
    "close": {Role.DISPATCHER, Role.ADMIN},
}


def _actor_for(role, home_office):
    kind, _ = ROLE_JURISDICTION[role]
    if kind == JurisdictionKind.GRID_OFFICE:
        return user_for_role(role, office=home_office)
    return user_for_role(role)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", list(SOURCE_STATUS))
def test_transition_by_role(name, role, make_incident, dispatcher, home_office):
    handler = user_for_role(Role.GRID_WORKER, office=home_office)
    incident = make_incident()
    incident = _walk(
        incident, dispatcher=dispatcher, worker=handler, verifier=dispatcher, until=SOURCE_STATUS[name]
    )
    actor = _actor_for(role, home_office)
    before = (incident.status, incident.version, incident.events.count())
    if role in MAY[name]:
        after = workflow.SERVICES[name](actor=actor, incident_id=incident.pk, note="原因")
        assert after.version == incident.version + 1
        assert incident.events.last().actor == actor
    else:
        with pytest.raises((PermissionDenied, Http404)):
            workflow.SERVICES[name](actor=actor, incident_id=incident.pk, note="原因")
        fresh = Incident.objects.get(pk=incident.pk)
        assert (fresh.status, fresh.version, fresh.events.count()) == before
