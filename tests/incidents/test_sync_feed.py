"""The sync feed: commit-ordered positions, tombstones for rows that leave one's sight, and a
refusal (never a 500, never a silent "done") for every malformed parameter.

The concurrency tests are in test_sync_feed_concurrency.py (they need real commits)."""

import base64

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from grids.models import Grid, Region
from incidents.models import Incident
from incidents.services.editing import delete_incident, update_incident
from incidents.services.workflow import dispatch_incident, register_incident
from tests.factories import user_for_role
from tests.incidents.conftest import HOME_OFFICE_PREFIX, OTHER_COUNTY, let_the_feed_see_this_test, point_in

pytestmark = pytest.mark.django_db

SYNC = "/api/incidents/sync/"


def walk(client, cursor=None, *, page_size=2, **params):
    """Every entry the feed has for ``client`` from ``cursor``, page by page; and the cursor to
    keep for next time."""
    let_the_feed_see_this_test()
    seen = []
    for _ in range(200):
        query = {"page_size": page_size, **params}
        if cursor:
            query["cursor"] = cursor
        response = client.get(SYNC, query)
        assert response.status_code == 200, response.content
        page = response.json()
        assert len(page["results"]) <= page_size
        seen += page["results"]
        cursor = page["next_cursor"]
        assert cursor  # always a place to come back to
        if not page["has_more"]:
            return seen, cursor
    raise AssertionError("the feed never ended")


@pytest.fixture
def township(db):
    """A region user: the township of the home office (东关街道)."""
    return user_for_role(Role.TOWNSHIP_OFFICIAL, region=Region.objects.get(code=HOME_OFFICE_PREFIX))


@pytest.fixture
def far_county(db):
    return user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code=OTHER_COUNTY))


def client_for(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


# --- parameters --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["0", "-1", "-100", "1.5", "abc", "１", "9" * 20, ""])
def test_a_page_size_below_one_or_not_a_number_is_refused(api_client, worker, make_incident, size):
    make_incident()
    api_client.force_authenticate(worker)
    response = api_client.get(SYNC, {"page_size": size})
    if size == "":
        assert response.status_code == 200  # absent: the default size
        return
    assert response.status_code == 400, (size, response.content)
    assert "page_size" in response.json()


def test_page_size_given_twice_is_refused(api_client, worker):
    api_client.force_authenticate(worker)
    assert api_client.get(f"{SYNC}?page_size=1&page_size=5").status_code == 400


def test_a_page_of_one_says_there_is_more(api_client, worker, make_incident):
    for _ in range(3):
        make_incident()
    api_client.force_authenticate(worker)
    let_the_feed_see_this_test()
    page = api_client.get(SYNC, {"page_size": 1}).json()
    assert len(page["results"]) == 1 and page["has_more"] is True and page["next_cursor"]
    seen, _cursor = walk(api_client, page_size=1)
    assert len(seen) == 3


@pytest.mark.parametrize(
    "moment",
    [
        "2026-13-45T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-01-01T25:61:00",
        "yesterday",
        "2026-01-01T00:00:00+99:00",
        "9" * 40,
    ],
)
def test_an_impossible_updated_after_is_a_400(api_client, worker, moment):
    api_client.force_authenticate(worker)
    response = api_client.get(SYNC, {"updated_after": moment})
    assert response.status_code == 400, (moment, response.status_code)
    assert response["Content-Type"] == "application/json" and "updated_after" in response.json()


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        _b64("2026-01-01T00:00:00+00:00|5"),  # the old (updated_at, id) cursor
        _b64("p1.-1.5"),
        _b64("p1.1.5.6"),
        _b64("p1." + "9" * 30 + ".1"),
        _b64("p1.1\x00.5"),
        "%%%",
    ],
)
def test_a_cursor_this_api_never_gave_is_a_400(api_client, worker, cursor):
    api_client.force_authenticate(worker)
    response = api_client.get(SYNC, {"cursor": cursor})
    assert response.status_code == 400 and "cursor" in response.json()


# --- order and tombstones ----------------------------------------------------------------------


def test_each_change_comes_once_in_the_order_it_was_made(api_client, worker, make_incident):
    api_client.force_authenticate(worker)
    a, b, c = make_incident(), make_incident(), make_incident()
    seen, cursor = walk(api_client)
    assert [r["id"] for r in seen] == [a.pk, b.pk, c.pk]
    update_incident(actor=worker, incident_id=a.pk, description="更正")
    delete_incident(actor=user_for_role(Role.ADMIN), incident_id=b.pk)
    seen, cursor = walk(api_client, cursor)
    assert [(r["id"], r["deleted"]) for r in seen] == [(a.pk, False), (b.pk, True)]
    assert seen[0]["description"] == "更正" and seen[1]["reason"] == "deleted"
    assert walk(api_client, cursor)[0] == []


def test_an_incident_moved_out_of_a_region_leaves_a_tombstone_there_and_nothing_else(
    make_incident, township, far_county, far_grid
):
    admin = user_for_role(Role.ADMIN)
    moved, stays = make_incident(), make_incident()
    home, far = client_for(township), client_for(far_county)
    seen, home_cursor = walk(home)
    assert {r["id"] for r in seen} == {moved.pk, stays.pk}
    assert walk(far)[0] == []
    _, far_cursor = walk(far)

    # A correction before dispatch moves it to another county.
    update_incident(actor=admin, incident_id=moved.pk, location=point_in(far_grid))
    seen, home_cursor = walk(home, home_cursor)
    assert seen == [
        {"id": moved.pk, "client_uuid": str(moved.client_uuid), "deleted": True, "reason": "out_of_scope"}
    ]
    arrived, far_cursor = walk(far, far_cursor)
    assert [(r["id"], r["deleted"], r["grid"]) for r in arrived] == [(moved.pk, False, far_grid.code)]

    # What happens to it over there is not the township's business: no entry, not even a tombstone.
    update_incident(actor=admin, incident_id=moved.pk, description="远处的更正")
    delete_incident(actor=admin, incident_id=moved.pk)
    assert walk(home, home_cursor)[0] == []
    assert [r["reason"] for r in walk(far, far_cursor)[0]] == ["deleted"]


def test_a_move_inside_the_region_is_no_departure(make_incident, township, home_office):
    incident = make_incident()
    home = client_for(township)
    _, cursor = walk(home)
    neighbour = (
        Grid.objects.filter(village__path__startswith=township.region.path)
        .exclude(pk=incident.grid_id)
        .order_by("code")
        .first()
    )
    update_incident(actor=user_for_role(Role.ADMIN), incident_id=incident.pk, grid=neighbour)
    seen, _ = walk(home, cursor)
    assert [(r["id"], r["deleted"], r["grid"]) for r in seen] == [(incident.pk, False, neighbour.code)]


def test_a_client_that_never_saw_it_gets_no_tombstone(make_incident, far_grid, township):
    """A departure says an incident existed: only those who could see it before are told."""
    incident = make_incident()
    update_incident(actor=user_for_role(Role.ADMIN), incident_id=incident.pk, location=point_in(far_grid))
    other_township = (
        Region.objects.filter(parent=township.region.parent)
        .exclude(pk=township.region_id)
        .order_by("code")
        .first()
    )
    unrelated_office = (
        Grid.objects.filter(code__startswith=OTHER_COUNTY)
        .exclude(office=far_grid.office)
        .order_by("code")
        .first()
    ).office
    for stranger in (
        user_for_role(Role.TOWNSHIP_OFFICIAL, region=other_township),
        user_for_role(Role.GRID_WORKER, office=unrelated_office),
    ):
        assert walk(client_for(stranger))[0] == [], stranger
    assert [r["reason"] for r in walk(client_for(township))[0]] == ["out_of_scope"]


def test_an_office_taken_off_an_incident_gets_a_tombstone(make_incident, worker, dispatcher, other_office):
    """Offices are only ever added by the workflow; a removal by any other writer (the
    database, a future service) is still seen by the triggers."""
    incident = make_incident()
    register_incident(actor=dispatcher, incident_id=incident.pk)
    dispatch_incident(actor=dispatcher, incident_id=incident.pk, handling_office=other_office)
    unit = client_for(user_for_role(Role.GRID_WORKER, office=other_office))
    seen, cursor = walk(unit)
    assert [r["id"] for r in seen] == [incident.pk]
    incident.offices.remove(other_office)
    seen, cursor = walk(unit, cursor)
    assert seen == [
        {
            "id": incident.pk,
            "client_uuid": str(incident.client_uuid),
            "deleted": True,
            "reason": "out_of_scope",
        }
    ]
    # The home office keeps it, with no tombstone.
    home_seen, _ = walk(client_for(worker))
    assert [(r["id"], r["deleted"]) for r in home_seen] == [(incident.pk, False)]


def test_an_office_added_by_dispatch_delivers_the_incident_to_that_unit(
    make_incident, dispatcher, other_office
):
    incident = make_incident()
    unit = client_for(user_for_role(Role.GRID_WORKER, office=other_office))
    assert walk(unit)[0] == []
    _, cursor = walk(unit)
    register_incident(actor=dispatcher, incident_id=incident.pk)
    dispatch_incident(actor=dispatcher, incident_id=incident.pk, handling_office=other_office)
    seen, _ = walk(unit, cursor)
    assert [(r["id"], r["status"]) for r in seen] == [(incident.pk, "dispatched")]


def test_admins_never_get_departures(make_incident, far_grid):
    admin = user_for_role(Role.ADMIN)
    incident = make_incident()
    everything = client_for(admin)
    _, cursor = walk(everything)
    update_incident(actor=admin, incident_id=incident.pk, location=point_in(far_grid))
    seen, _ = walk(everything, cursor)
    assert [(r["id"], r["deleted"]) for r in seen] == [(incident.pk, False)]


def test_every_writer_moves_the_row_in_the_feed(make_incident, worker, api_client):
    """The position is a trigger's: a QuerySet.update() that bypasses save() counts too."""
    api_client.force_authenticate(worker)
    first, second = make_incident(), make_incident()
    _, cursor = walk(api_client)
    Incident.objects.filter(pk=first.pk).update(priority="urgent")
    seen, _ = walk(api_client, cursor)
    assert [(r["id"], r["priority"]) for r in seen] == [(first.pk, "urgent")]
    assert second.pk not in {r["id"] for r in seen}


def test_bulk_created_incidents_are_in_the_feed(api_client, worker, home_grid):
    from tests.incidents.test_api import payload

    api_client.force_authenticate(worker)
    response = api_client.post(
        "/api/incidents/bulk/", {"items": [payload(home_grid) for _ in range(3)]}, format="json"
    )
    ids = [r["id"] for r in response.json()["results"]]
    seen, _ = walk(api_client)
    assert [r["id"] for r in seen] == ids


def test_sync_queries_do_not_grow_with_the_page_or_the_departures(make_incident, township, far_grid):
    admin = user_for_role(Role.ADMIN)
    incidents = [make_incident() for _ in range(8)]
    for incident in incidents[:4]:
        update_incident(actor=admin, incident_id=incident.pk, location=point_in(far_grid))
    home = client_for(township)
    let_the_feed_see_this_test()
    counts = []
    for size in (1, 3, 12):
        with CaptureQueriesContext(connection) as queries:
            page = home.get(SYNC, {"page_size": size}).json()
        assert len(page["results"]) == min(size, 8)
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2], counts
