"""What a client of the incidents API may rely on, tried as a retrying outbox and as an attacker:
idempotent retries (IETF Idempotency-Key draft / Stripe), If-Match required for changes, ETags
per representation with If-None-Match, and strict input types. Each refusal writes nothing."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from grids.models import Region
from incidents.models import Incident, IncidentEvent
from incidents.services.editing import delete_incident
from incidents.services.workflow import dispatch_incident, register_incident
from tests.factories import user_for_role
from tests.incidents.conftest import OTHER_COUNTY, point_in
from tests.incidents.test_api import payload

pytestmark = pytest.mark.django_db

LIST = "/api/incidents/"
BULK = "/api/incidents/bulk/"


def detail(pk, suffix=""):
    return f"/api/incidents/{pk}/{suffix}"


@pytest.fixture
def as_worker(api_client, worker):
    api_client.force_authenticate(worker)
    return api_client


def send(client, url, data):
    """POST ``data`` as JSON written by ``json.dumps``, which escapes a lone surrogate as
    ``\\ud800`` (the test client's own renderer cannot encode one at all)."""
    return client.post(url, json.dumps(data), content_type="application/json")


def state():
    return (
        list(Incident.objects.order_by("pk").values_list("pk", "version", "description", "deleted_at")),
        IncidentEvent.objects.count(),
    )


# --- retries -----------------------------------------------------------------------------------


def test_resending_a_report_since_deleted_answers_410_every_time(as_worker, home_grid):
    body = payload(home_grid)
    pk = as_worker.post(LIST, body, format="json").json()["id"]
    delete_incident(actor=user_for_role(Role.ADMIN), incident_id=pk)
    before = state()
    answers = [as_worker.post(LIST, body, format="json") for _ in range(3)]
    assert {a.status_code for a in answers} == {410}
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert answers[0].json()["id"] == pk and "client_uuid" in answers[0].json()
    # The same through a bulk batch, beside a new report that is stored.
    fresh = payload(home_grid)
    results = as_worker.post(BULK, {"items": [body, fresh]}, format="json").json()["results"]
    assert [(r["result"], r["id"] is not None) for r in results] == [("gone", True), ("created", True)]
    assert results[0]["id"] == pk
    assert Incident.objects.count() == 2 and state()[0][0] == before[0][0]


def test_a_deleted_key_used_out_of_sight_answers_as_any_key_used_out_of_sight(
    api_client, make_incident, far_grid
):
    """The 409 for a key used elsewhere says nothing of whose it is, nor whether it was deleted."""
    live, gone = make_incident(), make_incident()
    delete_incident(actor=user_for_role(Role.ADMIN), incident_id=gone.pk)
    outsider = user_for_role(Role.GRID_WORKER, office=far_grid.office)
    api_client.force_authenticate(outsider)
    before = state()
    answers = []
    for incident in (live, gone):
        body = {**payload(far_grid), "client_uuid": str(incident.client_uuid)}
        response = api_client.post(LIST, body, format="json")
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 409 and set(answers[0][1]) == {"client_uuid"}
    text = str(answers[0][1])
    assert str(live.pk) not in text and str(gone.pk) not in text and live.grid.code not in text
    assert state() == before


def test_the_same_key_with_another_report_is_409_and_changes_nothing(as_worker, home_grid, far_grid):
    body = payload(home_grid)
    first = as_worker.post(LIST, body, format="json")
    assert first.status_code == 201
    before = state()
    for change in ({"description": "另一件事"}, {"priority": "urgent"}, {"category": "fire-hazard"}):
        response = as_worker.post(LIST, {**body, **change}, format="json")
        assert response.status_code == 409 and set(response.json()) == {"client_uuid"}, change
    # Another key reused by someone outside, same body: the same answer, word for word.
    outsider = user_for_role(Role.GRID_WORKER, office=far_grid.office)
    as_worker.force_authenticate(outsider)
    elsewhere = as_worker.post(LIST, {**payload(far_grid), "client_uuid": body["client_uuid"]}, format="json")
    assert elsewhere.status_code == 409
    assert elsewhere.json() == as_worker.post(LIST, {**body, "description": "x"}, format="json").json()
    assert state() == before


def test_a_true_retry_answers_as_the_first_did_whatever_its_spelling(as_worker, home_grid):
    body = payload(home_grid, priority="normal", address="")
    first = as_worker.post(LIST, body, format="json").json()
    # Defaults spelled out or left out, a form instead of JSON: the same report.
    bare = {k: v for k, v in body.items() if k not in ("priority", "address")}
    for again in (
        as_worker.post(LIST, bare, format="json"),
        as_worker.post(LIST, body, format="multipart"),
        as_worker.post(LIST, {**body, "client_uuid": body["client_uuid"].upper()}, format="json"),
    ):
        assert again.status_code == 200, again.content
        assert again.json()["id"] == first["id"]
    assert Incident.objects.count() == 1


def test_a_retry_after_an_edit_still_answers_with_the_incident(as_worker, home_grid):
    """The key guards what the client sent, not what the incident became."""
    body = payload(home_grid)
    created = as_worker.post(LIST, body, format="json")
    as_worker.patch(detail(created.json()["id"]), {"description": "更正"}, format="json", HTTP_IF_MATCH="*")
    again = as_worker.post(LIST, body, format="json")
    assert again.status_code == 200 and again.json()["description"] == "更正"


def test_bulk_keys_reused_with_another_report_are_item_errors(as_worker, home_grid):
    stored = payload(home_grid)
    as_worker.post(LIST, stored, format="json")
    twin = payload(home_grid)
    items = [
        {**stored, "description": "不同的内容"},  # a stored key, another report
        twin,
        {**twin, "description": "同批次不同内容"},  # the batch's own key, another report
        dict(twin),  # the batch's own key, the same report
    ]
    results = as_worker.post(BULK, {"items": items}, format="json").json()["results"]
    assert [r["result"] for r in results] == ["error", "created", "error", "duplicate"]
    assert set(results[0]["errors"]) == set(results[2]["errors"]) == {"client_uuid"}
    assert results[3]["id"] == results[1]["id"]
    assert Incident.objects.filter(description__contains="不同").count() == 0


def test_a_replayed_delete_answers_204_again(api_client, make_incident, far_grid):
    incident = make_incident()
    admin = user_for_role(Role.ADMIN)
    api_client.force_authenticate(admin)
    etag = api_client.get(detail(incident.pk))["ETag"]
    first = api_client.delete(detail(incident.pk), HTTP_IF_MATCH=etag)
    assert first.status_code == 204
    version = Incident.objects.get(pk=incident.pk).version
    # The same request again (its If-Match now names an older version), and without If-Match.
    assert api_client.delete(detail(incident.pk), HTTP_IF_MATCH=etag).status_code == 204
    assert api_client.delete(detail(incident.pk)).status_code == 204
    assert Incident.objects.get(pk=incident.pk).version == version
    assert api_client.get(detail(incident.pk)).status_code == 404
    # A replay by someone else learns nothing: the answer of an incident that never was.
    api_client.force_authenticate(
        user_for_role(Role.DISPATCHER, region=Region.objects.get(code=OTHER_COUNTY))
    )
    hidden, missing = api_client.delete(detail(incident.pk)), api_client.delete(detail(10**9))
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())
    assert hidden.status_code in (403, 404)


# --- If-Match and ETags ------------------------------------------------------------------------


def test_a_change_without_if_match_is_428_and_changes_nothing(as_worker, make_incident):
    incident = make_incident()
    before = state()
    for headers in ({}, {"HTTP_IF_MATCH": ""}):
        response = as_worker.patch(detail(incident.pk), {"description": "盲改"}, format="json", **headers)
        assert response.status_code == 428 and "detail" in response.json()
    assert state() == before
    etag = as_worker.get(detail(incident.pk))["ETag"]
    assert (
        as_worker.patch(
            detail(incident.pk), {"description": "改"}, format="json", HTTP_IF_MATCH=etag
        ).status_code
        == 200
    )
    # "*" is a deliberate "whatever the version".
    assert (
        as_worker.patch(
            detail(incident.pk), {"description": "再改"}, format="json", HTTP_IF_MATCH="*"
        ).status_code
        == 200
    )


def test_without_if_match_the_outsider_still_gets_404_and_the_role_without_it_403(
    api_client, make_incident, far_grid
):
    incident = make_incident()
    api_client.force_authenticate(user_for_role(Role.GRID_WORKER, office=far_grid.office))
    hidden = api_client.patch(detail(incident.pk), {"description": "x"}, format="json")
    missing = api_client.patch(detail(10**9), {"description": "x"}, format="json")
    assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json()
    api_client.force_authenticate(user_for_role(Role.MEDIATOR))
    assert api_client.patch(detail(incident.pk), {"description": "x"}, format="json").status_code == 403


@pytest.mark.parametrize("tag", ['"abc"', "W/", '"1', "1", '"1-x", garbage', '"1-a", "2-b"'])
def test_an_if_match_this_api_never_gave_is_412(as_worker, make_incident, tag):
    incident = make_incident()
    before = state()
    response = as_worker.patch(detail(incident.pk), {"description": "x"}, format="json", HTTP_IF_MATCH=tag)
    assert response.status_code == 412, (tag, response.status_code)
    assert state() == before


def test_etags_are_per_representation_and_if_none_match_gives_304(
    api_client, make_incident, worker, dispatcher
):
    incident = make_incident()
    url = detail(incident.pk)
    api_client.force_authenticate(worker)
    mine = api_client.get(url)
    assert mine["ETag"].startswith(f'W/"{incident.version}-')
    assert "private" in mine["Cache-Control"] and "Authorization" in mine["Vary"]
    not_modified = api_client.get(url, HTTP_IF_NONE_MATCH=mine["ETag"])
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == mine["ETag"]
    assert api_client.get(url, HTTP_IF_NONE_MATCH=f'"other", {mine["ETag"]}').status_code == 304
    assert api_client.get(url, HTTP_IF_NONE_MATCH="*").status_code == 304
    # The dispatcher's body differs (other actions), so does the tag: one's tag never
    # answers 304 to the other.
    api_client.force_authenticate(dispatcher)
    theirs = api_client.get(url, HTTP_IF_NONE_MATCH=mine["ETag"])
    assert theirs.status_code == 200 and theirs.json()["actions"] != mine.json()["actions"]
    assert theirs["ETag"] != mine["ETag"] and theirs["ETag"].startswith(f'W/"{incident.version}-')
    # A change makes every earlier tag stale; the tag still works in If-Match for the version.
    register_incident(actor=dispatcher, incident_id=incident.pk)
    fresh = api_client.get(url, HTTP_IF_NONE_MATCH=theirs["ETag"])
    assert fresh.status_code == 200 and fresh["ETag"] != theirs["ETag"]
    dispatched = api_client.post(
        detail(incident.pk, "dispatch/"), {}, format="json", HTTP_IF_MATCH=theirs["ETag"]
    )
    assert dispatched.status_code == 412
    assert (
        api_client.post(
            detail(incident.pk, "dispatch/"), {}, format="json", HTTP_IF_MATCH=fresh["ETag"]
        ).status_code
        == 200
    )


def test_is_overdue_changes_the_etag_without_a_new_version(as_worker, make_incident, dispatcher):
    incident = make_incident()
    register_incident(actor=dispatcher, incident_id=incident.pk)
    dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    before = as_worker.get(detail(incident.pk))
    Incident.objects.filter(pk=incident.pk).update(due_at=timezone.now() - timedelta(hours=1))
    after = as_worker.get(detail(incident.pk), HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after.json()["is_overdue"] is True
    assert after.json()["version"] == before.json()["version"]


# --- strict input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reported_at": "2099-01-01T00:00:00Z"}, "reported_at"),
        ({"client_uuid": 123}, "client_uuid"),
        ({"client_uuid": 2**127}, "client_uuid"),
        ({"client_uuid": ["x"]}, "client_uuid"),
        ({"longitude": True}, "longitude"),
        ({"latitude": False}, "latitude"),
        ({"longitude": "NaN"}, "longitude"),
        ({"longitude": "Infinity"}, "longitude"),
        ({"category": 1}, "category"),
        ({"category": True}, "category"),
        ({"category": "exposed-rubbish\x00"}, "category"),
        ({"category": "\ud800"}, "category"),
        ({"grid": "\ud800", "longitude": None, "latitude": None}, "grid"),
        ({"priority": "\ud800"}, "priority"),
    ],
)
def test_loose_values_are_refused_on_create(as_worker, home_grid, change, field):
    body = {k: v for k, v in {**payload(home_grid), **change}.items() if v is not None}
    response = send(as_worker, LIST, body)
    assert response.status_code == 400, (change, response.status_code, response.content[:200])
    assert field in response.json()
    assert not Incident.objects.exists()


def test_a_report_a_few_minutes_ahead_is_clock_drift_and_accepted(as_worker, home_grid):
    ahead = (timezone.now() + timedelta(minutes=2)).isoformat()
    assert as_worker.post(LIST, payload(home_grid, reported_at=ahead), format="json").status_code == 201


def test_loose_values_are_refused_on_update(as_worker, make_incident):
    incident = make_incident()
    before = state()
    for change in (
        {"longitude": True, "latitude": 26.2},
        {"category": 1},
        {"latitude": "nan", "longitude": 105.9},
    ):
        response = as_worker.patch(detail(incident.pk), change, format="json", HTTP_IF_MATCH="*")
        assert response.status_code == 400, (change, response.content)
    assert state() == before


@pytest.mark.parametrize("value", ["AAA", "yes", "2", "true\x00", "tru"])
def test_a_filter_flag_that_is_not_true_or_false_is_400(as_worker, value):
    response = as_worker.get(LIST, {"overdue": value})
    assert response.status_code == 400 and "overdue" in response.json()


def test_the_overdue_flag_filters(as_worker, make_incident, dispatcher):
    late, timely = make_incident(), make_incident()
    for incident in (late, timely):
        register_incident(actor=dispatcher, incident_id=incident.pk)
        dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    Incident.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=1))
    for value, expected in (
        ("true", {late.pk}),
        ("1", {late.pk}),
        ("FALSE", {timely.pk}),
    ):
        rows = as_worker.get(LIST, {"overdue": value}).json()["results"]
        assert {r["id"] for r in rows} == expected, value


def test_the_schema_says_category_is_a_code(admin_schema):
    incidents = admin_schema["paths"]["/api/incidents/"]
    [category] = [p for p in incidents["get"]["parameters"] if p["name"] == "category"]
    assert category["schema"]["type"] == "string" and "code" in category["description"]
    components = admin_schema["components"]["schemas"]
    for name in ("IncidentInputRequest", "PatchedIncidentUpdateRequest"):
        assert components[name]["properties"]["category"]["type"] == "string"
        assert "code" in components[name]["properties"]["category"]["description"]
    assert "428" in admin_schema["paths"]["/api/incidents/{id}/"]["patch"]["responses"]
    assert {"409", "410"} <= set(incidents["post"]["responses"])
    assert "304" in admin_schema["paths"]["/api/incidents/{id}/"]["get"]["responses"]
    sync = admin_schema["paths"]["/api/incidents/sync/"]["get"]
    assert "commit order" in sync["description"] and "out_of_scope" in sync["description"]


@pytest.fixture
def admin_schema(api_client):
    api_client.force_authenticate(user_for_role(Role.ADMIN))
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    import json

    return json.loads(response.content)


# --- bulk --------------------------------------------------------------------------------------


def test_bulk_never_echoes_an_invalid_uuid(as_worker, home_grid):
    items = [
        {**payload(home_grid), "client_uuid": "not-a-uuid"},
        {**payload(home_grid), "client_uuid": 123},
        {**payload(home_grid), "client_uuid": "\ud800"},
        {**payload(home_grid), "client_uuid": str(uuid.uuid4()), "category": "none-such"},
    ]
    results = send(as_worker, BULK, {"items": items}).json()["results"]
    assert [r["result"] for r in results] == ["error"] * 4
    assert [r["client_uuid"] for r in results[:3]] == [None, None, None]
    assert results[3]["client_uuid"] == items[3]["client_uuid"]
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    "hostile", ["\x00", "exposed-rubbish\x00", "\ud800", "a\udfffb", 12.5, [], {}, True, "x" * 5000]
)
@pytest.mark.parametrize("field", ["category", "grid"])
def test_bulk_items_with_hostile_codes_are_item_errors(as_worker, home_grid, hostile, field):
    bad = {**payload(home_grid), field: hostile}
    if field == "grid":
        bad.pop("longitude"), bad.pop("latitude")
    good = payload(home_grid)
    response = send(as_worker, BULK, {"items": [bad, good]})
    assert response.status_code == 200, response.content[:300]
    results = response.json()["results"]
    assert results[0]["result"] == "error" and field in results[0]["errors"]
    assert results[1]["result"] == "created"
    assert Incident.objects.count() == 1


def test_bulk_refuses_future_times_and_loose_numbers_per_item(as_worker, home_grid):
    items = [
        payload(home_grid, reported_at="2099-01-01T00:00:00Z"),
        payload(home_grid, longitude=True),
        payload(home_grid),
    ]
    results = as_worker.post(BULK, {"items": items}, format="json").json()["results"]
    assert [r["result"] for r in results] == ["error", "error", "created"]
    assert "reported_at" in results[0]["errors"] and "longitude" in results[1]["errors"]


def test_bulk_stores_text_as_sent(as_worker, home_grid):
    text = "完成率100% 50%% %s %(x)s \\ ' \""
    items = [payload(home_grid, description=text, address="5% 路口")]
    results = as_worker.post(BULK, {"items": items}, format="json").json()["results"]
    stored = Incident.objects.get(pk=results[0]["id"])
    assert (stored.description, stored.address) == (text, "5% 路口")


def test_bulk_and_single_reports_digest_alike(as_worker, home_grid):
    """A report sent in a batch and retried alone (or the reverse) is one report."""
    body = payload(home_grid)
    [result] = as_worker.post(BULK, {"items": [body]}, format="json").json()["results"]
    again = as_worker.post(LIST, body, format="json")
    assert again.status_code == 200 and again.json()["id"] == result["id"]
    lone = payload(home_grid)
    first = as_worker.post(LIST, lone, format="json").json()
    [repeat] = as_worker.post(BULK, {"items": [lone]}, format="json").json()["results"]
    assert (repeat["result"], repeat["id"]) == ("duplicate", first["id"])


def test_a_report_from_the_point_of_a_grid_is_placed(as_worker, home_grid):
    # Sanity for the strict number field: plain numbers and numeric strings (forms) still work.
    point = point_in(home_grid)
    body = payload(home_grid, longitude=str(point.x), latitude=str(point.y))
    assert as_worker.post(LIST, body, format="multipart").status_code == 201
