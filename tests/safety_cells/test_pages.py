"""Pages: registry, cell detail, patrol form, coverage; scoping, exports, fixed query counts."""

import datetime
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from accounts.roles import Role
from grids.models import Grid, Region
from safety_cells.coverage import refresh_coverage
from safety_cells.models import Camera, CellType, PatrolLog, PreventionUnit, SafetyCell
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def test_registry_lists_only_cells_in_scope_and_exports(client, safety_demo):
    official = user_for_role(Role.TOWNSHIP_OFFICIAL)
    client.force_login(official)
    page = client.get(reverse("safety_cells:registry"))
    assert page.status_code == 200
    # The demo's cells inside the township (the estate, and the demo's 平安家庭/平安校园 examples
    # placed there), counted from the records; nothing outside it.
    township = official.region.path
    inside = set(SafetyCell.objects.filter(region__path__startswith=township).values_list("name", flat=True))
    listed = [c.name for c in page.context["cells"]]
    assert "家运天城平安智慧小区" in listed and set(listed) == inside
    assert len(page.context["markers"]) == len(inside)
    export = client.get(reverse("safety_cells:registry"), {"export": "xlsx"})
    rows = list(load_workbook(io.BytesIO(export.content)).active.values)
    assert {row[0] for row in rows[1:]} == inside and len(rows) == len(inside) + 1
    foreign = SafetyCell.objects.get(name="紫云自治县格凸河镇")
    assert client.get(reverse("safety_cells:cell", args=[foreign.pk])).status_code == 404
    own = SafetyCell.objects.get(name="家运天城平安智慧小区")
    detail = client.get(reverse("safety_cells:cell", args=[own.pk]))
    assert detail.status_code == 200 and len(detail.context["evaluations"]) == 1


def test_registry_query_count_does_not_grow_with_rows(client, safety_demo):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("safety_cells:registry")).status_code == 200
        return len(captured)

    before = count()
    estate = CellType.objects.get(code="estate")
    for village in Region.objects.filter(level="village", code__startswith="520402001")[:6]:
        SafetyCell.objects.create(
            name=f"小区{village.code}",
            cell_type=estate,
            region=village,
            location=village.boundary.point_on_surface,
        )
    assert count() == before


def test_roles_without_the_capability_are_refused(client, safety_demo):
    client.force_login(user_for_role(Role.MEDIATOR))
    assert client.get(reverse("safety_cells:registry")).status_code == 403
    assert client.get(reverse("safety_cells:patrol-new")).status_code == 403
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    assert client.get(reverse("safety_cells:patrol-new")).status_code == 403


def test_coverage_page_shows_the_computed_rate_and_exports(client, safety_demo):
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    page = client.get(reverse("safety_cells:coverage"), {"days": "3"})
    assert page.status_code == 200
    coverage = page.context["coverage"]
    assert coverage.villages == Region.objects.filter(level="village", code__startswith="520402").count()
    assert f"{coverage.rate}%" in page.content.decode()
    assert page.context["idle_villages"]
    # Cameras are not in the page: the map asks /api/map/cameras/view/ for its view (test_map_layers).
    assert "cameras" not in page.context["map_data"]
    export = client.get(reverse("safety_cells:coverage"), {"export": "csv"})
    lines = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + Region.objects.filter(level="township", code__startswith="520402").count()


def _form(worker, **change):
    village = Grid.objects.filter(office=worker.grid_office).first().village
    team = PreventionUnit.objects.get(region=village, kind="patrol_team")
    x0, y0, x1, y1 = village.boundary.extent
    return {
        "unit": team.pk,
        "started_at": "2026-11-20T08:00",
        "ended_at": "2026-11-20T10:30",
        "route": json.dumps({"type": "LineString", "coordinates": [[x0, y0], [x1, y1]]}),
        "observations": "巡逻正常",
        "client_uuid": "6b1c7f9e-3f7a-4f43-9d44-0f4bb0b7a001",
        **change,
    }


def test_patrol_form_logs_a_patrol_once(client, safety_demo):
    worker = user_for_role(Role.GRID_WORKER)
    client.force_login(worker)
    form = client.get(reverse("safety_cells:patrol-new"))
    assert form.status_code == 200
    units = list(form.context["form"].fields["unit"].queryset)
    served = set(Grid.objects.filter(office=worker.grid_office).values_list("village_id", flat=True))
    assert units and all(u.region_id in served for u in units)
    before = PatrolLog.objects.count()
    response = client.post(reverse("safety_cells:patrol-new"), _form(worker))
    assert response.status_code == 302
    client.post(reverse("safety_cells:patrol-new"), _form(worker))  # a double submit
    assert PatrolLog.objects.count() == before + 1
    log = PatrolLog.objects.get(client_uuid="6b1c7f9e-3f7a-4f43-9d44-0f4bb0b7a001")
    assert log.started_at.astimezone(datetime.UTC).hour == 0  # 08:00 Asia/Shanghai stored as UTC


@pytest.mark.parametrize(
    "change, field",
    [({"ended_at": "2026-11-20T07:00"}, "ended_at"), ({"route": ""}, "route")],
    ids=["ends-before-start", "no-route"],
)
def test_patrol_form_shows_errors_and_writes_nothing(client, safety_demo, change, field):
    worker = user_for_role(Role.GRID_WORKER)
    client.force_login(worker)
    before = PatrolLog.objects.count()
    response = client.post(reverse("safety_cells:patrol-new"), _form(worker, client_uuid="", **change))
    assert response.status_code == 200
    assert response.context["form"].errors.get(field)
    assert PatrolLog.objects.count() == before


def test_patrol_list_is_scoped_and_exports(client, safety_demo):
    client.force_login(user_for_role(Role.TOWNSHIP_OFFICIAL))
    page = client.get(reverse("safety_cells:patrols"))
    assert page.status_code == 200
    assert all(log.unit.region.code.startswith("520402005") for log in page.context["logs"])
    export = client.get(reverse("safety_cells:patrols"), {"export": "xlsx"})
    rows = list(load_workbook(io.BytesIO(export.content)).active.values)
    expected = PatrolLog.objects.filter(unit__region__path__startswith="5204/520402/520402005/").count()
    assert len(rows) == 1 + expected


def test_official_evaluates_a_cell_with_a_photo(client, safety_demo, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    from django.core.files.uploadedfile import SimpleUploadedFile

    cell = SafetyCell.objects.get(name="家运天城平安智慧小区")
    criteria = list(cell.cell_type.criteria.all())
    client.force_login(user_for_role(Role.GRID_WORKER))
    assert client.get(reverse("safety_cells:evaluate", args=[cell.pk])).status_code == 403
    client.force_login(user_for_role(Role.TOWNSHIP_OFFICIAL))
    foreign = SafetyCell.objects.get(name="紫云自治县格凸河镇")
    assert client.get(reverse("safety_cells:evaluate", args=[foreign.pk])).status_code == 404
    data = {"evaluated_on": "2026-11-01", "notes": "复核"}
    data |= {f"score_{c.pk}": c.max_score + 1 for c in criteria}  # out of range
    before = cell.evaluations.count()
    response = client.post(reverse("safety_cells:evaluate", args=[cell.pk]), data)
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert cell.evaluations.count() == before
    data |= {f"score_{c.pk}": c.max_score - 1 for c in criteria}
    data["photo"] = SimpleUploadedFile("door.jpg", b"\xff\xd8\xff", content_type="image/jpeg")
    response = client.post(reverse("safety_cells:evaluate", args=[cell.pk]), data)
    assert response.status_code == 302
    evaluation = cell.evaluations.order_by("-id").first()
    assert evaluation.total_score == sum(c.max_score - 1 for c in criteria)
    assert (tmp_path / evaluation.photos.get().image.name).exists()
    page = client.get(reverse("safety_cells:cell", args=[cell.pk]))
    assert str(evaluation.total_score) in page.content.decode()


def test_registry_shows_the_on_site_meetings(client, safety_demo):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    page = client.get(reverse("safety_cells:registry"))
    assert len(page.context["meetings"]) == 4  # twice a year, 2016 and 2017
    assert "2017年第2次平安细胞工程现场会" in page.content.decode()


def test_camera_coverage_per_grid_export(client, safety_demo):
    client.force_login(user_for_role(Role.TOWNSHIP_OFFICIAL))
    export = client.get(reverse("safety_cells:coverage"), {"export": "xlsx", "table": "grids"})
    rows = list(load_workbook(io.BytesIO(export.content)).active.values)[1:]
    assert len(rows) == Grid.objects.filter(village__code__startswith="520402005").count()
    code, _name, total, online = rows[0]
    assert total == Camera.objects.filter(grid__code=code).count()
    assert online == Camera.objects.filter(grid__code=code, status="online").count()


def test_coverage_map_shades_each_township_in_scope(client, safety_demo):
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    page = client.get(reverse("safety_cells:coverage"))
    bbox = ",".join(str(v) for v in page.context["map_data"]["extent"])
    layer = client.get(page.context["map_data"]["layers"]["townships"], {"bbox": bbox, "zoom": 9}).json()
    townships = [{"code": f["id"], **f["properties"], "geometry": f["geometry"]} for f in layer["features"]]
    by_code = {row["parent__code"]: row["rate"] for row in page.context["townships"]}
    assert (
        {t["code"] for t in townships}
        == set(by_code)
        == set(
            Region.objects.filter(level="township", code__startswith="520402").values_list("code", flat=True)
        )
    )
    assert all(
        t["rate"] == by_code[t["code"]] and t["geometry"]["type"] in ("Polygon", "MultiPolygon")
        for t in townships
    )


def test_coverage_page_lists_recent_incidents_no_camera_watches(client, safety_demo, make_incident):
    grid = Grid.objects.filter(village__code__startswith="520402005").order_by("code").first()
    watched = make_incident(grid=grid)
    Camera.objects.create(
        code="AT-WATCHED", phase=1, owner="t", location=watched.location, village=grid.village
    )
    Camera.objects.filter(grid__village__code__startswith="520402005").exclude(code="AT-WATCHED").delete()
    unwatched = make_incident(
        grid=Grid.objects.filter(village__code__startswith="520402005").order_by("code").last()
    )
    old = make_incident(grid=unwatched.grid, days_ago=40)
    client.force_login(user_for_role(Role.TOWNSHIP_OFFICIAL))
    refresh_coverage(reason="test")  # the page reads the coverage tables (beat refreshes them)
    page = client.get(reverse("safety_cells:coverage"), {"days": 7})
    listed = {row.incident.pk for row in page.context["unwatched"]}
    assert unwatched.pk in listed and watched.pk not in listed and old.pk not in listed
