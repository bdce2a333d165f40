"""Pages for demonstration sites, Skynet cameras and the "1+4" prevention structure: each writes
through its command, refuses roles without ``safety.manage`` (403), answers another county's
official exactly as a missing row (404) or, for a place, with the command's field error, writes
nothing then, and keeps typed input with field errors."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from accounts.roles import Role
from grids.models import Region
from safety_cells.models import Camera, CellType, PreventionUnit, SafetyCell, UnitMember
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def zh(message: str, **params) -> str:
    """What the page shows (pages are in Chinese unless the user switches)."""
    with translation.override("zh-hans"):
        text = gettext(message)
    return text % params if params else text


DONGGUAN = "520402005"  # the township of the default township official
ZIYUN = "520425"  # another county


def official(role=Role.TOWNSHIP_OFFICIAL, region: str | None = None):
    return user_for_role(role, region=Region.objects.get(code=region) if region else None)


def a_point_in(village_prefix: str):
    village = Region.objects.filter(level="village", code__startswith=village_prefix).order_by("code").first()
    grid = village.grids.order_by("code").first()
    return village, (grid.geometry if grid else village.boundary).point_on_surface


@pytest.fixture
def cell():
    region = Region.objects.get(code=DONGGUAN)
    return SafetyCell.objects.create(
        name="页面测试小区",
        cell_type=CellType.objects.get(code="estate"),
        region=region,
        location=region.boundary.point_on_surface,
    )


@pytest.fixture
def far_cell():
    region = Region.objects.get(code=ZIYUN)
    return SafetyCell.objects.create(
        name="紫云测试小区", cell_type=CellType.objects.get(code="estate"), region=region
    )


# ---- demonstration sites --------------------------------------------------------------------


def designate_url(cell) -> str:
    return reverse("safety_cells:designate", args=[cell.pk])


def test_an_official_designates_a_demonstration_site(client, cell):
    client.force_login(official())
    detail = client.get(reverse("safety_cells:cell", args=[cell.pk])).content.decode()
    assert designate_url(cell) in detail
    response = client.post(designate_url(cell), {"designated_on": "2026-06-01", "valid_until": "2028-05-31"})
    assert response.status_code == 302
    cell.refresh_from_db()
    assert cell.is_demonstration_site and cell.designated_on == datetime.date(2026, 6, 1)
    assert cell.valid_until == datetime.date(2028, 5, 31)


@pytest.mark.parametrize(
    "data, field",
    [
        ({"designated_on": "2026-06-01", "valid_until": "2026-05-01"}, "valid_until"),  # the command's rule
        ({"designated_on": "2026-02-30"}, "designated_on"),
        ({"designated_on": "２０２６-06-01"}, "designated_on"),
        ({"designated_on": "2026-06-01\x00"}, "designated_on"),
        ({"designated_on": ""}, "designated_on"),
    ],
)
def test_designation_input_errors_keep_the_form_and_write_nothing(client, cell, data, field):
    client.force_login(official())
    response = client.post(designate_url(cell), data)
    assert response.status_code == 400 and response.context["form"].errors[field]
    if data.get("valid_until"):
        assert f'value="{data["valid_until"]}"' in response.content.decode()
    cell.refresh_from_db()
    assert not cell.is_demonstration_site


def test_designation_out_of_scope_and_without_the_capability(client, cell, far_cell):
    data = {"designated_on": "2026-06-01"}
    client.force_login(official())
    missing = SafetyCell(pk=far_cell.pk + 10_000)
    for target in (far_cell, missing):
        assert client.get(designate_url(target)).status_code == 404
        assert client.post(designate_url(target), data).status_code == 404
    client.force_login(user_for_role(Role.GRID_WORKER))  # sees cells, may not manage them
    assert client.get(designate_url(cell)).status_code == 403
    assert client.post(designate_url(cell), data).status_code == 403
    assert "designate" not in client.get(reverse("safety_cells:cell", args=[cell.pk])).content.decode()
    assert not SafetyCell.objects.filter(is_demonstration_site=True).exists()


# ---- cameras --------------------------------------------------------------------------------

CAMERA_NEW = reverse("safety_cells:camera-new")


def camera_data(point, **overrides) -> dict:
    data = {
        "code": "AS-T-001",
        "name": "塔山路口",
        "phase": "4",
        "status": "online",
        "owner": "西秀分局",
        "latitude": f"{point.y:.6f}",
        "longitude": f"{point.x:.6f}",
    }
    data.update(overrides)
    return data


def test_an_official_registers_a_camera_at_a_point_in_their_township(client):
    client.force_login(official())
    page = client.get(CAMERA_NEW)
    assert page.status_code == 200 and 'data-safety-map="pointInput"' in page.content.decode()
    assert page.context["map_config"]["extent"]  # the picker opens on the jurisdiction
    village, point = a_point_in(DONGGUAN)
    response = client.post(CAMERA_NEW, camera_data(point))
    assert response.status_code == 302 and response.url == reverse("safety_cells:cameras")
    camera = Camera.objects.get(code="AS-T-001")
    assert camera.village == village and camera.owner == "西秀分局"
    listing = client.get(reverse("safety_cells:cameras")).content.decode()
    assert "AS-T-001" in listing and village.name in listing


def test_a_point_in_another_county_is_refused_under_the_map(client):
    client.force_login(official())
    _village, far = a_point_in(ZIYUN)
    response = client.post(CAMERA_NEW, camera_data(far))
    assert response.status_code == 400
    assert response.context["form"].errors["latitude"] == [zh("This place is outside your jurisdiction.")]
    assert 'value="塔山路口"' in response.content.decode()
    assert not Camera.objects.exists()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"latitude": "", "longitude": ""}, "latitude"),
        ({"latitude": "95"}, "latitude"),
        ({"longitude": "NaN"}, "longitude"),
        ({"latitude": "２６.2"}, "latitude"),
        ({"phase": "7"}, "phase"),
        ({"code": "AS\x00"}, "code"),
        ({"code": "ＡＳ-１"}, "code"),
        ({"owner": ""}, "owner"),
        ({"status": "exploded"}, "status"),
    ],
)
def test_camera_input_errors(client, overrides, field):
    client.force_login(official())
    _village, point = a_point_in(DONGGUAN)
    response = client.post(CAMERA_NEW, camera_data(point, **overrides))
    assert response.status_code == 400 and response.context["form"].errors[field]
    assert not Camera.objects.exists()


def test_camera_registration_needs_the_capability(client):
    _village, point = a_point_in(DONGGUAN)
    for role in (Role.GRID_WORKER, Role.DISPATCHER, Role.AUDITOR):
        client.force_login(user_for_role(role))
        assert client.get(CAMERA_NEW).status_code == 403
        assert client.post(CAMERA_NEW, camera_data(point)).status_code == 403
        assert "camera-new-link" not in client.get(reverse("safety_cells:cameras")).content.decode()
    assert not Camera.objects.exists()


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_camera_list_is_scoped_and_its_query_count_does_not_grow(client):
    admin = user_for_role(Role.ADMIN)
    from safety_cells.services import camera_register

    village, point = a_point_in(DONGGUAN)
    _far_village, far = a_point_in(ZIYUN)
    camera_register(actor=admin, code="FAR-1", phase=3, location=far, owner="紫云县局")
    camera_register(actor=admin, code="NEAR-0", phase=3, location=point, owner="西秀分局")
    client.force_login(official())
    url = reverse("safety_cells:cameras")
    before = _queries(client, url)
    for n in range(1, 9):
        camera_register(actor=admin, code=f"NEAR-{n}", phase=3, location=point, owner="西秀分局")
    assert _queries(client, url) == before
    codes = [c.code for c in client.get(url).context["cameras"]]
    assert "FAR-1" not in codes and len(codes) == 9


# ---- the "1+4" structure --------------------------------------------------------------------

UNITS = reverse("safety_cells:units")
UNIT_NEW = reverse("safety_cells:unit-new")


def test_an_official_sets_up_a_village_patrol_team_and_adds_a_member(client):
    user = official()
    client.force_login(user)
    assert UNIT_NEW in client.get(UNITS).content.decode()
    village = Region.objects.filter(level="village", code__startswith=DONGGUAN).order_by("code").first()
    response = client.post(
        UNIT_NEW, {"name": "塔山巡防队", "level": "village", "kind": "patrol_team", "region": village.code}
    )
    unit = PreventionUnit.objects.get(name="塔山巡防队")
    assert response.status_code == 302 and response.url == reverse("safety_cells:unit", args=[unit.pk])
    assert (unit.level, unit.kind, unit.region) == ("village", "patrol_team", village)
    detail = client.get(response.url).content.decode()
    assert f"{reverse('safety_cells:patrol-new')}?unit={unit.pk}" in detail
    added = client.post(response.url, {"name": "王队长", "duty": "队长", "phone": "13800002222"})
    assert added.status_code == 302
    assert list(UnitMember.objects.filter(unit=unit).values_list("name", "duty")) == [("王队长", "队长")]
    assert "王队长" in client.get(response.url).content.decode()
    # The patrol form opens with the unit chosen.
    patrol_form = client.get(f"{reverse('safety_cells:patrol-new')}?unit={unit.pk}")
    assert patrol_form.context["form"].initial["unit"] == unit.pk


@pytest.mark.parametrize(
    "data, field",
    [
        ({"level": "county"}, "level"),  # a village is not a county: the command's rule
        ({"kind": "security_committee", "level": "township", "region": DONGGUAN}, "kind"),
        ({"region": "５２０４０２００５"}, "region"),
        ({"region": "529999999999"}, "region"),
        ({"name": ""}, "name"),
        ({"name": "队\x00"}, "name"),
        ({"level": "galaxy"}, "level"),
    ],
)
def test_unit_input_errors(client, data, field):
    client.force_login(official())
    village = Region.objects.filter(level="village", code__startswith=DONGGUAN).order_by("code").first()
    posted = {"name": "测试队", "level": "village", "kind": "patrol_team", "region": village.code, **data}
    response = client.post(UNIT_NEW, posted)
    assert response.status_code == 400 and response.context["form"].errors[field]
    assert not PreventionUnit.objects.exists()


def test_a_unit_in_another_county_is_refused_like_an_unknown_code(client):
    client.force_login(official())
    far = Region.objects.filter(level="village", code__startswith=ZIYUN).order_by("code").first()
    answers = [
        client.post(UNIT_NEW, {"name": "越界队", "level": "village", "kind": "patrol_team", "region": code})
        for code in (far.code, "529999999999")
    ]
    assert [r.context["form"].errors["region"] for r in answers] == [
        [zh("Not found in your jurisdiction.")]
    ] * 2
    assert not PreventionUnit.objects.filter(name="越界队").exists()


def test_another_countys_unit_is_a_404_and_gets_no_member(client):
    far_village = Region.objects.filter(level="village", code__startswith=ZIYUN).order_by("code").first()
    unit = PreventionUnit.objects.create(name="紫云巡防队", level="village", region=far_village)
    client.force_login(official())
    url = reverse("safety_cells:unit", args=[unit.pk])
    missing = reverse("safety_cells:unit", args=[unit.pk + 10_000])
    for target in (url, missing):
        assert client.get(target).status_code == 404
        assert client.post(target, {"name": "某人"}).status_code == 404
    assert not UnitMember.objects.exists()


def test_units_need_the_capability_to_be_set_up_or_manned(client):
    village = Region.objects.filter(level="village", code__startswith=DONGGUAN).order_by("code").first()
    unit = PreventionUnit.objects.create(
        name="塔山治保会", level="village", kind="security_committee", region=village
    )
    client.force_login(user_for_role(Role.GRID_WORKER))
    assert client.get(UNITS).status_code == 200  # grid workers see the structure...
    detail = client.get(reverse("safety_cells:unit", args=[unit.pk]))
    assert detail.status_code == 200 and 'id="member-form"' not in detail.content.decode()
    assert "log-patrol-link" not in detail.content.decode()  # a committee does not patrol
    assert client.get(UNIT_NEW).status_code == 403  # ...but do not set it up
    assert client.post(UNIT_NEW, {"name": "x", "level": "village", "kind": "patrol_team"}).status_code == 403
    assert client.post(reverse("safety_cells:unit", args=[unit.pk]), {"name": "某人"}).status_code == 403
    client.force_login(user_for_role(Role.MEDIATOR))
    assert client.get(UNITS).status_code == 403
    assert not UnitMember.objects.exists() and PreventionUnit.objects.count() == 1


def test_member_input_errors(client):
    village = Region.objects.filter(level="village", code__startswith=DONGGUAN).order_by("code").first()
    unit = PreventionUnit.objects.create(name="塔山巡防队", level="village", region=village)
    client.force_login(official())
    url = reverse("safety_cells:unit", args=[unit.pk])
    for data, field in (
        ({"name": ""}, "name"),
        ({"name": "甲\x00"}, "name"),
        ({"name": "甲", "phone": "１３８"}, "phone"),
    ):
        response = client.post(url, {"duty": "队员", **data})
        assert response.status_code == 400 and response.context["member_form"].errors[field]
        assert 'value="队员"' in response.content.decode()
    assert not UnitMember.objects.exists()


def test_the_unit_list_counts_per_level_and_its_query_count_does_not_grow(client):
    villages = list(Region.objects.filter(level="village", code__startswith=DONGGUAN).order_by("code")[:10])
    PreventionUnit.objects.create(name="东关治安巡逻队", level="township", region=villages[0].parent)
    far = Region.objects.filter(level="village", code__startswith=ZIYUN).first()
    PreventionUnit.objects.create(name="紫云巡防队", level="village", region=far)
    client.force_login(official())
    before = _queries(client, UNITS)
    for village in villages:
        unit = PreventionUnit.objects.create(name=f"{village.code}巡防队", level="village", region=village)
        UnitMember.objects.create(unit=unit, name="队员")
    assert _queries(client, UNITS) == before
    page = client.get(UNITS)
    totals = {level["level"]: level["total"] for level in page.context["levels"]}
    assert totals == {"city": 0, "county": 0, "township": 1, "village": 10}
    assert "紫云巡防队" not in page.content.decode()
    village_only = client.get(UNITS, {"level": "village"})
    assert {u.level for u in village_only.context["units"]} == {"village"}
    assert all(u.member_count == 1 for u in village_only.context["units"])
