"""Likely duplicates at intake and 并案 (merge) by the dispatcher, through every door.

The rule (incidents.services.duplicates.RULE), the scoped intake check and its JSON endpoint,
the merge command's policy and domain checks (as an attacker: another township's dispatcher,
a grid worker of another office, a role without the capability, anonymous), the page, the API,
the admin, the sync feed and a sync client's late update, and query counts."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.roles import Role
from anshun.commands import Conflict, Invalid, NotFound, NotPermitted
from grids.models import GridOffice, Region
from incidents.models import (
    Incident,
    IncidentCategory,
    IncidentEvent,
    Notification,
    Open311Client,
    Open311Request,
)
from incidents.notifications import render
from incidents.services.duplicates import RULE, candidates_at, candidates_for
from incidents.services.editing import update_incident
from incidents.services.merge import merge_incident
from incidents.services.reporting import report_incident, report_open311_request
from incidents.services.workflow import register_incident, reject_incident
from tests.factories import user_for_role
from tests.incidents.conftest import HOME_OFFICE_PREFIX, let_the_feed_see_this_test, point_in

pytestmark = pytest.mark.django_db
S = Incident.Status
DUPLICATES = "/api/incidents/duplicates/"


def shifted(point: Point, *, north_m: float = 0, east_m: float = 0) -> Point:
    """A point ``north_m``/``east_m`` metres from ``point`` (Anshun is at about 26°N)."""
    return Point(point.x + east_m / 100_000, point.y + north_m / 111_000, srid=4326)


def place(incident: Incident, point: Point) -> Incident:
    """Test set-up: put an incident at an exact spot inside its grid's neighbourhood."""
    Incident.objects.filter(pk=incident.pk).update(location=point)
    incident.refresh_from_db()
    return incident


@pytest.fixture
def spot(home_grid):
    return point_in(home_grid)


@pytest.fixture
def other_township():
    """Another township of the same county, with a grid office of its own."""
    office = (
        GridOffice.objects.filter(seat__code__startswith="520402", grids__isnull=False)
        .exclude(seat__code__startswith=HOME_OFFICE_PREFIX)
        .order_by("code")
        .first()
    )
    return office.seat.parent, office


def ids(candidates) -> list[int]:
    return [c.pk if isinstance(c, Incident) else c.id for c in candidates]


# --- the rule ---------------------------------------------------------------------------------


def test_the_rule_finds_same_category_nearby_and_recent_only(worker, category, make_incident, spot):
    now = timezone.now()
    near = place(make_incident(description="垃圾堆"), shifted(spot, north_m=120))
    place(make_incident(description="远处垃圾"), shifted(spot, north_m=RULE.radius_m + 60))
    other_category = IncidentCategory.objects.exclude(pk=category.pk).filter(is_active=True).first()
    place(make_incident(category=other_category), spot)
    place(make_incident(reported_at=now - RULE.window - timedelta(hours=1)), spot)
    rejected = make_incident()
    register_incident(actor=user_for_role(Role.DISPATCHER), incident_id=rejected.pk)
    Incident.objects.filter(pk=rejected.pk).update(status=S.VOIDED)
    closed_long_ago = make_incident()
    Incident.objects.filter(pk=closed_long_ago.pk).update(
        status=S.CLOSED, closed_at=now - RULE.closed_within - timedelta(hours=1)
    )
    closed_lately = make_incident()
    Incident.objects.filter(pk=closed_lately.pk).update(status=S.CLOSED, closed_at=now - timedelta(hours=5))
    deleted = make_incident()
    Incident.objects.filter(pk=deleted.pk).update(deleted_at=now)

    found = list(candidates_at(actor=worker, category=category, location=spot))

    assert ids(found) == [closed_lately.pk, near.pk]  # nearest first
    assert 110 < found[1].distance_m < 130  # metres on the ground, not degrees


def test_the_answer_stops_at_the_rules_limit(worker, category, make_incident, spot):
    for _ in range(RULE.limit + 2):
        make_incident()
    assert len(candidates_at(actor=worker, category=category, location=spot)) == RULE.limit


def test_an_actor_who_sees_nothing_is_told_nothing(category, make_incident, spot):
    from django.contrib.auth.models import AnonymousUser

    make_incident()
    assert candidates_at(actor=AnonymousUser(), category=category, location=spot) == []
    assert candidates_for(actor=AnonymousUser(), incidents=list(Incident.objects.all())) == {}


def test_a_grid_worker_of_another_office_is_told_nothing_of_them(other_office, category, make_incident, spot):
    make_incident()
    stranger = user_for_role(Role.GRID_WORKER, office=other_office)
    assert list(candidates_at(actor=stranger, category=category, location=spot)) == []


# --- the JSON endpoint for the report form ---------------------------------------------------


def ask(api_client, user, category, point):
    if user is not None:
        api_client.force_authenticate(user)
    return api_client.get(DUPLICATES, {"category": category.code, "longitude": point.x, "latitude": point.y})


def test_the_report_form_gets_the_candidates_with_links(api_client, worker, category, make_incident, spot):
    first = make_incident(description="河边垃圾堆放多日")
    response = ask(api_client, worker, category, spot)
    assert response.status_code == 200
    body = response.json()
    assert body["rule"] == {"radius_m": 300.0, "days": 7, "closed_within_days": 3}
    [candidate] = body["results"]
    assert candidate["id"] == first.pk and candidate["url"] == f"/incidents/{first.pk}/"
    assert candidate["description"] == "河边垃圾堆放多日" and candidate["status"] == "reported"
    assert candidate["distance_m"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"category": "exposed-rubbish", "longitude": "105.9"},
        {"category": "no-such-thing", "longitude": "105.9", "latitude": "26.2"},
        {"category": "exposed-rubbish", "longitude": "NaN", "latitude": "26.2"},
        {"category": "exposed-rubbish", "longitude": "181", "latitude": "26.2"},
        {"category": "exposed\x00", "longitude": "105.9", "latitude": "26.2"},
    ],
)
def test_bad_questions_are_field_errors(api_client, worker, params):
    api_client.force_authenticate(worker)
    response = api_client.get(DUPLICATES, params)
    assert response.status_code == 400
    assert isinstance(response.json(), dict)


def test_out_of_sight_incidents_are_neither_named_nor_counted(
    api_client, category, make_incident, spot, other_office, other_township
):
    make_incident()
    township, office = other_township
    for stranger in (
        user_for_role(Role.GRID_WORKER, office=other_office),
        user_for_role(Role.DISPATCHER, region=township),
        user_for_role(Role.GRID_WORKER, office=office),
    ):
        api_client.force_authenticate(stranger)
        response = ask(api_client, stranger, category, spot)
        assert response.status_code == 200
        assert response.json()["results"] == []
    api_client.force_authenticate(None)
    assert ask(api_client, None, category, spot).status_code in (401, 403)


def test_the_endpoint_costs_the_same_for_one_candidate_or_five(
    api_client, worker, category, make_incident, spot
):
    make_incident()
    api_client.force_authenticate(worker)
    ask(api_client, worker, category, spot)  # warm: session, role caches
    with CaptureQueriesContext(connection) as one:
        assert len(ask(api_client, worker, category, spot).json()["results"]) == 1
    for _ in range(4):
        make_incident()
    with CaptureQueriesContext(connection) as five:
        assert len(ask(api_client, worker, category, spot).json()["results"]) == 5
    assert len(one) == len(five) <= 4


# --- merge: the service and its policy -------------------------------------------------------


@pytest.fixture
def pair(make_incident, spot):
    """A first report and a later duplicate of it, at the same spot."""
    first = make_incident(description="路边垃圾堆放")
    second = place(make_incident(description="同一处垃圾又被上报"), shifted(spot, east_m=40))
    return first, second


def test_a_merge_links_the_report_to_the_case_that_carries_on(dispatcher, worker, pair, other_office):
    first, second = pair
    first_version = first.version

    merged = merge_incident(actor=dispatcher, incident_id=second.pk, into=first, note="同一堆垃圾")

    first.refresh_from_db()
    assert merged.status == S.MERGED and merged.merged_into == first and merged.due_at is None
    assert merged.reporter == worker  # the report keeps its reporter, photos and timeline
    assert first.status == S.REPORTED and first.version == first_version + 1
    assert list(first.merged_reports.all()) == [merged]
    [on_duplicate] = merged.events.filter(to_status=S.MERGED)
    assert on_duplicate.changes == {"merged_into": first.pk} and on_duplicate.note == "同一堆垃圾"
    assert first.events.filter(changes__merged=merged.pk).count() == 1
    # The reporter's grid office follows the case its report became.
    assert first.offices.filter(pk=merged.grid.office_id).exists()
    assert list(candidates_for(actor=dispatcher, incidents=[first]).get(first.pk, [])) == []
    # The reporter is told which case their report became, in their language when read.
    [told] = Notification.objects.filter(recipient=worker, kind=Notification.Kind.MERGED)
    with translation.override("zh-hans"):
        assert (
            render(told)
            == f"您上报的事件 #{merged.pk}（{merged.category.label}）已并入事件 #{first.pk} 办理。"
        )
    with translation.override("en"):
        assert render(told).endswith(f"was merged into case #{first.pk}.")


def test_a_retry_of_the_same_merge_changes_nothing(dispatcher, pair):
    first, second = pair
    merge_incident(actor=dispatcher, incident_id=second.pk, into=first)
    events, version = IncidentEvent.objects.count(), Incident.objects.get(pk=second.pk).version
    again = merge_incident(actor=dispatcher, incident_id=second.pk, into=first)
    assert again.merged_into_id == first.pk and again.version == version
    assert IncidentEvent.objects.count() == events


def test_the_pairs_own_facts_are_checked(dispatcher, pair, make_incident):
    first, second = pair
    with pytest.raises(Invalid) as refused:
        merge_incident(actor=dispatcher, incident_id=first.pk, into=first)
    assert "into" in refused.value.message_dict
    third = make_incident()
    merge_incident(actor=dispatcher, incident_id=second.pk, into=first)
    with pytest.raises(Conflict):  # already merged elsewhere
        merge_incident(actor=dispatcher, incident_id=second.pk, into=third)
    with pytest.raises(Conflict):  # a merged report cannot take others in
        merge_incident(actor=dispatcher, incident_id=third.pk, into=second)
    reject_incident(actor=dispatcher, incident_id=third.pk, note="不属实")
    with pytest.raises(Conflict):
        merge_incident(actor=dispatcher, incident_id=first.pk, into=third)
    with pytest.raises(NotPermitted):  # the rule's condition: a declined report is no case
        merge_incident(actor=dispatcher, incident_id=third.pk, into=first)


def test_incidents_of_two_townships_are_not_merged(category, pair, other_township):
    first, _second = pair
    township, office = other_township
    elsewhere = report_incident(
        actor=user_for_role(Role.GRID_WORKER, office=office),
        category=category,
        description="另一乡镇的垃圾",
        location=point_in(office.grids.order_by("code").first()),
    )[0]
    county_dispatcher = user_for_role(Role.DISPATCHER, region=Region.objects.get(code="520402"))
    with pytest.raises(Invalid) as refused:
        merge_incident(actor=county_dispatcher, incident_id=elsewhere.pk, into=first)
    assert "into" in refused.value.message_dict
    assert Incident.objects.get(pk=elsewhere.pk).status == S.REPORTED


def test_attackers_change_nothing(pair, other_office, other_township, worker):
    first, second = pair
    township, _office = other_township
    before = list(Incident.objects.order_by("pk").values_list("pk", "status", "version"))
    with pytest.raises(NotFound):  # another township's dispatcher: the target is not there
        merge_incident(
            actor=user_for_role(Role.DISPATCHER, region=township), incident_id=second.pk, into=first
        )
    for no_capability in (worker, user_for_role(Role.GRID_WORKER, office=other_office), None):
        with pytest.raises(NotPermitted):
            merge_incident(actor=no_capability, incident_id=second.pk, into=first)
    assert list(Incident.objects.order_by("pk").values_list("pk", "status", "version")) == before


def test_a_case_out_of_sight_is_a_field_error_not_a_hint(category, pair, other_township):
    _first, second = pair
    township, office = other_township
    hidden = report_incident(
        actor=user_for_role(Role.GRID_WORKER, office=office),
        category=category,
        description="看不见的事件",
        location=point_in(office.grids.order_by("code").first()),
    )[0]
    home_dispatcher = user_for_role(Role.DISPATCHER)
    answers = []
    for into in (hidden, Incident()):  # out of sight, and no such incident: one answer
        with pytest.raises(Invalid) as refused:
            merge_incident(actor=home_dispatcher, incident_id=second.pk, into=into)
        answers.append(refused.value.message_dict)
    assert answers[0] == answers[1] == {"into": [gettext("Not found in your jurisdiction.")]}


def test_an_open311_reporter_is_told_through_the_reporter_path(
    client, dispatcher, make_incident, spot, category, django_capture_on_commit_callbacks, caplog
):
    first = make_incident()
    relay = Open311Client.objects.create(name="12345 热线")
    relayed, _created = report_open311_request(
        client=relay,
        category=category,
        description="市民反映垃圾",
        location=spot,
        contact={"phone": "13800000000"},
    )
    with django_capture_on_commit_callbacks() as queued:
        merge_incident(actor=dispatcher, incident_id=relayed.pk, into=first)
    assert len(queued) == 1  # tell_open311_reporter, after the commit
    from incidents.open311_notify import tell_reporter

    with caplog.at_level(logging.INFO, logger="incidents.open311"):
        assert tell_reporter(incident_id=relayed.pk) is True
    assert Open311Request.objects.get(pk=relayed.pk).notified_status == S.MERGED
    assert "13800000000" not in caplog.text and "已并案" in caplog.text
    public = client.get(f"/open311/v2/requests/{relayed.pk}.json").json()
    assert public[0]["status"] == "closed" and public[0]["status_notes"] == "已并案"


# --- doors: the API, the page, the admin, sync ------------------------------------------------


def test_the_api_merges_and_answers_refusals_in_its_own_codes(api_client, dispatcher, pair, make_incident):
    first, second = pair
    url = f"/api/incidents/{second.pk}/merge/"
    api_client.force_authenticate(dispatcher)
    assert api_client.post(url, {"into": "x"}, format="json").status_code == 400
    assert api_client.post(url, {"into": 2**62}, format="json").json() == {
        "into": [gettext("Not found in your jurisdiction.")]
    }
    response = api_client.post(url, {"into": first.pk, "note": "重复上报"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "merged" and response.json()["merged_into"] == first.pk
    assert api_client.post(url, {"into": first.pk}, format="json").status_code == 200  # a retry
    third = make_incident()
    conflict = api_client.post(url, {"into": third.pk}, format="json")
    assert conflict.status_code == 409 and "status" in conflict.json()


def test_the_api_refuses_attackers_before_reading_the_body(api_client, pair, worker, other_township):
    first, second = pair
    url = f"/api/incidents/{second.pk}/merge/"
    api_client.force_authenticate(worker)
    assert api_client.post(url, {"into": first.pk}, format="json").status_code == 403
    api_client.force_authenticate(user_for_role(Role.DISPATCHER, region=other_township[0]))
    assert api_client.post(url, {"into": first.pk}, format="json").status_code == 404
    api_client.force_authenticate(None)
    assert api_client.post(url, {"into": first.pk}, format="json").status_code in (401, 403)
    assert Incident.objects.get(pk=second.pk).status == S.REPORTED


def test_the_dispatcher_sees_the_duplicates_of_an_incident_through_the_api(api_client, dispatcher, pair):
    first, second = pair
    api_client.force_authenticate(dispatcher)
    response = api_client.get(f"/api/incidents/{second.pk}/duplicates/")
    assert [c["id"] for c in response.json()["results"]] == [first.pk]


def test_the_page_merges_and_shows_both_sides(client, dispatcher, worker, pair):
    first, second = pair
    client.force_login(dispatcher)
    page = client.get(f"/incidents/{second.pk}/")
    assert b'data-testid="possible-duplicates"' in page.content
    assert f'data-into="{first.pk}"'.encode() in page.content
    response = client.post(
        f"/incidents/{second.pk}/merge/", {"into": str(first.pk), "version": second.version}
    )
    assert response.status_code == 302
    assert Incident.objects.get(pk=second.pk).status == S.MERGED
    merged_page = client.get(f"/incidents/{second.pk}/")
    assert b'data-testid="merged-into"' in merged_page.content
    assert b'data-action="merge"' not in merged_page.content
    case_page = client.get(f"/incidents/{first.pk}/").content.decode()
    assert 'data-testid="merged-reports"' in case_page and worker.username in case_page
    # A bad number is a message on the page, not an error page.
    third_response = client.post(f"/incidents/{first.pk}/merge/", {"into": "１２"}, follow=True)
    assert third_response.status_code == 200
    assert Incident.objects.get(pk=first.pk).status == S.REPORTED


def test_the_page_refuses_attackers(client, pair, worker, other_township):
    first, second = pair
    client.force_login(worker)
    page = client.get(f"/incidents/{second.pk}/")
    assert b'data-testid="possible-duplicates"' not in page.content  # the dispatcher's view only
    client.post(f"/incidents/{second.pk}/merge/", {"into": str(first.pk)})
    client.force_login(user_for_role(Role.DISPATCHER, region=other_township[0]))
    assert client.post(f"/incidents/{second.pk}/merge/", {"into": str(first.pk)}).status_code == 404
    client.logout()
    assert client.post(f"/incidents/{second.pk}/merge/", {"into": str(first.pk)}).status_code == 302  # login
    assert Incident.objects.get(pk=second.pk).status == S.REPORTED


def test_the_admin_cannot_merge_by_hand(client, pair):
    _first, second = pair
    admin = user_for_role(Role.ADMIN)
    client.force_login(admin)
    url = f"/admin/incidents/incident/{second.pk}/change/"
    client.post(url, {"status": "merged", "merged_into": str(_first.pk)})
    assert Incident.objects.get(pk=second.pk).status == S.REPORTED


def test_sync_shows_the_merge_and_a_late_update_is_a_409(api_client, dispatcher, worker, pair):
    first, second = pair
    merge_incident(actor=dispatcher, incident_id=second.pk, into=first)
    let_the_feed_see_this_test()
    api_client.force_authenticate(worker)
    feed = api_client.get("/api/incidents/sync/", {"page_size": 1000}).json()["results"]
    entry = next(e for e in feed if e["id"] == second.pk)
    assert entry["status"] == "merged" and entry["merged_into"] == first.pk
    # The worker's phone still holds the report and sends a change: a clear 409, not a 500.
    response = api_client.patch(
        f"/api/incidents/{second.pk}/", {"description": "补充说明"}, format="json", HTTP_IF_MATCH="*"
    )
    assert response.status_code == 409
    assert f"#{first.pk}" in response.json()["status"][0]
    with pytest.raises(Conflict):
        update_incident(actor=worker, incident_id=second.pk, description="补充说明")
    step = api_client.post(f"/api/incidents/{second.pk}/register/", {}, format="json")
    api_client.force_authenticate(dispatcher)
    step = api_client.post(f"/api/incidents/{second.pk}/register/", {}, format="json")
    assert step.status_code == 400 and "status" in step.json()


# --- the dispatcher's queue -------------------------------------------------------------------


def test_the_queue_shows_possible_duplicates_at_a_constant_cost(client, dispatcher, make_incident, spot):
    client.force_login(dispatcher)
    first = make_incident()
    second = make_incident()
    client.get("/incidents/queue/")  # warm
    with CaptureQueriesContext(connection) as few:
        page = client.get("/incidents/queue/").content.decode()
    assert page.count('data-testid="possible-duplicates"') == 2
    assert f'data-id="{first.pk}"' in page and f'data-id="{second.pk}"' in page
    for _ in range(4):
        make_incident()
    with CaptureQueriesContext(connection) as more:
        page = client.get("/incidents/queue/").content.decode()
    assert page.count('data-testid="possible-duplicates"') == 6
    assert len(few) == len(more)
