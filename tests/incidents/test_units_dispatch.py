"""Handling units as a 综治中心 works (issue #16, first slice): functional departments with staff
and a jurisdiction, 主办/协办 dispatch across levels, the dispatcher's corrections, 不予立案/作废,
truthful intake channels and the routing table — each through every door (service, page, API,
admin), tried as an attacker would: out of sight is 404 and writes nothing, a role without the
capability is 403, malformed input is a 4xx with field errors, never a 500."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy

from accounts.roles import Role
from anshun.commands import Invalid, NotFound, NotPermitted
from grids.models import GridOffice, Region
from incidents import selectors
from incidents.models import (
    Department,
    Incident,
    IncidentAssignment,
    IncidentCategory,
    IncidentEvent,
    Notification,
    RoutingRule,
)
from incidents.services import workflow
from incidents.services.reporting import report_incident
from incidents.services.units import correct_incident, record_part, route_delete, route_set
from tests.factories import department_in, user_for_role
from tests.incidents.conftest import point_in

pytestmark = pytest.mark.django_db

S = Incident.Status
NOT_HERE = gettext_lazy("Not found in your jurisdiction.")
COUNTY, TOWNSHIP, FAR_COUNTY = "520402", "520402005", "520425"


def region(code: str) -> Region:
    return Region.objects.get(code=code)


def snapshot():
    """Everything these commands could write, to prove a refusal wrote nothing."""
    return (
        list(
            Incident.objects.order_by("pk").values_list(
                "pk",
                "status",
                "version",
                "category_id",
                "priority",
                "handling_office_id",
                "handling_department_id",
            )
        ),
        IncidentEvent.objects.count(),
        list(IncidentAssignment.objects.order_by("pk").values_list("pk", "state", "result")),
        list(Incident.departments.through.objects.order_by("pk").values_list("incident_id", "department_id")),
        list(
            RoutingRule.objects.order_by("pk").values_list("pk", "category_id", "region_id", "department_id")
        ),
        Notification.objects.count(),
    )


@pytest.fixture
def county_dispatcher(db):
    return user_for_role(Role.DISPATCHER, region=region(COUNTY))


@pytest.fixture
def housing(category):
    return department_in(region(COUNTY), "housing")


@pytest.fixture
def township_justice(category):
    return department_in(region(TOWNSHIP), "justice")


@pytest.fixture
def officer(housing):
    return user_for_role(Role.DEPARTMENT_OFFICER, department=housing)


@pytest.fixture
def justice_officer(township_justice):
    return user_for_role(Role.DEPARTMENT_OFFICER, department=township_justice)


@pytest.fixture
def police_officer(category):
    """Same county, another department: sees none of the housing bureau's work."""
    return user_for_role(Role.DEPARTMENT_OFFICER, department=department_in(region(COUNTY), "police"))


@pytest.fixture
def far_officer(category):
    return user_for_role(Role.DEPARTMENT_OFFICER, department=department_in(region(FAR_COUNTY), "housing"))


@pytest.fixture
def admin_web(db):
    from django.test import Client

    web = Client()
    web.force_login(user_for_role(Role.ADMIN))
    return web


@pytest.fixture
def head(home_office):
    return user_for_role(Role.GRID_OFFICE_HEAD, office=home_office)


@pytest.fixture
def registered(make_incident, county_dispatcher):
    incident = make_incident()
    workflow.register_incident(actor=county_dispatcher, incident_id=incident.pk)
    return incident


@pytest.fixture
def dispatched(registered, county_dispatcher, housing, township_justice, other_office):
    workflow.dispatch_incident(
        actor=county_dispatcher,
        incident_id=registered.pk,
        handling_department=housing,
        assist_departments=[township_justice],
        assist_offices=[other_office],
        note="请住建局主办",
    )
    return Incident.objects.get(pk=registered.pk)


# --- scoping: one mechanism, every new model ------------------------------------------------------


def test_department_staff_see_what_was_dispatched_to_their_department_and_nothing_else(
    dispatched, officer, justice_officer, police_officer, far_officer, housing, other_office
):
    assert list(selectors.incidents_visible_to(actor=officer)) == [dispatched]
    assert list(selectors.incidents_visible_to(actor=justice_officer)) == [dispatched]
    assert not selectors.incidents_visible_to(actor=police_officer).exists()
    assert not selectors.incidents_visible_to(actor=far_officer).exists()
    assert list(Department.objects.visible_to(officer)) == [housing]
    shares = IncidentAssignment.objects.visible_to(officer)
    assert [(s.part, s.department_id) for s in shares] == [("lead", housing.pk)]
    # Models with no department lookup show a department's staff nothing at all.
    for model in (GridOffice, Region, RoutingRule, Incident.history.model):
        assert not model.objects.visible_to(officer).exists(), model
    # The assisting grid office's staff see it too (through the offices it was sent to).
    assist_staff = user_for_role(Role.GRID_WORKER, office=other_office)
    assert selectors.incidents_visible_to(actor=assist_staff).filter(pk=dispatched.pk).exists()


def test_a_dispatcher_sees_departments_at_its_level_and_below_only(county_dispatcher, dispatcher, housing):
    township_police = department_in(region(TOWNSHIP), "police")
    city_police = department_in(region("5204"), "police")
    far = department_in(region(FAR_COUNTY), "police")
    county_sees = set(Department.objects.visible_to(county_dispatcher))
    assert {housing, township_police} <= county_sees and not county_sees & {city_police, far}
    assert set(Department.objects.visible_to(dispatcher)) == {township_police}  # a township dispatcher


# --- 主办 / 协办 through the workflow -------------------------------------------------------------


def test_lead_and_assisting_units_each_record_their_part_and_the_lead_closes_the_loop(
    dispatched, county_dispatcher, officer, justice_officer, head, housing, township_justice
):
    assert dispatched.status == S.DISPATCHED and dispatched.handling_department == housing
    assert dispatched.handling_office is None and dispatched.due_at is not None
    shares = {(s.part, str(s.unit)) for s in dispatched.assignments.all()}
    assert (
        ("lead", housing.name) in shares and ("assist", township_justice.name) in shares and len(shares) == 3
    )
    handover = dispatched.events.get(to_status=S.DISPATCHED)
    assert handover.changes["lead"] == housing.name and township_justice.name in handover.changes["assist"]

    # Only the lead unit takes and handles; an assisting unit cannot.
    assert "take" not in workflow.available_transitions(actor=justice_officer, incident=dispatched)
    with pytest.raises(NotPermitted):
        workflow.take_incident(actor=justice_officer, incident_id=dispatched.pk)
    workflow.take_incident(actor=officer, incident_id=dispatched.pk)
    share = dispatched.assignments.get(department=township_justice)
    record_part(actor=justice_officer, assignment_id=share.pk, result="已调解当事双方")
    with pytest.raises(ValidationError):  # a share is recorded once
        record_part(actor=justice_officer, assignment_id=share.pk, result="again")
    workflow.report_handled(actor=officer, incident_id=dispatched.pk, note="违建已拆除")
    incident = Incident.objects.get(pk=dispatched.pk)
    assert incident.status == S.HANDLED
    lead = incident.assignments.get(part="lead")
    assert (lead.state, lead.result, lead.done_by) == ("done", "违建已拆除", officer)
    workflow.verify_incident(actor=head, incident_id=incident.pk)
    workflow.close_incident(actor=county_dispatcher, incident_id=incident.pk)
    kinds = list(incident.events.values_list("kind", "to_status"))
    assert ("part", S.HANDLING) in kinds and kinds[-1] == ("status", S.CLOSED)


def test_a_return_withdraws_every_share_and_a_new_dispatch_hands_out_new_ones(
    dispatched, county_dispatcher, officer, home_office
):
    workflow.return_incident(actor=officer, incident_id=dispatched.pk, note="不属于住建")
    assert not dispatched.assignments.filter(state="open").exists()
    workflow.dispatch_incident(
        actor=county_dispatcher, incident_id=dispatched.pk, handling_office=home_office
    )
    incident = Incident.objects.get(pk=dispatched.pk)
    assert incident.handling_office == home_office and incident.handling_department is None
    assert list(incident.assignments.filter(state="open").values_list("part", "office_id")) == [
        ("lead", home_office.pk)
    ]
    # The department that had it keeps sight of it (as an office does), but cannot act.
    assert selectors.incidents_visible_to(actor=officer).filter(pk=incident.pk).exists()
    with pytest.raises(NotPermitted):
        workflow.take_incident(actor=officer, incident_id=incident.pk)


def test_dispatch_checks_units_and_writes_nothing_when_it_refuses(
    registered, county_dispatcher, dispatcher, housing, home_office, far_officer
):
    before = snapshot()
    other_township = (
        Region.objects.filter(parent__code=COUNTY, level="township")
        .exclude(code=TOWNSHIP)
        .order_by("code")
        .first()
    )
    wrong_place = department_in(other_township, "police")
    far = far_officer.department
    city = department_in(region("5204"), "police")
    attempts = [
        ({"handling_department": housing, "handling_office": home_office}, "handling_department"),
        ({"handling_department": wrong_place}, "handling_department"),
        ({"handling_department": far}, "handling_department"),
        ({"handling_department": city}, "handling_department"),  # above the county: out of sight
        ({"handling_department": housing, "assist_departments": [housing]}, "assist_departments"),
        ({"handling_department": housing, "assist_departments": [Department()]}, "assist_departments"),
    ]
    for arguments, field in attempts:
        with pytest.raises(ValidationError) as refused:
            workflow.dispatch_incident(actor=county_dispatcher, incident_id=registered.pk, **arguments)
        assert field in refused.value.message_dict, arguments
    # A township dispatcher cannot send to the county's bureau: it is not in its sight.
    with pytest.raises(Invalid) as refused:
        workflow.dispatch_incident(actor=dispatcher, incident_id=registered.pk, handling_department=housing)
    assert refused.value.message_dict == {"handling_department": [str(NOT_HERE)]}
    assert snapshot() == before


def test_an_out_of_county_department_officer_gets_404_through_every_door_and_nothing_is_written(
    client, api_client, dispatched, far_officer, police_officer
):
    share = dispatched.assignments.get(part="assist", department__isnull=False)
    before = snapshot()
    for stranger in (far_officer, police_officer):
        for command in (workflow.take_incident, workflow.report_handled):
            with pytest.raises(NotFound):
                command(actor=stranger, incident_id=dispatched.pk)
        with pytest.raises(NotFound):
            record_part(actor=stranger, assignment_id=share.pk, result="x")
        client.force_login(stranger)
        assert client.get(f"/incidents/{dispatched.pk}/").status_code == 404
        assert client.post(f"/incidents/{dispatched.pk}/take/").status_code == 404
        assert (
            client.post(f"/incidents/{dispatched.pk}/parts/{share.pk}/", {"result": "x"}).status_code == 404
        )
        assert dispatched.pk not in [i.pk for i in client.get("/incidents/inbox/").context["object_list"]]
        api_client.force_authenticate(stranger)
        assert api_client.get(f"/api/incidents/{dispatched.pk}/").status_code == 404
        assert api_client.post(f"/api/incidents/{dispatched.pk}/take/", {}, format="json").status_code == 404
        assert (
            api_client.post(f"/api/incidents/{dispatched.pk}/correct/", {}, format="json").status_code == 403
        )
    assert snapshot() == before


def test_dispatch_through_the_page_and_the_api(
    client, api_client, registered, county_dispatcher, housing, justice_officer
):
    client.force_login(county_dispatcher)
    page = client.get(f"/incidents/{registered.pk}/")
    assert f'value="department:{housing.code}"' in page.content.decode()
    response = client.post(
        f"/incidents/{registered.pk}/dispatch/",
        {"lead": f"department:{housing.code}", "assist": [f"department:{justice_officer.department.code}"]},
    )
    assert response.status_code == 302
    incident = Incident.objects.get(pk=registered.pk)
    assert incident.handling_department == housing
    assert incident.assignments.filter(part="assist", department=justice_officer.department).exists()
    page = client.get(f"/incidents/{registered.pk}/").content.decode()
    assert "主办" in page and "协办" in page and justice_officer.department.name in page

    workflow.return_incident(
        actor=user_for_role(Role.DEPARTMENT_OFFICER, department=housing), incident_id=incident.pk, note="错派"
    )
    api_client.force_authenticate(county_dispatcher)
    answer = api_client.post(
        f"/api/incidents/{incident.pk}/dispatch/",
        {"handling_department": housing.code, "assist_departments": [justice_officer.department.code]},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["handling_department"] == housing.code


@pytest.mark.parametrize(
    "form",
    [
        {"lead": "junk"},
        {"lead": "department:"},
        {"lead": "department:\x00x"},
        {"lead": "office:" + "9" * 5000},
        {"lead": "department:nope", "assist": ["department:also-nope"]},
        {"assist": ["x"] * 50},
        {"assist": ["department:" + "a" * 300]},
    ],
)
def test_malformed_dispatch_forms_are_refused_on_the_page_never_a_500(
    client, registered, county_dispatcher, form
):
    client.force_login(county_dispatcher)
    before = snapshot()
    response = client.post(f"/incidents/{registered.pk}/dispatch/", form)
    assert response.status_code == 302
    assert snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        {"handling_department": ["x"]},
        {"handling_department": "\x00"},
        {"assist_departments": "not-a-list"},
        {"assist_departments": [{"code": 1}]},
        {"assist_offices": ["1"] * 21},
        {"handling_department": "a" * 5000},
    ],
)
def test_malformed_dispatch_bodies_are_a_400_never_a_500(api_client, registered, county_dispatcher, body):
    api_client.force_authenticate(county_dispatcher)
    before = snapshot()
    response = api_client.post(f"/api/incidents/{registered.pk}/dispatch/", body, format="json")
    assert response.status_code == 400, response.content
    assert snapshot() == before


# --- the dispatcher corrects category and priority ------------------------------------------------


def test_a_correction_is_recorded_old_to_new_with_the_reason(
    client, api_client, registered, county_dispatcher
):
    fire = IncidentCategory.objects.get(code="fire-hazard")
    correct_incident(
        actor=county_dispatcher,
        incident_id=registered.pk,
        category=fire,
        priority="urgent",
        reason="实为消防隐患",
    )
    event = IncidentEvent.objects.filter(incident=registered, kind="correction").get()
    assert event.changes == {"category": ["exposed-rubbish", "fire-hazard"], "priority": ["normal", "urgent"]}
    assert event.note == "实为消防隐患" and event.from_status == event.to_status == S.REGISTERED
    client.force_login(county_dispatcher)
    page = client.get(f"/incidents/{registered.pk}/").content.decode()
    assert "实为消防隐患" in page and "→" in page
    # The page and the API doors.
    response = client.post(f"/incidents/{registered.pk}/correct/", {"priority": "low", "reason": "复核"})
    assert response.status_code == 302 and Incident.objects.get(pk=registered.pk).priority == "low"
    api_client.force_authenticate(county_dispatcher)
    answer = api_client.post(
        f"/api/incidents/{registered.pk}/correct/", {"priority": "high", "reason": "再次复核"}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["priority"] == "high"
    assert IncidentEvent.objects.filter(incident=registered, kind="correction").count() == 3


def test_a_correction_needs_a_reason_and_a_change_and_is_the_centres_alone(
    client, api_client, registered, county_dispatcher, worker, officer
):
    before = snapshot()
    with pytest.raises(ValidationError):
        correct_incident(actor=county_dispatcher, incident_id=registered.pk, priority="urgent", reason=" ")
    with pytest.raises(ValidationError):
        correct_incident(
            actor=county_dispatcher, incident_id=registered.pk, priority="normal", reason="无变化"
        )
    with pytest.raises(ValidationError):
        correct_incident(actor=county_dispatcher, incident_id=registered.pk, priority="bogus", reason="x")
    for actor in (worker, officer):
        with pytest.raises(NotPermitted):
            correct_incident(actor=actor, incident_id=registered.pk, priority="urgent", reason="x")
    far = user_for_role(Role.DISPATCHER, region=region(FAR_COUNTY))
    with pytest.raises(NotFound):
        correct_incident(actor=far, incident_id=registered.pk, priority="urgent", reason="x")
    client.force_login(far)
    assert (
        client.post(f"/incidents/{registered.pk}/correct/", {"priority": "urgent", "reason": "x"}).status_code
        == 404
    )
    client.force_login(county_dispatcher)
    assert (
        client.post(f"/incidents/{registered.pk}/correct/", {"category": "\x00", "reason": "x"}).status_code
        == 302
    )
    api_client.force_authenticate(county_dispatcher)
    for body in (
        {"priority": "urgent"},
        {"priority": ["x"], "reason": "y"},
        {"category": 7, "reason": "y"},
        [],
    ):
        assert (
            api_client.post(f"/api/incidents/{registered.pk}/correct/", body, format="json").status_code
            == 400
        )
    assert snapshot() == before


# --- 不予立案 / 作废, visible to the reporter -----------------------------------------------------------


def test_rejecting_and_voiding_need_a_reason_and_the_reporter_reads_it(
    client, make_incident, county_dispatcher, worker
):
    junk = make_incident(description="测试乱报")
    with pytest.raises(ValidationError):
        workflow.reject_incident(actor=county_dispatcher, incident_id=junk.pk, note="")
    workflow.reject_incident(actor=county_dispatcher, incident_id=junk.pk, note="非本中心受理事项")
    assert Incident.objects.get(pk=junk.pk).status == S.REJECTED
    twice = make_incident(description="重复上报")
    workflow.register_incident(actor=county_dispatcher, incident_id=twice.pk)
    client.force_login(county_dispatcher)
    assert client.post(f"/incidents/{twice.pk}/void/", {"note": "与前案重复"}).status_code == 302
    assert Incident.objects.get(pk=twice.pk).status == S.VOIDED
    # The reporter is told, and reads the reason on the case page.
    assert Notification.objects.filter(recipient=worker, incident=junk).exists()
    client.force_login(worker)
    page = client.get(f"/incidents/{junk.pk}/").content.decode()
    assert "非本中心受理事项" in page and 'data-testid="closing-reason"' in page
    assert client.get(f"/incidents/{twice.pk}/").context["closing_reason"] == "与前案重复"
    # Neither is open work any more.
    queue = [i.pk for i in selectors.dispatcher_queue(actor=county_dispatcher)]
    assert junk.pk not in queue and twice.pk not in queue
    with pytest.raises(NotPermitted):
        workflow.reject_incident(actor=worker, incident_id=twice.pk, note="x")


# --- intake channels, truthfully ---------------------------------------------------------------------


def test_a_call_logged_by_the_dispatcher_is_a_hotline_report_not_a_grid_workers(
    client, api_client, county_dispatcher, home_grid, category, worker
):
    client.force_login(county_dispatcher)
    form = client.get("/incidents/report/")
    assert 'data-testid="intake-channel"' in form.content.decode()
    point = point_in(home_grid)
    body = {
        "category": category.code,
        "description": "来电：路灯不亮",
        "longitude": point.x,
        "latitude": point.y,
    }
    response = client.post("/incidents/report/", {**body, "source": "hotline"})
    assert response.status_code == 302
    incident = Incident.objects.get(description="来电：路灯不亮")
    assert (incident.source, incident.reporter) == ("hotline", county_dispatcher)
    assert "热线" in client.get(f"/incidents/{incident.pk}/").content.decode()
    # Claiming to be a grid worker is refused, on every door.
    refused = client.post("/incidents/report/", {**body, "description": "冒充", "source": "grid_worker"})
    assert refused.status_code == 200 and "source" in refused.context["errors"]
    refused = client.post("/incidents/report/", {**body, "description": "冒充", "source": "open311"})
    assert "source" in refused.context["errors"]
    api_client.force_authenticate(county_dispatcher)
    answer = api_client.post(
        "/api/incidents/", {**body, "description": "冒充", "source": "grid_worker"}, format="json"
    )
    assert answer.status_code == 400 and "source" in answer.json()
    assert not Incident.objects.filter(description="冒充").exists()
    walk_in = report_incident(
        actor=county_dispatcher, category=category, description="来访", grid=home_grid, source="walk_in"
    )[0]
    assert walk_in.source == "walk_in"
    # Grid staff's own report is still a grid worker's, with no channel to choose.
    client.force_login(worker)
    assert 'data-testid="intake-channel"' not in client.get("/incidents/report/").content.decode()


# --- the routing table ----------------------------------------------------------------------------------


def test_the_routing_table_preselects_the_most_specific_route(
    client, county_dispatcher, registered, housing, township_justice
):
    county_route = route_set(
        actor=county_dispatcher, category=registered.category, region=region(COUNTY), department=housing
    )
    client.force_login(county_dispatcher)
    page = client.get(f"/incidents/{registered.pk}/")
    assert page.context["lead_choice"] == f"department:{housing.code}"
    assert f'<option value="department:{housing.code}" selected>' in page.content.decode()
    # The township's own route beats the county's.
    response = client.post(
        "/incidents/routes/",
        {
            "category": registered.category.code,
            "region": TOWNSHIP,
            "unit": f"department:{township_justice.code}",
        },
    )
    assert response.status_code == 302
    assert (
        client.get(f"/incidents/{registered.pk}/").context["lead_choice"]
        == f"department:{township_justice.code}"
    )
    assert township_justice.name in client.get("/incidents/routes/").content.decode()
    # Replacing a route keeps one row per category and place.
    route_set(
        actor=county_dispatcher, category=registered.category, region=region(COUNTY), department=housing
    )
    assert RoutingRule.objects.filter(region=region(COUNTY)).count() == 1
    assert client.post(f"/incidents/routes/{county_route.pk}/delete/").status_code == 302
    assert not RoutingRule.objects.filter(pk=county_route.pk).exists()


def test_routes_are_kept_only_inside_ones_jurisdiction_through_every_door(
    client, county_dispatcher, dispatcher, housing, officer, category, admin_web
):
    route = route_set(actor=county_dispatcher, category=category, region=region(COUNTY), department=housing)
    far = user_for_role(Role.DISPATCHER, region=region(FAR_COUNTY))
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        route_set(actor=far, category=category, region=region(TOWNSHIP), department=housing)
    assert set(refused.value.message_dict) == {"region", "department"}
    with pytest.raises(Invalid):  # a township dispatcher cannot point at the county's bureau
        route_set(actor=dispatcher, category=category, region=region(TOWNSHIP), department=housing)
    with pytest.raises(Invalid):  # a township's station cannot take the county's route
        route_set(
            actor=county_dispatcher,
            category=category,
            region=region(COUNTY),
            department=department_in(region(TOWNSHIP), "police"),
        )
    for actor in (officer, user_for_role(Role.COUNTY_OFFICIAL)):
        with pytest.raises(NotPermitted):
            route_set(actor=actor, category=category, region=region(COUNTY), department=housing)
        with pytest.raises(NotPermitted):
            route_delete(actor=actor, route=route.pk)
    with pytest.raises(NotFound):
        route_delete(actor=far, route=route.pk)
    client.force_login(far)
    assert client.post(f"/incidents/routes/{route.pk}/delete/").status_code == 404
    bad = client.post(
        "/incidents/routes/",
        {"category": category.code, "region": TOWNSHIP, "unit": f"department:{housing.code}"},
    )
    assert bad.status_code == 400 and bad.context["errors"]
    for form in ({}, {"category": "x"}, {"category": category.code, "region": "\x00", "unit": "??"}):
        assert client.post("/incidents/routes/", form).status_code == 400
    client.force_login(officer)
    assert client.get("/incidents/routes/").status_code == 403
    assert client.post(f"/incidents/routes/{route.pk}/delete/").status_code == 403
    assert snapshot() == before
    # The admin: a route out of the unit's reach is a form error, nothing written.
    add = reverse("admin:incidents_routingrule_add")
    other_township = (
        Region.objects.filter(parent__code=COUNTY, level="township")
        .exclude(code=TOWNSHIP)
        .order_by("code")
        .first()
    )
    station = department_in(region(TOWNSHIP), "police")
    response = admin_web.post(
        add, {"category": category.pk, "region": other_township.pk, "department": station.pk}
    )
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert snapshot()[4] == before[4]
    response = admin_web.post(
        add, {"category": category.pk, "region": region(TOWNSHIP).pk, "department": station.pk}
    )
    assert response.status_code == 302
    saved = RoutingRule.objects.get(region=region(TOWNSHIP))
    assert saved.department == station and saved.updated_by is not None
    delete = reverse("admin:incidents_routingrule_delete", args=[saved.pk])
    assert admin_web.post(delete, {"post": "yes"}).status_code == 302
    assert not RoutingRule.objects.filter(pk=saved.pk).exists()


# --- the unit's inbox -------------------------------------------------------------------------------------


def test_the_inbox_holds_the_units_open_shares_in_triage_order(
    client, make_incident, county_dispatcher, housing, officer, police_officer, justice_officer
):
    ids = []
    for priority in ("normal", "urgent", "normal"):
        incident = make_incident(priority=priority)
        workflow.register_incident(actor=county_dispatcher, incident_id=incident.pk)
        workflow.dispatch_incident(
            actor=county_dispatcher,
            incident_id=incident.pk,
            handling_department=housing,
            assist_departments=[justice_officer.department],
        )
        ids.append(incident.pk)
    Incident.objects.filter(pk=ids[2]).update(due_at="2020-01-01T00:00:00Z")
    client.force_login(officer)
    page = client.get("/incidents/inbox/")
    assert page.status_code == 200
    assert [i.pk for i in page.context["object_list"]] == [ids[2], ids[1], ids[0]]  # overdue, urgent, oldest
    client.force_login(justice_officer)
    assert len(client.get("/incidents/inbox/").context["object_list"]) == 3
    client.force_login(police_officer)
    assert list(client.get("/incidents/inbox/").context["object_list"]) == []
    # A share recorded leaves the assisting unit's inbox; the lead's stays until handled.
    share = IncidentAssignment.objects.get(incident_id=ids[0], department=justice_officer.department)
    record_part(actor=justice_officer, assignment_id=share.pk, result="协助完成")
    client.force_login(justice_officer)
    assert ids[0] not in [i.pk for i in client.get("/incidents/inbox/").context["object_list"]]
    assert client.get("/").status_code == 200  # the department's home page


def test_the_home_page_of_a_department_officer_leads_to_the_inbox(client, officer):
    client.force_login(officer)
    page = client.get("/")
    assert page.status_code == 200 and 'data-testid="inbox-link"' in page.content.decode()
    assert officer.department.name in page.content.decode()


def test_text_that_no_database_can_hold_is_a_field_error_on_every_new_door(
    client, api_client, dispatched, county_dispatcher, justice_officer
):
    share = dispatched.assignments.get(department=justice_officer.department)
    before = snapshot()
    client.force_login(county_dispatcher)
    assert (
        client.post(
            f"/incidents/{dispatched.pk}/correct/", {"priority": "urgent", "reason": "a\x00b"}
        ).status_code
        == 302
    )
    api_client.force_authenticate(county_dispatcher)
    answer = api_client.post(
        f"/api/incidents/{dispatched.pk}/correct/", {"priority": "urgent", "reason": "a\x00b"}, format="json"
    )
    assert answer.status_code == 400
    client.force_login(justice_officer)
    assert (
        client.post(f"/incidents/{dispatched.pk}/parts/{share.pk}/", {"result": "a\x00b"}).status_code == 302
    )
    assert (
        client.post(f"/incidents/{dispatched.pk}/parts/{share.pk}/", {"result": "x" * 5000}).status_code
        == 302
    )
    assert snapshot() == before


def test_the_api_doors_of_parts_and_rejections(
    api_client, dispatched, make_incident, county_dispatcher, justice_officer, officer, far_officer
):
    share = dispatched.assignments.get(department=justice_officer.department)
    url = f"/api/incidents/{dispatched.pk}/record-part/"
    other = make_incident()
    before = snapshot()
    api_client.force_authenticate(far_officer)
    assert api_client.post(url, {"share": share.pk, "result": "x"}, format="json").status_code == 404
    api_client.force_authenticate(officer)  # the lead unit's staff: another unit's share is out of sight
    assert api_client.post(url, {"share": share.pk, "result": "x"}, format="json").status_code == 404
    api_client.force_authenticate(county_dispatcher)  # no incident.handle
    assert api_client.post(url, {"share": share.pk, "result": "x"}, format="json").status_code == 403
    api_client.force_authenticate(justice_officer)
    for body in ({}, {"share": "x", "result": "y"}, {"share": share.pk}, {"share": 2**40, "result": "y"}):
        assert api_client.post(url, body, format="json").status_code == 400, body
    assert (
        api_client.post(
            f"/api/incidents/{other.pk}/record-part/", {"share": share.pk, "result": "x"}, format="json"
        ).status_code
        == 404
    )
    assert snapshot() == before
    answer = api_client.post(url, {"share": share.pk, "result": "协助完成"}, format="json")
    assert answer.status_code == 200
    body = answer.json()
    assert {(s["part"], s["state"]) for s in body["shares"]} >= {("assist", "done"), ("lead", "open")}
    assert body["events"][-1]["kind"] == "part" and body["events"][-1]["note"] == "协助完成"
    # 不予立案 through the API: the reason is required; the role must be the centre's.
    api_client.force_authenticate(county_dispatcher)
    assert (
        api_client.post(f"/api/incidents/{other.pk}/reject/", {"note": ""}, format="json").status_code == 400
    )
    api_client.force_authenticate(justice_officer)
    assert (
        api_client.post(f"/api/incidents/{other.pk}/reject/", {"note": "x"}, format="json").status_code == 403
    )
    api_client.force_authenticate(county_dispatcher)
    answer = api_client.post(f"/api/incidents/{other.pk}/reject/", {"note": "不属于受理范围"}, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "rejected"


def test_lists_and_exports_name_the_lead_department(client, dispatched, county_dispatcher, officer, housing):
    client.force_login(county_dispatcher)
    text = b"".join(client.get("/incidents/", {"export": "csv"}).streaming_content).decode("utf-8-sig")
    assert housing.name in text
    client.force_login(officer)  # a department's staff: their list is their department's work
    assert [i.pk for i in client.get("/incidents/").context["object_list"]] == [dispatched.pk]
    assert client.get(f"/incidents/{dispatched.pk}/").status_code == 200


def test_an_open311_request_declined_or_led_by_a_department_reads_as_such(
    client, category, home_grid, county_dispatcher, housing
):
    from incidents.models import Open311Client
    from tests.incidents.test_open311 import BASE, request_body

    api_key = Open311Client.objects.create(name="12345 热线").api_key

    def post(**extra) -> int:
        response = client.post(f"{BASE}requests.json", request_body(api_key, home_grid, **extra))
        return int(response.json()[0]["service_request_id"])

    declined, led = post(), post(description="另一处违建")
    workflow.reject_incident(actor=county_dispatcher, incident_id=declined, note="非受理范围")
    [row] = client.get(f"{BASE}requests/{declined}.json").json()
    assert row["status"] == "closed" and row["status_notes"] == "不予立案"  # the status, not the reason
    closed = client.get(f"{BASE}requests.json", {"status": "closed"}).json()
    assert declined in [int(r["service_request_id"]) for r in closed]
    workflow.register_incident(actor=county_dispatcher, incident_id=led)
    workflow.dispatch_incident(actor=county_dispatcher, incident_id=led, handling_department=housing)
    [row] = client.get(f"{BASE}requests/{led}.json").json()
    assert row["status"] == "open" and row["agency_responsible"] == housing.name


def test_departments_are_recorded_by_the_centre_inside_its_jurisdiction(
    county_dispatcher, officer, admin_web
):
    from incidents.services.units import department_create, department_update

    township = region(TOWNSHIP)
    made = department_create(
        actor=county_dispatcher,
        code="520402005-veterans",
        name="东关街道退役军人服务站",
        kind="other",
        region=township,
    )
    assert made in Department.objects.visible_to(county_dispatcher)
    before = snapshot(), Department.objects.count()
    village = Region.objects.filter(parent=township).order_by("code").first()
    attempts = [
        (
            county_dispatcher,
            {"code": "x-1", "name": "村级", "kind": "other", "region": village},
            ValidationError,
        ),
        (
            county_dispatcher,
            {"code": made.code, "name": "重复", "kind": "other", "region": township},
            ValidationError,
        ),
        (
            county_dispatcher,
            {"code": "x-2", "name": "越界", "kind": "other", "region": region(FAR_COUNTY)},
            Invalid,
        ),
        (
            county_dispatcher,
            {"code": "x-3", "name": "上级", "kind": "other", "region": region("5204")},
            Invalid,
        ),
        (
            county_dispatcher,
            {"code": "x\x00", "name": "坏", "kind": "other", "region": township},
            ValidationError,
        ),
        (
            county_dispatcher,
            {"code": "x-4", "name": "坏", "kind": "bogus", "region": township},
            ValidationError,
        ),
        (officer, {"code": "x-5", "name": "无权", "kind": "other", "region": township}, NotPermitted),
    ]
    for actor, arguments, refusal in attempts:
        with pytest.raises(refusal):
            department_create(actor=actor, **arguments)
    far = user_for_role(Role.DISPATCHER, region=region(FAR_COUNTY))
    with pytest.raises(NotFound):
        department_update(actor=far, department=made, name="改名", kind="other", region=township)
    assert (snapshot(), Department.objects.count()) == before
    department_update(
        actor=county_dispatcher,
        department=made,
        name=made.name,
        kind="other",
        region=township,
        is_active=False,
    )
    assert made not in selectors.departments_visible_to(actor=county_dispatcher)
    # The admin door: through the same commands; a village is a form error; never deleted.
    add = reverse("admin:incidents_department_add")
    response = admin_web.post(add, {"code": "x-6", "name": "村级", "kind": "other", "region": village.pk})
    assert response.status_code == 200 and not Department.objects.filter(code="x-6").exists()
    response = admin_web.post(
        add, {"code": "x-7", "name": "东关街道应急办", "kind": "other", "region": township.pk}
    )
    assert response.status_code == 302 and Department.objects.filter(code="x-7", region=township).exists()
    change = reverse("admin:incidents_department_change", args=[made.pk])
    assert (
        admin_web.post(
            change,
            {"name": "东关街道退役军人服务站", "kind": "other", "region": township.pk, "is_active": "on"},
        ).status_code
        == 302
    )
    assert Department.objects.get(pk=made.pk).is_active
    assert (
        admin_web.post(
            reverse("admin:incidents_department_delete", args=[made.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
