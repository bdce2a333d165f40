"""The incidents command boundary, tried as an attacker would: every write through every door
(service, API, page, admin, bulk sync, Open311) by an actor out of scope and by a role without
the capability. Each door refuses the same way, and nothing is written."""

import uuid

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy

from accounts.roles import Role
from anshun.commands import COMMANDS, SYSTEM_COMMANDS, Conflict, NotFound, NotPermitted
from grids.models import GridOffice, Region
from incidents.models import Incident, IncidentEvent, Notification, Open311Client
from incidents.policy import POLICY
from incidents.services import editing, workflow
from incidents.services.escalation import escalate_overdue
from incidents.services.reporting import mark_notifications_read, report_incident
from tests.factories import user_for_role
from tests.incidents.conftest import OTHER_COUNTY, point_in

pytestmark = pytest.mark.django_db

S = Incident.Status
NOT_HERE = gettext_lazy("Not found in your jurisdiction.")  # the policy's one answer for a hidden object


def snapshot():
    """Everything a write could touch, to prove that a refusal wrote nothing."""
    return (
        list(
            Incident.objects.order_by("pk").values_list(
                "pk", "status", "version", "description", "deleted_at"
            )
        ),
        IncidentEvent.objects.count(),
        list(Incident.offices.through.objects.order_by("pk").values_list("incident_id", "gridoffice_id")),
    )


@pytest.fixture
def far_dispatcher(db):
    return user_for_role(Role.DISPATCHER, region=Region.objects.get(code=OTHER_COUNTY))


@pytest.fixture
def far_office(far_grid):
    return far_grid.office


def _at(incident, status, *, dispatcher, worker):
    """Walk ``incident`` to ``status`` along the main path (as the rightful people)."""
    steps = {
        S.REGISTERED: lambda: workflow.register_incident(actor=dispatcher, incident_id=incident.pk),
        S.DISPATCHED: lambda: workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk),
        S.HANDLING: lambda: workflow.take_incident(actor=worker, incident_id=incident.pk),
        S.HANDLED: lambda: workflow.report_handled(actor=worker, incident_id=incident.pk),
        S.VERIFIED: lambda: workflow.verify_incident(actor=dispatcher, incident_id=incident.pk),
    }
    for _step, run in steps.items():
        if Incident.objects.get(pk=incident.pk).status == status:
            break
        run()
    return Incident.objects.get(pk=incident.pk)


SOURCE = {
    "register": S.REPORTED,
    "dispatch": S.REGISTERED,
    "take": S.DISPATCHED,
    "report_handled": S.HANDLING,
    "return": S.DISPATCHED,
    "verify": S.HANDLED,
    "reopen": S.HANDLED,
    "close": S.VERIFIED,
}


# --- the table itself ---------------------------------------------------------------------------


def test_every_incident_command_is_in_the_table_and_can_be_probed():
    ours = {name: c for name, c in COMMANDS.items() if name.startswith("incidents.")}
    assert set(ours) == {f"incidents.{name}" for name in POLICY.rules}
    for name, command in ours.items():
        rule = command.rule
        # Truly target-less: one's own notifications; the city-wide working calendar (admins).
        targetless = ("mark_notifications_read", "calendar_day_set", "calendar_day_delete")
        assert rule.target or rule.refers or name.endswith(targetless), name
        assert rule.why, name
    # What runs with no one behind it says so.
    assert escalate_overdue.system_command and report_incident.command_name == "report"
    assert any(key.endswith("report_open311_request") for key in SYSTEM_COMMANDS)


def test_the_buttons_and_the_commands_agree(make_incident, dispatcher, worker, home_office, other_office):
    """``available_transitions`` is read from the same rules the commands are checked by."""
    incident = _at(make_incident(), S.DISPATCHED, dispatcher=dispatcher, worker=worker)
    stranger = user_for_role(Role.GRID_WORKER, office=other_office)
    assert "take" in workflow.available_transitions(actor=worker, incident=incident)
    assert "take" not in workflow.available_transitions(actor=stranger, incident=incident)
    assert workflow.available_transitions(actor=user_for_role(Role.LAWYER), incident=incident) == []


# --- the service door ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SOURCE))
def test_each_transition_refuses_a_role_without_the_capability_and_an_actor_out_of_scope(
    name, make_incident, dispatcher, worker, far_dispatcher, far_office
):
    incident = _at(make_incident(), SOURCE[name], dispatcher=dispatcher, worker=worker)
    before = snapshot()
    for lacking in (user_for_role(Role.LAWYER), user_for_role(Role.MEDIATOR)):
        with pytest.raises(NotPermitted):
            workflow.SERVICES[name](actor=lacking, incident_id=incident.pk, note="x")
    outsider = far_dispatcher
    if not outsider.can(POLICY.rule(name).capability):
        outsider = user_for_role(Role.GRID_WORKER, office=far_office)
    with pytest.raises(NotFound):
        workflow.SERVICES[name](actor=outsider, incident_id=incident.pk, note="x")
    # An incident that does not exist answers exactly the same.
    with pytest.raises(NotFound):
        workflow.SERVICES[name](actor=outsider, incident_id=10**9, note="x")
    assert snapshot() == before


def test_only_the_handling_unit_takes_it_even_inside_the_township(
    make_incident, dispatcher, worker, other_office
):
    incident = _at(make_incident(), S.DISPATCHED, dispatcher=dispatcher, worker=worker)
    neighbour = user_for_role(Role.GRID_WORKER, office=other_office)
    incident.offices.add(other_office)  # the neighbour can see it, but it is not theirs to handle
    before = snapshot()
    with pytest.raises(NotPermitted) as refused:
        workflow.take_incident(actor=neighbour, incident_id=incident.pk)
    assert refused.value.message == gettext_lazy("Only the handling unit can do this.")
    assert snapshot() == before


def test_dispatching_out_of_reach_says_only_not_found_and_writes_nothing(
    make_incident, dispatcher, worker, far_office
):
    incident = _at(make_incident(), S.REGISTERED, dispatcher=dispatcher, worker=worker)
    before = snapshot()
    with pytest.raises(ValidationError) as hidden:
        workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk, handling_office=far_office)
    with pytest.raises(ValidationError) as missing:
        workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk, handling_office=GridOffice())
    assert hidden.value.message_dict == missing.value.message_dict == {"handling_office": [str(NOT_HERE)]}
    assert far_office.name not in str(hidden.value.message_dict)
    assert snapshot() == before


def test_update_and_delete_refuse_and_write_nothing(make_incident, far_dispatcher, far_grid, worker):
    incident = make_incident()
    before = snapshot()
    with pytest.raises(NotPermitted):
        editing.update_incident(actor=user_for_role(Role.MEDIATOR), incident_id=incident.pk, description="改")
    with pytest.raises(NotFound):
        editing.update_incident(actor=far_dispatcher, incident_id=incident.pk, description="改")
    with pytest.raises(ValidationError) as moved:
        editing.update_incident(actor=worker, incident_id=incident.pk, grid=far_grid)
    assert moved.value.message_dict == {"grid": [str(NOT_HERE)]}
    with pytest.raises(NotPermitted):
        editing.delete_incident(actor=user_for_role(Role.DISPATCHER), incident_id=incident.pk)
    retired = user_for_role(Role.ADMIN)
    retired.is_active = False
    with pytest.raises(NotPermitted):
        editing.delete_incident(actor=retired, incident_id=incident.pk)
    assert snapshot() == before


def test_reporting_with_no_actor_is_no_longer_a_way_round(home_grid, category):
    """Open311 has its own marked entry; the users' command refuses a missing actor."""
    with pytest.raises(NotPermitted):
        report_incident(actor=None, category=category, description="x", location=point_in(home_grid))
    assert not Incident.objects.exists()


def test_a_client_id_used_out_of_sight_is_a_conflict_not_the_record(make_incident, far_dispatcher, far_grid):
    key = uuid.uuid4()
    make_incident(client_uuid=key)
    before = snapshot()
    with pytest.raises(Conflict) as conflict:
        report_incident(
            actor=far_dispatcher,
            category=Incident.objects.get().category,
            description="抢注",
            location=point_in(far_grid),
            client_uuid=key,
        )
    assert conflict.value.field_name == "client_uuid"
    assert snapshot() == before


def test_notifications_are_marked_read_only_by_roles_that_deal_with_incidents(dispatcher):
    Notification.objects.create(recipient=dispatcher, legacy_message="m")
    lawyer = user_for_role(Role.LAWYER)
    Notification.objects.create(recipient=lawyer, legacy_message="m")
    with pytest.raises(NotPermitted):
        mark_notifications_read(actor=lawyer)
    assert mark_notifications_read(actor=dispatcher) == 1
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


# --- the API door -------------------------------------------------------------------------------

WRITE_ROUTES = {
    "register": "register/",
    "dispatch": "dispatch/",
    "take": "take/",
    "report_handled": "report-handled/",
    "return": "return/",
    "verify": "verify/",
    "reopen": "reopen/",
    "close": "close/",
}


@pytest.mark.parametrize("role", [Role.LAWYER, Role.CASE_OFFICER])
def test_roles_without_incident_view_get_403_on_every_route(api_client, make_incident, role):
    incident = make_incident()
    api_client.force_authenticate(user_for_role(role))
    before = snapshot()
    base = f"/api/incidents/{incident.pk}/"
    assert api_client.get("/api/incidents/").status_code == 403
    assert api_client.get(base).status_code == 403
    assert api_client.get("/api/incidents/sync/").status_code == 403
    assert (
        api_client.post("/api/incidents/", {"category": "exposed-rubbish"}, format="json").status_code == 403
    )
    assert api_client.post("/api/incidents/bulk/", {"items": [{}]}, format="json").status_code == 403
    assert api_client.patch(base, {"description": "x"}, format="json").status_code == 403
    assert api_client.delete(base).status_code == 403
    for suffix in WRITE_ROUTES.values():
        assert api_client.post(base + suffix, {"note": "x"}, format="json").status_code == 403
    assert snapshot() == before


def test_every_write_route_answers_an_outsider_as_for_a_missing_incident(
    api_client, make_incident, far_dispatcher
):
    incident = make_incident()
    api_client.force_authenticate(far_dispatcher)
    before = snapshot()
    answers = {}
    for pk in (incident.pk, 10**9):
        base = f"/api/incidents/{pk}/"
        responses = {
            "update": api_client.patch(base, {"description": "x"}, format="json"),
            "delete": api_client.delete(base),
            **{n: api_client.post(base + s, {"note": "x"}, format="json") for n, s in WRITE_ROUTES.items()},
        }
        answers[pk] = {name: (r.status_code, r.json()) for name, r in responses.items()}
    # Word for word the same whether the incident is out of sight or does not exist at all:
    # 404 where the role holds the capability, 403 (decided before any row is read) where not.
    assert answers[incident.pk] == answers[10**9]
    for name, (status, _body) in answers[incident.pk].items():
        assert status == (404 if far_dispatcher.can(POLICY.rule(name).capability) else 403), name
    assert snapshot() == before


def test_a_role_without_the_capability_gets_403_from_the_api(api_client, make_incident, home_office):
    incident = make_incident()
    mediator = user_for_role(Role.MEDIATOR)  # reads incidents, writes none
    api_client.force_authenticate(mediator)
    before = snapshot()
    base = f"/api/incidents/{incident.pk}/"
    assert api_client.patch(base, {"description": "x"}, format="json").status_code == 403
    for suffix in WRITE_ROUTES.values():
        assert api_client.post(base + suffix, {"note": "x"}, format="json").status_code == 403
    body = {"category": "exposed-rubbish", "description": "x", "grid": incident.grid.code}
    assert api_client.post("/api/incidents/", body, format="json").status_code == 403
    assert api_client.post("/api/incidents/bulk/", {"items": [body]}, format="json").status_code == 403
    assert snapshot() == before


def test_api_dispatch_to_an_office_out_of_reach_answers_as_for_an_unknown_one(
    api_client, make_incident, dispatcher, worker, far_office
):
    incident = _at(make_incident(), S.REGISTERED, dispatcher=dispatcher, worker=worker)
    api_client.force_authenticate(dispatcher)
    before = snapshot()
    url = f"/api/incidents/{incident.pk}/dispatch/"
    hidden = api_client.post(url, {"handling_office": far_office.code}, format="json")
    unknown = api_client.post(url, {"handling_office": "999999999999999"}, format="json")
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.json() == unknown.json() == {"handling_office": [str(NOT_HERE)]}
    assert snapshot() == before


def test_api_report_in_a_grid_out_of_reach_answers_as_for_an_unknown_grid(api_client, worker, far_grid):
    api_client.force_authenticate(worker)
    body = {"category": "exposed-rubbish", "description": "x"}
    hidden = api_client.post("/api/incidents/", {**body, "grid": far_grid.code}, format="json")
    unknown = api_client.post("/api/incidents/", {**body, "grid": "000000000000000"}, format="json")
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.json() == unknown.json() == {"grid": [str(NOT_HERE)]}
    assert not Incident.objects.exists()


def test_api_a_reused_client_id_from_elsewhere_is_409(api_client, make_incident, far_dispatcher, far_grid):
    key = uuid.uuid4()
    make_incident(client_uuid=key)
    api_client.force_authenticate(far_dispatcher)
    point = point_in(far_grid)
    response = api_client.post(
        "/api/incidents/",
        {
            "client_uuid": str(key),
            "category": "exposed-rubbish",
            "description": "x",
            "longitude": point.x,
            "latitude": point.y,
        },
        format="json",
    )
    assert response.status_code == 409 and "client_uuid" in response.json()
    assert Incident.objects.count() == 1


# --- bulk sync ----------------------------------------------------------------------------------


def test_bulk_uses_the_single_report_rule_item_by_item(api_client, worker, home_grid, far_grid):
    api_client.force_authenticate(worker)
    base = {"category": "exposed-rubbish", "description": "x"}
    point = point_in(far_grid)
    items = [
        {**base, "grid": far_grid.code},
        {**base, "grid": "000000000000000"},
        {**base, "longitude": point.x, "latitude": point.y},
        {**base, "grid": home_grid.code},
    ]
    results = api_client.post("/api/incidents/bulk/", {"items": items}, format="json").json()["results"]
    assert [r["result"] for r in results] == ["error", "error", "error", "created"]
    # An explicit grid out of reach and an unknown one: the single command's answer, word for word.
    assert results[0]["errors"] == results[1]["errors"] == {"grid": [str(NOT_HERE)]}
    single = api_client.post("/api/incidents/", {**base, "grid": far_grid.code}, format="json").json()
    assert single == results[0]["errors"]
    # A point out of reach: the same answer as one report from that point.
    one = api_client.post("/api/incidents/", items[2], format="json").json()
    assert one == results[2]["errors"]
    assert Incident.objects.count() == 1


def test_bulk_service_refuses_a_role_without_the_capability_before_any_item(home_grid, category):
    from incidents.services.bulk import ItemResult, report_incidents_bulk

    items = [{"category": category, "description": "x", "grid": home_grid}]
    with pytest.raises(NotPermitted):
        report_incidents_bulk(actor=user_for_role(Role.MEDIATOR), items=items, results=[ItemResult(index=0)])
    assert not Incident.objects.exists()


# --- the page door ------------------------------------------------------------------------------


def test_page_buttons_refuse_outsiders_with_404_and_roles_with_a_message(
    client, make_incident, far_dispatcher, far_office
):
    incident = make_incident()
    before = snapshot()
    far_worker = user_for_role(Role.GRID_WORKER, office=far_office)
    for name in WRITE_ROUTES:
        client.force_login(far_dispatcher if far_dispatcher.can(POLICY.rule(name).capability) else far_worker)
        url = reverse("incidents:transition", args=[incident.pk, name])
        assert client.post(url, {"note": "x"}).status_code == 404
    client.force_login(user_for_role(Role.MEDIATOR))
    response = client.post(reverse("incidents:transition", args=[incident.pk, "register"]), follow=True)
    assert "Your role cannot do this." in response.content.decode() or "您的角色" in response.content.decode()
    assert snapshot() == before


def test_page_dispatch_to_an_office_out_of_reach_or_unknown_says_the_same(
    client, make_incident, dispatcher, worker, far_office
):
    incident = _at(make_incident(), S.REGISTERED, dispatcher=dispatcher, worker=worker)
    before = snapshot()
    client.force_login(dispatcher)
    url = reverse("incidents:transition", args=[incident.pk, "dispatch"])
    answers = []
    for code in (far_office.code, "999999999999999"):
        response = client.post(url, {"handling_office": code}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
        answers.append([str(m) for m in response.context["messages"]])
    assert answers[0] == answers[1] and len(answers[0]) == 1
    assert far_office.name not in answers[0][0]
    assert snapshot() == before


def test_page_report_by_a_role_without_the_capability_is_403(client, home_grid):
    client.force_login(user_for_role(Role.MEDIATOR))
    point = point_in(home_grid)
    response = client.post(
        reverse("incidents:report"),
        {"category": "exposed-rubbish", "description": "x", "longitude": point.x, "latitude": point.y},
    )
    assert response.status_code == 403 and not Incident.objects.exists()


def test_the_notifications_page_marks_nothing_for_roles_without_incidents(client):
    lawyer = user_for_role(Role.LAWYER)
    Notification.objects.create(recipient=lawyer, legacy_message="m")
    client.force_login(lawyer)
    assert client.get(reverse("incidents:notifications")).status_code == 200
    assert Notification.objects.get().read_at is None


# --- the admin door -----------------------------------------------------------------------------


def test_the_admin_cannot_write_incidents_around_the_services(client, make_incident):
    incident = make_incident()
    Notification.objects.create(recipient=incident.reporter, incident=incident, legacy_message="m")
    client.force_login(user_for_role(Role.ADMIN))
    before = snapshot()
    change = reverse("admin:incidents_incident_change", args=[incident.pk])
    assert client.get(change).status_code == 200  # shown
    assert client.post(change, {"description": "改", "category": incident.category_id}).status_code == 403
    assert client.get(reverse("admin:incidents_incident_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:incidents_incident_delete", args=[incident.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    note = Notification.objects.get()
    assert (
        client.post(
            reverse("admin:incidents_notification_delete", args=[note.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert snapshot() == before and Notification.objects.exists()


# --- Open311 create -----------------------------------------------------------------------------


def test_open311_create_needs_an_active_key_and_writes_through_its_marked_entry(client, category, home_grid):
    revoked = Open311Client.objects.create(name="旧热线", is_active=False)
    point = point_in(home_grid)
    body = {"service_code": "exposed-rubbish", "lat": point.y, "long": point.x, "description": "x"}
    assert client.post("/open311/v2/requests.json", {**body, "api_key": revoked.api_key}).status_code == 403
    assert client.post("/open311/v2/requests.json", {**body, "api_key": "guess"}).status_code == 403
    assert not Incident.objects.exists()
    live = Open311Client.objects.create(name="12345 热线")
    outside = client.post(
        "/open311/v2/requests.json", {**body, "api_key": live.api_key, "lat": 39.9, "long": 116.39}
    )
    assert outside.status_code == 400 and not Incident.objects.exists()
    created = client.post("/open311/v2/requests.json", {**body, "api_key": live.api_key})
    assert created.status_code == 201
    incident = Incident.objects.get()
    assert (incident.reporter, incident.open311_client, incident.source) == (None, live, "open311")


def test_open311_service_refuses_a_revoked_client(category, home_grid):
    from incidents.services.reporting import report_open311_request

    revoked = Open311Client.objects.create(name="旧热线", is_active=False)
    with pytest.raises(NotPermitted):
        report_open311_request(
            client=revoked, category=category, description="x", location=point_in(home_grid)
        )
    assert not Incident.objects.exists()


# --- filters ------------------------------------------------------------------------------------


def test_a_region_filter_answers_the_same_for_out_of_scope_and_unknown(api_client, make_incident, worker):
    make_incident()
    api_client.force_authenticate(worker)
    hidden = api_client.get("/api/incidents/", {"within": OTHER_COUNTY})
    unknown = api_client.get("/api/incidents/", {"within": "999999"})
    assert hidden.status_code == unknown.status_code == 200
    assert hidden.json()["results"] == unknown.json()["results"] == []


def test_a_point_outside_anshun_is_not_a_scope_answer(worker, category):
    with pytest.raises(ValidationError):
        report_incident(
            actor=worker, category=category, description="x", location=Point(116.39, 39.9, srid=4326)
        )
