"""Every write path to an audited model leaves a history row naming who made the change:
services (also outside any request), pages (session), the API (token) and the bulk sync."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.history import attribute
from incidents.models import Incident
from incidents.services import workflow
from incidents.services.editing import delete_incident, update_incident
from incidents.services.escalation import escalate_incident
from mediation import services as mediation_services
from special_groups.models import Enrollment, Person
from special_groups.services import enrollment_close
from surveys.services.setup import counting_rule_set
from tests.audit.conftest import XIXIU, point_in, token_client
from tests.factories import user_for_role
from tests.special_groups.helpers import id_number

pytestmark = pytest.mark.django_db


def trail(model, pk) -> list[tuple[str, str | None]]:
    """(change type, username) of every history row of one object, oldest first."""
    rows = model.history.model.objects.filter(id=pk).select_related("history_user").order_by("history_id")
    return [(r.history_type, r.history_user.username if r.history_user else None) for r in rows]


def test_incident_service_writes_record_each_actor(xixiu):
    incident = xixiu.incident
    dispatcher = user_for_role(Role.DISPATCHER, username="dispatcher-svc")
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    update_incident(actor=xixiu.worker, incident_id=incident.pk, description="更正：河边垃圾")
    delete_incident(actor=xixiu.admin, incident_id=incident.pk)  # the app's delete is a tombstone
    fresh = Incident.objects.get(pk=incident.pk)
    attribute(fresh, xixiu.admin)
    fresh.delete()
    assert trail(Incident, incident.pk) == [
        ("+", "worker-xx"),
        ("~", "dispatcher-svc"),
        ("~", "worker-xx"),
        ("~", "admin-xx"),
        ("-", "admin-xx"),
    ]
    rows = list(Incident.history.model.objects.filter(id=incident.pk).order_by("history_id"))
    assert rows[2].description == "更正：河边垃圾" and rows[1].description == "路边垃圾堆放"
    assert rows[3].deleted_at is not None and rows[2].deleted_at is None


def test_escalation_by_the_beat_job_is_recorded_as_the_platform_with_a_reason(xixiu):
    incident = xixiu.incident
    Incident.objects.filter(pk=incident.pk).update(
        status=Incident.Status.DISPATCHED, due_at=timezone.now() - timezone.timedelta(days=30)
    )
    assert escalate_incident(incident_id=incident.pk)
    last = Incident.history.model.objects.filter(id=incident.pk).latest()
    assert (last.history_type, last.history_user_id, last.history_change_reason) == ("~", None, "escalation")


def test_mediation_case_service_page_and_api_record_the_actor(xixiu, client):
    case = xixiu.case
    mediation_services.mediation_extend(actor=xixiu.mediator, case=case, days=5, reason="当事人外出")
    client.force_login(xixiu.mediator)
    response = client.post(
        reverse("mediation:case-action", args=[case.pk, "close"]),
        {"status": "withdrawn", "closed_on": timezone.localdate().isoformat(), "note": "撤回"},
    )
    assert response.status_code == 302
    other = user_for_role(Role.MEDIATOR, region=xixiu.mediator.region, username="mediator-api")
    from mediation.models import MediationCommittee

    mediation_services.membership_add(
        actor=user_for_role(Role.ADMIN),
        committee=MediationCommittee.objects.get(pk=case.committee_id),
        user=other,
    )
    api = token_client(other)
    second = mediation_services.case_open(
        actor=other,
        committee=case.committee,
        region=case.region,
        dispute_type="道路交通事故",
        summary="剐蹭",
        intake_date=timezone.localdate(),
        parties=[mediation_services.PartyInput(name="甲"), mediation_services.PartyInput(name="乙")],
    )
    answer = api.post(
        reverse("mediation-case-extend", args=[second.pk]), {"days": 3, "reason": "补充证据"}, format="json"
    )
    assert answer.status_code == 200, answer.content
    attribute(second, xixiu.admin)
    second_pk = second.pk
    second.delete()
    from mediation.models import MediationCase

    assert trail(MediationCase, case.pk) == [("+", "mediator-xx"), ("~", "mediator-xx"), ("~", "mediator-xx")]
    assert trail(MediationCase, second_pk) == [
        ("+", "mediator-api"),
        ("~", "mediator-api"),
        ("-", "admin-xx"),
    ]
    closed = MediationCase.history.model.objects.filter(id=case.pk).latest()
    assert closed.status == "withdrawn"


def test_enrolment_and_person_record_service_and_api_writes(xixiu):
    enrollment = xixiu.enrollment
    enrollment_close(actor=xixiu.officer, enrollment=enrollment)
    assert trail(Enrollment, enrollment.pk) == [("+", "officer-xx"), ("~", "officer-xx")]
    assert trail(Person, enrollment.person_id) == [("+", "officer-xx")]
    api = token_client(xixiu.officer)
    response = api.post(
        reverse("special-enrollment-list"),
        {
            "name": "赵测试",
            "id_number": id_number(XIXIU),
            "region": enrollment.person.region.code,
            "release_date": (timezone.localdate() + timezone.timedelta(days=9)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    created = Enrollment.objects.get(pk=response.json()["id"])
    assert trail(Enrollment, created.pk) == [("+", "officer-xx")]
    assert trail(Person, created.person_id) == [("+", "officer-xx")]
    # The access trail (its "enrol" record) protects an enrolment from deletion; the test removes
    # it to prove that a deletion through the ORM is still recorded.
    assert created.access_records.filter(action="enrol").count() == 1
    created.access_records.all().delete()
    attribute(created, xixiu.admin)
    created_pk = created.pk
    created.delete()
    assert trail(Enrollment, created_pk)[-1] == ("-", "admin-xx")


def test_evaluation_service_page_and_api_record_the_evaluator(xixiu, client):
    evaluation = xixiu.evaluation
    cell = evaluation.cell
    criteria = list(cell.cell_type.criteria.all())
    township = user_for_role(Role.TOWNSHIP_OFFICIAL, username="township-page")
    client.force_login(township)
    form = {"evaluated_on": timezone.localdate().isoformat(), **{f"score_{c.pk}": 0 for c in criteria}}
    assert client.post(reverse("safety_cells:evaluate", args=[cell.pk]), form).status_code == 302
    api_user = user_for_role(Role.TOWNSHIP_OFFICIAL, username="township-api")
    response = token_client(api_user).post(
        reverse("safety-evaluation-list"),
        {"cell": cell.pk, "scores": [{"criterion": c.pk, "score": 1} for c in criteria]},
        format="json",
    )
    assert response.status_code == 201, response.content
    from safety_cells.models import Evaluation

    by_page = Evaluation.objects.exclude(pk=evaluation.pk).get(total_score=0)
    assert trail(Evaluation, evaluation.pk) == [("+", "official-xx")]
    assert trail(Evaluation, by_page.pk) == [("+", "township-page")]
    assert trail(Evaluation, response.json()["id"]) == [("+", "township-api")]
    evaluation.notes = "复核"
    attribute(evaluation, xixiu.admin)
    evaluation.save()
    cell_pk = cell.pk
    # A cell's deletion takes its evaluations with it (CASCADE): each is recorded as deleted.
    from safety_cells.models import SafetyCell

    for each in Evaluation.objects.filter(cell_id=cell_pk):
        attribute(each, xixiu.admin)
    SafetyCell.objects.filter(pk=cell_pk).delete()
    assert trail(Evaluation, evaluation.pk) == [("+", "official-xx"), ("~", "admin-xx"), ("-", None)]


def test_counting_rule_changes_are_recorded_with_the_actor(counting_rule):
    rule, admin = counting_rule
    city = user_for_role(Role.CITY_OFFICIAL, username="rules-city")
    counting_rule_set(
        wave=rule.wave, item=rule.item, counted=[0, 1], cant_say_in_denominator=False, actor=city
    )
    from surveys.models import CountingRule

    history = list(CountingRule.history.model.objects.filter(id=rule.pk).order_by("history_id"))
    assert [(h.history_type, h.history_user.username) for h in history] == [
        ("+", "rules-admin"),
        ("~", "rules-city"),
    ]
    assert (history[0].counted, history[1].counted) == ([0, 1, 2], [0, 1])
    assert history[0].scope_path == "5204/"  # city-wide: placed at the root of the tree
    rule.wave.delete()  # a wave's rules go with it
    assert CountingRule.history.model.objects.filter(id=rule.pk).latest().history_type == "-"


def test_incident_page_and_token_api_writes_name_the_signed_in_user(xixiu, client):
    dispatcher = user_for_role(Role.DISPATCHER, username="dispatcher-page")
    client.force_login(dispatcher)
    incident = xixiu.incident
    page = client.post(reverse("incidents:transition", args=[incident.pk, "register"]), {"note": ""})
    assert page.status_code == 302
    api = token_client(xixiu.worker)
    grid = incident.grid
    body = {
        "client_uuid": str(uuid.uuid4()),
        "category": "exposed-rubbish",
        "description": "API 上报",
        "longitude": point_in(grid).x,
        "latitude": point_in(grid).y,
    }
    created = api.post("/api/incidents/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    etag = created["ETag"]  # a change must name the version it changes (If-Match, else 428)
    assert (
        api.patch(
            f"/api/incidents/{pk}/", {"description": "API 更正"}, format="json", HTTP_IF_MATCH=etag
        ).status_code
        == 200
    )
    admin_api = token_client(user_for_role(Role.ADMIN, username="admin-api"))
    assert admin_api.delete(f"/api/incidents/{pk}/").status_code in (200, 204)
    assert trail(Incident, incident.pk) == [("+", "worker-xx"), ("~", "dispatcher-page")]
    assert trail(Incident, pk) == [("+", "worker-xx"), ("~", "worker-xx"), ("~", "admin-api")]


def test_bulk_sync_records_every_created_incident_with_the_client_user(xixiu):
    api = token_client(xixiu.worker)
    grid = xixiu.incident.grid
    point = point_in(grid)
    items = [
        {
            "client_uuid": str(uuid.uuid4()),
            "category": "exposed-rubbish",
            "description": f"批量 {n}",
            "longitude": point.x,
            "latitude": point.y,
        }
        for n in range(5)
    ]
    items.append({**items[0]})  # a duplicate in the batch: one incident, one history row
    items.append({**items[1], "client_uuid": str(uuid.uuid4()), "category": "unknown"})  # refused
    response = api.post("/api/incidents/bulk/", {"items": items}, format="json")
    assert response.status_code == 200, response.content
    created = [r["id"] for r in response.json()["results"] if r["result"] == "created"]
    assert len(created) == 5
    history = Incident.history.model.objects.filter(id__in=created)
    assert history.count() == 5
    assert set(history.values_list("history_type", "history_user__username")) == {("+", "worker-xx")}
    for row in history:
        live = Incident.objects.get(pk=row.id)
        assert (row.description, row.grid_id, row.client_uuid, row.location) == (
            live.description,
            live.grid_id,
            live.client_uuid,
            live.location,
        )
    # A retry of the same batch creates nothing, so it records nothing either.
    assert api.post("/api/incidents/bulk/", {"items": items[:5]}, format="json").status_code == 200
    assert Incident.history.model.objects.filter(id__in=created).count() == 5
