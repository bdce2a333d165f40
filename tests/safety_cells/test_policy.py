"""The safe-cell command boundary, tried as an attacker would: every write through every door
(service, API, page, admin) by an actor out of scope and by a role without the capability; and
the safety routes closed to roles without ``safety.view`` (issue #12, item 5)."""

import datetime
import uuid

import pytest
from django.contrib.gis.geos import LineString
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from accounts.roles import Role
from anshun.commands import COMMANDS, SYSTEM_COMMANDS, Conflict, NotFound, NotPermitted
from grids.models import Grid, Region
from incidents.models import Duty, Incident, IncidentCategory
from safety_cells import services
from safety_cells.models import (
    Camera,
    CellType,
    Criterion,
    Evaluation,
    OnSiteMeeting,
    PatrolLog,
    PreventionUnit,
    SafetyCell,
    UnitMember,
)
from safety_cells.policy import POLICY
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

HOME_TOWNSHIP, HOME_VILLAGE, FAR_COUNTY, FAR_TOWNSHIP = "520402005", "520402005001", "520425", "520425101"


def not_here() -> str:
    return gettext("Not found in your jurisdiction.")


def snapshot():
    """Every table a safe-cell command writes, to prove that a refusal wrote nothing."""
    return (
        list(SafetyCell.objects.order_by("pk").values_list("pk", "is_demonstration_site", "designated_on")),
        Evaluation.objects.count(),
        OnSiteMeeting.objects.count(),
        PatrolLog.objects.count(),
        Camera.objects.count(),
        PreventionUnit.objects.count(),
        UnitMember.objects.count(),
    )


@pytest.fixture
def world():
    admin = user_for_role(Role.ADMIN)
    cell_type = CellType.objects.get(code="estate")
    Criterion.objects.create(cell_type=cell_type, name="监控", max_score=10)
    home, far = Region.objects.get(code=HOME_TOWNSHIP), Region.objects.get(code=FAR_TOWNSHIP)

    def cell(region, name):
        return services.safety_cell_create(
            actor=admin,
            name=name,
            cell_type=cell_type,
            region=region,
            location=region.boundary.point_on_surface,
        )

    worker = user_for_role(Role.GRID_WORKER)
    home_village = Grid.objects.filter(office=worker.grid_office).first().village
    far_grid = Grid.objects.filter(village__code__startswith=FAR_TOWNSHIP).order_by("code").first()
    far_worker = user_for_role(Role.GRID_WORKER, office=far_grid.office)
    category, _ = IncidentCategory.objects.get_or_create(
        code="test-public-order", defaults={"name": "治安隐患", "duty": Duty.PUBLIC_ORDER}
    )
    far_incident = Incident.objects.create(category=category, description="t", grid=far_grid)
    far_incident.offices.add(far_grid.office_id)
    return {
        "admin": admin,
        "type": cell_type,
        "home": home,
        "far": far,
        "home_cell": cell(home, "东关测试小区"),
        "far_cell": cell(far, "格凸河测试小区"),
        "home_team": PreventionUnit.objects.create(
            name="测试巡防队", level="village", kind="patrol_team", region=home_village
        ),
        "far_team": PreventionUnit.objects.create(
            name="远方巡防队", level="village", kind="patrol_team", region=far_grid.village
        ),
        "worker": worker,
        "far_worker": far_worker,
        "official": user_for_role(Role.TOWNSHIP_OFFICIAL),
        "far_official": user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code=FAR_COUNTY)),
        "home_grid": Grid.objects.filter(office=worker.grid_office).first(),
        "far_incident": far_incident,
    }


def _route(region) -> LineString:
    x0, y0, x1, y1 = region.boundary.extent
    return LineString((x0, y0), ((x0 + x1) / 2, (y0 + y1) / 2), srid=4326)


def _calls(w, actor):
    """Each command, called by ``actor`` on the home township's objects."""
    now = timezone.now()
    return {
        "safety_cell_create": lambda: services.safety_cell_create(
            actor=actor, name="新小区", cell_type=w["type"], region=w["home"], location=None
        ),
        "demonstration_site_designate": lambda: services.demonstration_site_designate(
            actor=actor, cell=w["home_cell"], designated_on=datetime.date(2020, 1, 1), valid_until=None
        ),
        "evaluation_record": lambda: services.evaluation_record(
            actor=actor, cell=w["home_cell"], scores={c.pk: 1 for c in w["type"].criteria.all()}
        ),
        "on_site_meeting_record": lambda: services.on_site_meeting_record(
            actor=actor,
            title="现场会",
            held_on=datetime.date(2020, 5, 1),
            host_region=w["home"],
            sites=[w["home_cell"]],
            conclusions="x",
        ),
        "patrol_log": lambda: services.patrol_log(
            actor=actor,
            unit=w["home_team"],
            started_at=now - datetime.timedelta(hours=1),
            ended_at=now,
            route=_route(w["home_team"].region),
        ),
        "camera_register": lambda: services.camera_register(
            actor=actor, code="T-9", phase=1, location=w["home_grid"].geometry.point_on_surface, owner="x"
        ),
        "prevention_unit_create": lambda: services.prevention_unit_create(
            actor=actor, name="新巡逻队", level="township", kind="patrol_team", region=w["home"]
        ),
        "unit_member_add": lambda: services.unit_member_add(actor=actor, unit=w["home_team"], name="新队员"),
    }


# --- the table ----------------------------------------------------------------------------------


def test_every_safety_command_is_in_the_table_and_can_be_probed():
    ours = {name: c for name, c in COMMANDS.items() if name.startswith("safety_cells.")}
    assert set(ours) == {f"safety_cells.{name}" for name in POLICY.rules}
    for name, command in ours.items():
        assert command.rule.target or command.rule.refers or name.endswith("camera_register"), name
        assert command.rule.why
    assert any(key == "safety_cells.demo.load_demo" for key in SYSTEM_COMMANDS)


# --- the service door ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(POLICY.rules))
def test_each_command_refuses_roles_without_the_capability(world, name):
    before = snapshot()
    for role in (Role.LAWYER, Role.MEDIATOR, Role.CASE_OFFICER, Role.AUDITOR):
        with pytest.raises(NotPermitted):
            _calls(world, user_for_role(role))[name]()
    if POLICY.rule(name).capability == "safety.manage":
        with pytest.raises(NotPermitted):
            _calls(world, world["worker"])[name]()
    assert snapshot() == before


def test_each_command_refuses_an_actor_out_of_scope(world):
    before = snapshot()
    official, worker = world["far_official"], world["far_worker"]
    expected = {
        "safety_cell_create": {"region": [not_here()]},
        "evaluation_record": {"cell": [not_here()]},
        "on_site_meeting_record": {"host_region": [not_here()], "sites": [not_here()]},
        "prevention_unit_create": {"region": [not_here()]},
    }
    for name, errors in expected.items():
        with pytest.raises(ValidationError) as refused:
            _calls(world, official)[name]()
        assert refused.value.message_dict == errors, name
    for name in ("demonstration_site_designate", "unit_member_add"):
        with pytest.raises(NotFound):
            _calls(world, official)[name]()
    with pytest.raises(ValidationError) as refused:
        _calls(world, official)["camera_register"]()
    assert list(refused.value.message_dict) == ["location"]
    with pytest.raises(ValidationError) as refused:
        _calls(world, worker)["patrol_log"]()
    assert refused.value.message_dict == {"unit": [not_here()]}
    assert snapshot() == before


def test_a_patrol_cannot_claim_incidents_out_of_sight(world):
    now = timezone.now()
    with pytest.raises(ValidationError) as refused:
        services.patrol_log(
            actor=world["worker"],
            unit=world["home_team"],
            started_at=now - datetime.timedelta(hours=1),
            ended_at=now,
            route=_route(world["home_team"].region),
            incidents=[world["far_incident"]],
        )
    assert refused.value.message_dict == {"incidents": [not_here()]}
    assert not PatrolLog.objects.exists()


def test_a_patrol_client_id_used_out_of_sight_is_a_conflict_not_the_record(world):
    now = timezone.now()
    key = uuid.uuid4()
    arguments = {
        "started_at": now - datetime.timedelta(hours=1),
        "ended_at": now,
        "client_uuid": key,
    }
    theirs = services.patrol_log(
        actor=world["far_worker"], unit=world["far_team"], route=_route(world["far_team"].region), **arguments
    )
    with pytest.raises(Conflict):
        services.patrol_log(
            actor=world["worker"],
            unit=world["home_team"],
            route=_route(world["home_team"].region),
            **arguments,
        )
    assert list(PatrolLog.objects.all()) == [theirs]


# --- the API door -------------------------------------------------------------------------------

READ_ROUTES = ["safety-cell", "safety-evaluation", "prevention-unit", "patrol-log", "camera"]


@pytest.mark.parametrize("role", [Role.LAWYER, Role.MEDIATOR, Role.CASE_OFFICER])
def test_roles_without_safety_view_get_403_on_every_safety_route(api_client, world, role):
    services.camera_register(
        actor=world["admin"],
        code="T-1",
        phase=1,
        location=world["home_grid"].geometry.point_on_surface,
        owner="x",
    )
    api_client.force_authenticate(user_for_role(role))
    before = snapshot()
    ids = {
        "safety-cell": world["home_cell"].pk,
        "safety-evaluation": 1,
        "prevention-unit": world["home_team"].pk,
        "patrol-log": 1,
        "camera": Camera.objects.get().pk,
    }
    for basename in READ_ROUTES:
        assert api_client.get(reverse(f"{basename}-list")).status_code == 403, basename
        assert api_client.get(reverse(f"{basename}-detail", args=[ids[basename]])).status_code == 403, (
            basename
        )
    assert api_client.get(reverse("prevention-unit-coverage")).status_code == 403
    for basename in ("safety-cell", "safety-evaluation", "patrol-log"):
        assert api_client.post(reverse(f"{basename}-list"), {}, format="json").status_code == 403, basename
    assert snapshot() == before


def test_api_creates_by_a_role_without_the_capability_are_403(api_client, world):
    api_client.force_authenticate(world["worker"])  # sees safe cells, may not manage them
    before = snapshot()
    body = {"name": "x", "cell_type": "estate", "region": HOME_TOWNSHIP, "location": None}
    assert api_client.post(reverse("safety-cell-list"), body, format="json").status_code == 403
    evaluation = {"cell": world["home_cell"].pk, "scores": [{"criterion": 1, "score": 1}]}
    assert api_client.post(reverse("safety-evaluation-list"), evaluation, format="json").status_code == 403
    api_client.force_authenticate(user_for_role(Role.COUNTY_OFFICIAL))  # manages, does not patrol
    patrol = {"unit": world["home_team"].pk, "started_at": "2021-01-01T10:00:00+08:00"}
    assert api_client.post(reverse("patrol-log-list"), patrol, format="json").status_code == 403
    assert snapshot() == before


def _post(api_client, basename, body):
    response = api_client.post(reverse(f"{basename}-list"), body, format="json")
    return response.status_code, response.json()


def test_api_answers_out_of_scope_and_does_not_exist_the_same(api_client, world):
    before = snapshot()
    official = world["official"]
    api_client.force_authenticate(official)
    far = world["far"].boundary.point_on_surface
    cell = {
        "name": "x",
        "cell_type": "estate",
        "location": {"type": "Point", "coordinates": list(far.coords)},
    }
    hidden = _post(api_client, "safety-cell", {**cell, "region": FAR_TOWNSHIP})
    unknown = _post(api_client, "safety-cell", {**cell, "region": "999999999"})
    assert hidden == unknown == (400, {"region": [not_here()]})
    scores = [{"criterion": c.pk, "score": 1} for c in world["type"].criteria.all()]
    hidden = _post(api_client, "safety-evaluation", {"cell": world["far_cell"].pk, "scores": scores})
    unknown = _post(api_client, "safety-evaluation", {"cell": 10**9, "scores": scores})
    assert hidden == unknown == (400, {"cell": [not_here()]})

    api_client.force_authenticate(world["worker"])
    patrol = {
        "started_at": "2021-01-01T10:00:00+08:00",
        "ended_at": "2021-01-01T12:00:00+08:00",
        "route": {"type": "LineString", "coordinates": list(_route(world["far"]).coords)},
    }
    hidden = _post(api_client, "patrol-log", {**patrol, "unit": world["far_team"].pk})
    unknown = _post(api_client, "patrol-log", {**patrol, "unit": 10**9})
    assert hidden == unknown == (400, {"unit": [not_here()]})
    own = {**patrol, "unit": world["home_team"].pk}
    hidden = _post(api_client, "patrol-log", {**own, "incidents": [world["far_incident"].pk]})
    unknown = _post(api_client, "patrol-log", {**own, "incidents": [10**9]})
    assert hidden == unknown == (400, {"incidents": [not_here()]})
    assert snapshot() == before


@pytest.mark.parametrize("basename", ["safety-cell", "patrol-log", "camera"])
def test_the_within_filter_answers_out_of_scope_and_unknown_alike(api_client, world, basename):
    services.camera_register(
        actor=world["admin"],
        code="T-1",
        phase=1,
        location=world["home_grid"].geometry.point_on_surface,
        owner="x",
    )
    api_client.force_authenticate(world["official"])
    everything = api_client.get(reverse(f"{basename}-list")).json()
    hidden = api_client.get(reverse(f"{basename}-list"), {"within": FAR_COUNTY}).json()
    unknown = api_client.get(reverse(f"{basename}-list"), {"within": "999999"}).json()
    assert hidden == unknown and hidden["features"] == []
    if basename != "patrol-log":
        assert everything["features"], "the unfiltered list is not empty, so the filter did the work"


def test_the_coverage_within_filter_answers_out_of_scope_and_unknown_alike(api_client, world):
    api_client.force_authenticate(world["official"])
    hidden = api_client.get(reverse("prevention-unit-coverage"), {"within": FAR_COUNTY}).json()
    unknown = api_client.get(reverse("prevention-unit-coverage"), {"within": "999999"}).json()
    assert hidden == unknown and hidden["villages"] == 0


# --- the page door ------------------------------------------------------------------------------


def test_the_evaluation_page_refuses_outsiders_and_roles(client, world):
    before = snapshot()
    url = reverse("safety_cells:evaluate", args=[world["home_cell"].pk])
    body = {"evaluated_on": "2021-01-01", **{f"score_{c.pk}": 1 for c in world["type"].criteria.all()}}
    client.force_login(world["far_official"])
    assert client.post(url, body).status_code == 404
    for user in (world["worker"], user_for_role(Role.LAWYER)):
        client.force_login(user)
        assert client.post(url, body).status_code == 403
    assert snapshot() == before


def test_the_patrol_page_refuses_a_unit_out_of_scope_and_roles(client, world):
    before = snapshot()
    url = reverse("safety_cells:patrol-new")
    body = {
        "unit": world["home_team"].pk,
        "started_at": "2021-01-01T10:00",
        "ended_at": "2021-01-01T12:00",
        "route": _route(world["home_team"].region).geojson,
    }
    client.force_login(world["far_worker"])
    response = client.post(url, body)
    assert response.status_code == 200 and "unit" in response.context["form"].errors
    client.force_login(user_for_role(Role.LAWYER))
    assert client.post(url, body).status_code == 403
    assert snapshot() == before
    client.force_login(world["worker"])
    assert client.post(url, body).status_code == 302
    assert PatrolLog.objects.get().logged_by == world["worker"]


# --- the admin door -----------------------------------------------------------------------------


def test_the_admin_adds_through_the_commands_and_changes_nothing_else(client, world):
    client.force_login(world["admin"])
    before = snapshot()
    outside = world["far"].boundary.point_on_surface
    form = {
        "name": "后台小区",
        "cell_type": world["type"].pk,
        "region": world["home"].pk,
        "location": outside.geojson,
        "address": "",
    }
    refused = client.post(reverse("admin:safety_cells_safetycell_add"), form)
    assert refused.status_code == 200 and "location" in refused.context["adminform"].form.errors
    assert snapshot() == before
    inside = world["home"].boundary.point_on_surface
    created = client.post(reverse("admin:safety_cells_safetycell_add"), {**form, "location": inside.geojson})
    assert created.status_code == 302, created.context["adminform"].form.errors
    cell = SafetyCell.objects.get(name="后台小区")
    assert cell.region == world["home"]
    # No delete, and no change but the designation (through its command).
    delete = reverse("admin:safety_cells_safetycell_delete", args=[cell.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    change = reverse("admin:safety_cells_safetycell_change", args=[cell.pk])
    bad = client.post(change, {"designated_on": "2020-01-01", "valid_until": "2019-01-01"})
    assert bad.status_code == 200 and "valid_until" in bad.context["adminform"].form.errors
    good = client.post(change, {"designated_on": "2020-01-01", "valid_until": ""})
    assert good.status_code == 302
    cell.refresh_from_db()
    assert cell.is_demonstration_site and cell.designated_on == datetime.date(2020, 1, 1)
    # A camera is placed by the command, which finds its village and grid.
    point = world["home_grid"].geometry.point_on_surface
    camera = client.post(
        reverse("admin:safety_cells_camera_add"),
        {
            "code": "ADM-1",
            "name": "",
            "phase": 1,
            "location": point.geojson,
            "status": "online",
            "owner": "x",
        },
    )
    assert camera.status_code == 302, camera.context["adminform"].form.errors
    assert Camera.objects.get(code="ADM-1").grid == world["home_grid"]


def test_the_admin_is_read_only_where_no_command_writes(client, world):
    evaluation = services.evaluation_record(
        actor=world["admin"], cell=world["home_cell"], scores={c.pk: 1 for c in world["type"].criteria.all()}
    )
    client.force_login(world["admin"])
    before = snapshot()
    for model, pk in (("evaluation", evaluation.pk), ("preventionunit", world["home_team"].pk)):
        change = reverse(f"admin:safety_cells_{model}_change", args=[pk])
        assert client.get(change).status_code == 200
        assert client.post(change, {}).status_code == 403
        assert (
            client.post(reverse(f"admin:safety_cells_{model}_delete", args=[pk]), {"post": "yes"}).status_code
            == 403
        )
    for model in ("evaluation", "patrollog", "shift", "devicedistribution"):
        assert client.get(reverse(f"admin:safety_cells_{model}_add")).status_code == 403, model
    assert snapshot() == before and PreventionUnit.objects.filter(pk=world["home_team"].pk).exists()
