"""The incidents REST API: idempotent create, ETag/If-Match, transitions, sync, bulk, scoping."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime

from accounts.roles import Role
from incidents.models import Incident, IncidentEvent
from incidents.services.editing import delete_incident
from tests.factories import user_for_role
from tests.incidents.conftest import let_the_feed_see_this_test, point_in

pytestmark = pytest.mark.django_db

LIST = "/api/incidents/"


def detail(pk, suffix=""):
    return f"/api/incidents/{pk}/{suffix}"


@pytest.fixture
def as_worker(api_client, worker):
    api_client.force_authenticate(worker)
    return api_client


def payload(grid, **extra):
    point = point_in(grid)
    return {
        "client_uuid": str(uuid.uuid4()),
        "category": "exposed-rubbish",
        "description": "河边垃圾",
        "longitude": point.x,
        "latitude": point.y,
        **extra,
    }


def test_create_is_idempotent_by_client_uuid(as_worker, home_grid, worker):
    body = payload(home_grid)
    first = as_worker.post(LIST, body, format="json")
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["client_uuid"] == body["client_uuid"] and data["grid"] == home_grid.code
    assert data["reporter"] == worker.username and data["status"] == "reported" and data["version"] == 1
    assert first["ETag"].startswith('W/"1-')
    again = as_worker.post(LIST, body, format="json")
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    assert Incident.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"longitude": 116.39, "latitude": 39.9}, "location"),  # Beijing
        ({"category": "no-such-thing"}, "category"),
        ({"longitude": "east"}, "longitude"),
        ({"latitude": None}, "latitude"),
        ({"priority": "whenever"}, "priority"),
        ({"client_uuid": "not-a-uuid"}, "client_uuid"),
        ({"source": "open311"}, "source"),
    ],
)
def test_bad_input_is_a_400_with_field_errors_and_writes_nothing(as_worker, home_grid, change, field):
    body = {k: v for k, v in {**payload(home_grid), **change}.items() if v is not None}
    response = as_worker.post(LIST, body, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert not Incident.objects.exists()


def test_outside_the_jurisdiction_is_a_location_error(as_worker, far_grid):
    response = as_worker.post(LIST, payload(far_grid), format="json")
    assert response.status_code == 400 and "location" in response.json()


def test_photos_upload_with_the_report_and_bad_files_are_refused(as_worker, home_grid, settings):
    settings.INCIDENT_ATTACHMENT_MAX_BYTES = 2048
    photo = SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, content_type="image/png")
    response = as_worker.post(LIST, {**payload(home_grid), "attachments": [photo]}, format="multipart")
    assert response.status_code == 201, response.content
    [attachment] = response.json()["attachments"]
    assert attachment["content_type"] == "image/png" and attachment["size"] == 108
    script = SimpleUploadedFile("a.png", b"<script>", content_type="image/png")
    response = as_worker.post(LIST, {**payload(home_grid), "attachments": [script]}, format="multipart")
    assert response.status_code == 400 and "attachments" in response.json()
    assert Incident.objects.count() == 1


def test_if_match_guards_updates(as_worker, home_grid):
    created = as_worker.post(LIST, payload(home_grid), format="json").json()
    url = detail(created["id"])
    etag = as_worker.get(url)["ETag"]
    assert etag.startswith('W/"1-')
    changed = as_worker.patch(url, {"description": "更正"}, format="json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"].startswith('W/"2-')
    # A second client still holding version 1 must not overwrite the change.
    stale = as_worker.patch(url, {"priority": "high"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and stale.json()["version"] == 2
    fresh = Incident.objects.get(pk=created["id"])
    assert (fresh.description, fresh.priority, fresh.version) == ("更正", "normal", 2)


def test_transitions_as_actions(as_worker, api_client, home_grid, worker, dispatcher, home_office):
    reported = as_worker.post(LIST, payload(home_grid), format="json").json()
    pk = reported["id"]
    # The intake limits a sync client shows: 立案 due from the report, 派遣 only once registered.
    stored = Incident.objects.get(pk=pk)
    assert reported["register_due_at"] and reported["dispatch_due_at"] is None
    assert parse_datetime(reported["register_due_at"]) == stored.register_due_at
    api_client.force_authenticate(dispatcher)
    assert api_client.post(detail(pk, "close/"), {}, format="json").status_code == 400
    registered = api_client.post(detail(pk, "register/"), {}, format="json", HTTP_IF_MATCH='"1"')
    assert registered.status_code == 200 and registered.json()["status"] == "registered"
    stored.refresh_from_db()
    assert parse_datetime(registered.json()["dispatch_due_at"]) == stored.dispatch_due_at is not None
    assert api_client.post(detail(pk, "dispatch/"), {}, format="json", HTTP_IF_MATCH='"1"').status_code == 412
    dispatched = api_client.post(
        detail(pk, "dispatch/"), {"handling_office": home_office.code}, format="json"
    )
    assert dispatched.json()["handling_office"] == home_office.code and dispatched.json()["due_at"]
    assert api_client.post(detail(pk, "take/"), {}, format="json").status_code == 403
    api_client.force_authenticate(worker)
    assert api_client.post(detail(pk, "take/"), {}, format="json").json()["actions"] == [
        "report_handled",
        "return",
    ]
    assert api_client.post(detail(pk, "return/"), {"note": ""}, format="json").status_code == 400
    handled = api_client.post(detail(pk, "report-handled/"), {"note": "已清理"}, format="json")
    assert handled.json()["status"] == "handled"
    assert api_client.post(detail(pk, "verify/"), {}, format="json").status_code == 403
    api_client.force_authenticate(dispatcher)
    assert api_client.post(detail(pk, "verify/"), {}, format="json").json()["status"] == "verified"
    closed = api_client.post(detail(pk, "close/"), {}, format="json").json()
    assert closed["status"] == "closed" and closed["version"] == 7
    assert [e["to_status"] for e in closed["events"]] == [
        "reported",
        "registered",
        "dispatched",
        "handling",
        "handled",
        "verified",
        "closed",
    ]


def test_sync_walks_changes_once_with_tombstones(as_worker, home_grid, worker):
    ids = [as_worker.post(LIST, payload(home_grid), format="json").json()["id"] for _ in range(4)]
    first = Incident.objects.get(pk=ids[0])
    as_worker.patch(detail(ids[0]), {"description": "后改"}, format="json", HTTP_IF_MATCH="*")
    delete_incident(actor=user_for_role(Role.ADMIN), incident_id=ids[1])
    let_the_feed_see_this_test()
    seen, cursor = [], None
    for _ in range(10):
        params = {"page_size": 1, "updated_after": first.reported_at.isoformat()}
        if cursor:
            params["cursor"] = cursor
        page = as_worker.get("/api/incidents/sync/", params).json()
        seen += page["results"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert sorted(r["id"] for r in seen) == sorted(ids)
    assert len(seen) == 4
    # The edited and the deleted come last, in the order they changed.
    assert [r["id"] for r in seen][-2:] == [ids[0], ids[1]]
    assert seen[-1]["deleted"] is True and set(seen[-1]) == {
        "id",
        "client_uuid",
        "version",
        "deleted",
        "reason",
        "updated_at",
    }
    assert seen[-1]["reason"] == "deleted"
    later = as_worker.get("/api/incidents/sync/", {"cursor": cursor}).json()
    assert later["results"] == [] and later["has_more"] is False
    assert as_worker.get(detail(ids[1])).status_code == 404
    assert ids[1] not in [r["id"] for r in as_worker.get(LIST).json()["results"]]


def test_bulk_reports_each_item_and_a_bad_one_loses_nothing(as_worker, home_grid, far_grid):
    good = payload(home_grid)
    items = [
        good,
        {**payload(home_grid), "category": "unknown"},
        good,
        payload(far_grid),
        "not an object",
        payload(home_grid, description=""),
        payload(home_grid),
    ]
    response = as_worker.post("/api/incidents/bulk/", {"items": items}, format="json")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["result"] for r in results] == [
        "created",
        "error",
        "duplicate",
        "error",
        "error",
        "error",
        "created",
    ]
    assert results[0]["id"] == results[2]["id"]
    assert "category" in results[1]["errors"] and "location" in results[3]["errors"]
    assert "description" in results[5]["errors"]
    assert Incident.objects.count() == 2 and IncidentEvent.objects.count() == 2


def test_a_malformed_batch_is_refused_whole(as_worker, home_grid):
    assert as_worker.post("/api/incidents/bulk/", {"items": {}}, format="json").status_code == 400
    too_many = [payload(home_grid) for _ in range(1001)]
    assert as_worker.post("/api/incidents/bulk/", {"items": too_many}, format="json").status_code == 400
    assert not Incident.objects.exists()


def test_list_queries_do_not_grow_with_the_page(as_worker, make_incident, dispatcher):
    from incidents.services.workflow import dispatch_incident, register_incident

    for _ in range(12):
        incident = make_incident()
        register_incident(actor=dispatcher, incident_id=incident.pk)
        dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    counts = []
    for size in (1, 5, 12):
        with CaptureQueriesContext(connection) as queries:
            response = as_worker.get(LIST, {"page_size": size})
        assert response.status_code == 200 and len(response.json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2], counts
    with CaptureQueriesContext(connection) as small:
        as_worker.get("/api/incidents/sync/", {"page_size": 1})
    with CaptureQueriesContext(connection) as large:
        as_worker.get("/api/incidents/sync/", {"page_size": 12})
    assert len(small) == len(large)


# --- role × endpoint ------------------------------------------------------------------------


@pytest.fixture
def spread(make_incident, far_grid, other_office):
    """One incident in the home office, one in a neighbouring office, one in another county."""
    admin = user_for_role(Role.ADMIN)
    from incidents.services.reporting import report_incident

    home = make_incident()
    near_grid = other_office.grids.order_by("code").first()
    category = home.category
    near = report_incident(actor=admin, category=category, description="近", location=point_in(near_grid))[0]
    far = report_incident(actor=admin, category=category, description="远", location=point_in(far_grid))[0]
    return {"home": home, "near": near, "far": far}


def _visible(user, incident) -> bool:
    if user.is_platform_admin:
        return True
    if user.grid_office_id:
        return incident.grid.office_id == user.grid_office_id
    if user.department_id:  # a department's staff: only what was dispatched to it
        return incident.departments.filter(pk=user.department_id).exists()
    return incident.grid.village.path.startswith(user.region.path)


@pytest.mark.parametrize("role", list(Role))
def test_every_role_reads_only_its_jurisdiction(role, spread, api_client, home_office):
    user = (
        user_for_role(role, office=home_office)
        if role in (Role.GRID_WORKER, Role.GRID_OFFICE_HEAD)
        else user_for_role(role)
    )
    api_client.force_authenticate(user)
    if not user.can("incident.view"):
        # Lawyers and case officers have no business with incidents: every route refuses them.
        assert api_client.get(LIST).status_code == 403
        assert api_client.get("/api/incidents/sync/").status_code == 403
        for incident in spread.values():
            assert api_client.get(detail(incident.pk)).status_code == 403
            assert (
                api_client.patch(detail(incident.pk), {"description": "x"}, format="json").status_code == 403
            )
        assert Incident.objects.filter(description="x").count() == 0
        return
    listed = {row["id"] for row in api_client.get(LIST, {"page_size": 100}).json()["results"]}
    let_the_feed_see_this_test()
    synced = {
        row["id"] for row in api_client.get("/api/incidents/sync/", {"page_size": 100}).json()["results"]
    }
    expected = {i.pk for i in spread.values() if _visible(user, i)}
    assert listed == synced == expected
    for incident in spread.values():
        allowed = _visible(user, incident)
        assert api_client.get(detail(incident.pk)).status_code == (200 if allowed else 404)
        # Writes to what one cannot see are 404 too, never a hint that it exists.
        if not allowed:
            assert api_client.post(detail(incident.pk, "register/"), {}, format="json").status_code in (
                403,
                404,
            )
            assert api_client.patch(detail(incident.pk), {"description": "x"}, format="json").status_code in (
                403,
                404,
            )
    assert Incident.objects.filter(description="x").count() == 0


def test_bulk_queries_do_not_grow_with_the_batch(as_worker, home_grid):
    counts = []
    for size in (2, 40):
        items = [payload(home_grid) for _ in range(size)]
        with CaptureQueriesContext(connection) as queries:
            response = as_worker.post("/api/incidents/bulk/", {"items": items}, format="json")
        assert [r["result"] for r in response.json()["results"]] == ["created"] * size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert Incident.objects.count() == 42 and IncidentEvent.objects.count() == 42
    assert all(i.offices.get() == home_grid.office for i in Incident.objects.all()[:3])


def test_bulk_falls_back_item_by_item_when_a_key_appears_meanwhile(as_worker, home_grid, worker, monkeypatch):
    from incidents.services import bulk

    taken = payload(home_grid)
    real_bulk = bulk._bulk

    def racing(*, actor, items, results):
        # Another request stores one of the keys between our look-up and our insert.
        bulk.report_incident(actor=worker, **{k: v for k, v in items[0].items() if not k.startswith("_")})
        return real_bulk(actor=actor, items=items, results=results)

    monkeypatch.setattr(bulk, "_bulk", racing)
    response = as_worker.post("/api/incidents/bulk/", {"items": [taken, payload(home_grid)]}, format="json")
    assert [r["result"] for r in response.json()["results"]] == ["duplicate", "created"]
    assert Incident.objects.count() == 2
