"""回访 (issue #16): after 结案 the centre records a callback through one command, from the page
and the API alike; a dissatisfied one may reopen the case (the unit is told, the timeline says
so); refusals write nothing; the per-case satisfaction is rolled up with the surveys' counting
rule and Wilson interval, incrementally and idempotently, and shown on the dashboard."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from accounts.roles import Role
from anshun.commands import NotFound, NotPermitted
from grids.models import Region
from incidents.callback_selectors import callback_tiles, satisfaction_counts, satisfaction_rate
from incidents.models import (
    Incident,
    IncidentAssignment,
    IncidentCallback,
    IncidentEvent,
    Notification,
)
from incidents.services import workflow
from incidents.services.callbacks import record_callback
from rollups.services import fold
from surveys.stats import wilson_interval
from tests.factories import api_token_for, user_for_role

pytestmark = pytest.mark.django_db

S = Incident.Status


@pytest.fixture
def head(home_office):
    return user_for_role(Role.GRID_OFFICE_HEAD, office=home_office)


@pytest.fixture
def close_one(make_incident, dispatcher, worker, head):
    def make() -> Incident:
        incident = make_incident()
        workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
        workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
        workflow.take_incident(actor=worker, incident_id=incident.pk)
        workflow.report_handled(actor=worker, incident_id=incident.pk, note="已清理")
        workflow.verify_incident(actor=head, incident_id=incident.pk)
        workflow.close_incident(actor=dispatcher, incident_id=incident.pk)
        return Incident.objects.get(pk=incident.pk)

    return make


def written():
    return (
        IncidentCallback.objects.count(),
        IncidentEvent.objects.count(),
        list(Incident.objects.order_by("pk").values_list("status", "version")),
        list(IncidentAssignment.objects.order_by("pk").values_list("state")),
    )


def test_a_dissatisfied_callback_reopens_the_case_and_tells_the_unit(close_one, dispatcher, worker):
    incident = close_one()
    record_callback(
        actor=dispatcher,
        incident_id=incident.pk,
        reached=True,
        satisfaction="dissatisfied",
        comment="垃圾又堆起来了",
        reopen=True,
    )
    incident.refresh_from_db()
    assert (incident.status, incident.closed_at) == (S.HANDLING, None)
    assert incident.due_at is not None and incident.handler == worker
    lead = IncidentAssignment.objects.get(incident=incident, part="lead")
    assert lead.state == IncidentAssignment.State.OPEN
    event = IncidentEvent.objects.filter(incident=incident).last()
    assert (event.from_status, event.to_status, event.note) == (S.CLOSED, S.HANDLING, "垃圾又堆起来了")
    with translation.override("zh-hans"):
        assert "回访：不满意 · 已重新启动办理" in event.change_lines()
    with translation.override("en"):
        assert "Callback: Dissatisfied · case reopened" in event.change_lines()
    told = Notification.objects.get(recipient=worker, kind=Notification.Kind.CALLBACK_REOPENED)
    assert told.params["note"] == "垃圾又堆起来了"
    # Handled again, it goes the usual way.
    workflow.report_handled(actor=worker, incident_id=incident.pk, note="已清运")
    assert Incident.objects.get(pk=incident.pk).status == S.HANDLED


def test_a_callback_without_reopening_only_records_it(close_one, dispatcher):
    incident = close_one()
    record_callback(actor=dispatcher, incident_id=incident.pk, reached=False)
    record_callback(actor=dispatcher, incident_id=incident.pk, reached=True, satisfaction="dissatisfied")
    incident.refresh_from_db()
    assert incident.status == S.CLOSED and incident.closed_at is not None
    assert IncidentEvent.objects.filter(incident=incident, kind="callback").count() == 2


@pytest.mark.parametrize(
    "arguments, field",
    [
        ({"reached": True}, "satisfaction"),
        ({"reached": True, "satisfaction": "meh"}, "satisfaction"),
        ({"reached": False, "satisfaction": "satisfied"}, "satisfaction"),
        ({"reached": True, "satisfaction": "satisfied", "reopen": True}, "reopen"),
        ({"reached": False, "reopen": True}, "reopen"),
        ({"reached": True, "satisfaction": "basic", "comment": "a\x00b"}, "comment"),
    ],
)
def test_bad_answers_are_field_errors_and_write_nothing(close_one, dispatcher, arguments, field):
    incident = close_one()
    before = written()
    with pytest.raises(ValidationError) as refused:
        record_callback(actor=dispatcher, incident_id=incident.pk, **arguments)
    assert field in refused.value.message_dict
    assert written() == before


def test_only_a_closed_case_gets_a_callback(make_incident, dispatcher):
    incident = make_incident()
    before = written()
    with pytest.raises(ValidationError) as refused:
        record_callback(actor=dispatcher, incident_id=incident.pk, reached=True, satisfaction="satisfied")
    assert "status" in refused.value.message_dict and written() == before


def test_every_door_refuses_a_role_without_the_capability_and_an_actor_out_of_sight(
    close_one, client, worker, head
):
    incident = close_one()
    far = user_for_role(Role.DISPATCHER, region=Region.objects.get(code="520425"))
    before = written()
    with pytest.raises(NotPermitted):
        record_callback(actor=worker, incident_id=incident.pk, reached=False)
    with pytest.raises(NotFound):
        record_callback(actor=far, incident_id=incident.pk, reached=False)
    # The page: the button is not offered, and a forged post changes nothing.
    client.force_login(head)
    assert 'data-testid="callback-form"' not in client.get(f"/incidents/{incident.pk}/").content.decode()
    client.post(reverse("incidents:callback", args=[incident.pk]), {"reached": "no"})
    client.force_login(far)
    forged = client.post(reverse("incidents:callback", args=[incident.pk]), {"reached": "no"})
    assert forged.status_code == 404
    # The API (by token, as programs call it).
    client.logout()
    for user, status in ((worker, 403), (far, 404)):
        token = api_token_for(user)
        response = client.post(
            "/api/incident-callbacks/",
            {"incident": incident.pk, "reached": False},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
        )
        assert response.status_code == status, (user.role, response.content)
    assert written() == before


def test_the_page_and_the_api_record_through_the_same_command(close_one, client, dispatcher):
    first, second = close_one(), close_one()
    client.force_login(dispatcher)
    page = client.get(f"/incidents/{first.pk}/").content.decode()
    assert 'data-testid="callback-form"' in page
    response = client.post(
        reverse("incidents:callback", args=[first.pk]),
        {"reached": "yes", "satisfaction": "basic", "comment": "还行"},
    )
    assert response.status_code == 302
    assert IncidentCallback.objects.get(incident=first).satisfaction == "basic"
    client.logout()
    token = api_token_for(dispatcher)
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    bad = client.post(
        "/api/incident-callbacks/",
        {"incident": second.pk, "reached": True, "satisfaction": "satisfied", "reopen": True},
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 400 and "reopen" in bad.json()
    good = client.post(
        "/api/incident-callbacks/",
        {"incident": second.pk, "reached": True, "satisfaction": "dissatisfied", "reopen": True},
        content_type="application/json",
        **auth,
    )
    assert good.status_code == 201 and good.json()["reopened"] is True
    assert Incident.objects.get(pk=second.pk).status == S.HANDLING
    listed = client.get("/api/incident-callbacks/", **auth).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert {row["incident"] for row in rows} == {first.pk, second.pk}


def test_satisfaction_is_rolled_up_per_case_with_the_surveys_rule_and_interval(close_one, dispatcher):
    cases = [close_one() for _i in range(4)]
    answers = ["satisfied", "basic", "dissatisfied", "satisfied"]
    for incident, answer in zip(cases, answers, strict=True):
        record_callback(actor=dispatcher, incident_id=incident.pk, reached=True, satisfaction=answer)
    # Not reached: not in the denominator. A later callback replaces the case's earlier answer.
    record_callback(actor=dispatcher, incident_id=cases[3].pk, reached=False)
    record_callback(actor=dispatcher, incident_id=cases[2].pk, reached=True, satisfaction="basic")
    fold()
    fold()  # a repeated fold counts nothing twice
    county = user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code="520402"))
    region = Region.objects.get(code="520402")
    rolled = satisfaction_counts(actor=county, region=region)
    assert rolled == satisfaction_counts(actor=county, region=region, raw=True)
    assert rolled == {"satisfied": 2, "basic": 2}
    rate = satisfaction_rate(rolled)
    low, high = wilson_interval(4, 4)
    assert (rate.numerator, rate.denominator, rate.rate) == (4, 4, 100.0)
    assert (rate.ci_low, rate.ci_high) == (100 * low, 100 * high)
    # Incremental: one more callback, one more fold.
    record_callback(actor=dispatcher, incident_id=cases[0].pk, reached=True, satisfaction="dissatisfied")
    fold()
    assert satisfaction_counts(actor=county, region=region) == {"satisfied": 1, "basic": 2, "dissatisfied": 1}
    tile = callback_tiles(actor=county, region=region)[0]
    assert tile.value == 75.0 and tile.extra["n"] == 4
    # Outside the jurisdiction: nothing.
    far = user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code="520425"))
    assert satisfaction_counts(actor=far, region=Region.objects.get(code="520425")) == {}


def test_the_dashboard_shows_the_callback_rate_beside_the_survey_rates(close_one, client, dispatcher):
    incident = close_one()
    record_callback(actor=dispatcher, incident_id=incident.pk, reached=True, satisfaction="satisfied")
    official = user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code="520402"))
    client.force_login(official)
    page = client.get(reverse("surveys:dashboard") + "?region=520402").content.decode()
    tile = page.index('data-testid="tile-incidents.callback_satisfaction"')
    assert "回访满意率" in page[tile : tile + 600] and "100.00%" in page[tile : tile + 600]
    assert tile < page.index('data-testid="tile-surveys.satisfaction"')


def test_the_callback_list_costs_the_same_queries_whatever_its_length(close_one, client, dispatcher):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    token = api_token_for(dispatcher)
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}

    def listed() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/incident-callbacks/", **auth).status_code == 200
        return len(queries)

    record_callback(actor=dispatcher, incident_id=close_one().pk, reached=False)
    listed()  # the token's first use is recorded once; the lists after it are what is compared
    few = listed()
    for _i in range(4):
        record_callback(actor=dispatcher, incident_id=close_one().pk, reached=True, satisfaction="basic")
    assert listed() == few


def test_the_admin_shows_callbacks_and_deliveries_read_only(close_one, client, dispatcher):
    incident = close_one()
    record_callback(actor=dispatcher, incident_id=incident.pk, reached=True, satisfaction="satisfied")
    callback = IncidentCallback.objects.get()
    client.force_login(user_for_role(Role.ADMIN))
    listed = client.get("/admin/incidents/incidentcallback/")
    assert (
        listed.status_code == 200
        and f"/admin/incidents/incidentcallback/{callback.pk}/" in listed.content.decode()
    )
    assert client.get("/admin/incidents/notificationdelivery/").status_code == 200
    assert client.post("/admin/incidents/incidentcallback/add/", {}).status_code == 403
    deleted = client.post(f"/admin/incidents/incidentcallback/{callback.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403 and IncidentCallback.objects.count() == 1
