"""Writes: scoring, placement inside the region, patrol validation. Bad input writes nothing."""

import datetime
import uuid

import pytest
from django.apps import apps as django_apps
from django.contrib.gis.geos import LineString, Point, Polygon
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.roles import Role
from grids.models import Region
from safety_cells import services
from safety_cells.models import (
    CellType,
    Criterion,
    Evaluation,
    EvaluationScore,
    PatrolLog,
    PreventionUnit,
    SafetyCell,
)
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def _admin():
    """Every command needs an actor; an administrator may run each one anywhere."""
    return user_for_role(Role.ADMIN)


@pytest.fixture
def estate_type():
    cell_type = CellType.objects.get(code="estate")
    Criterion.objects.bulk_create(
        [
            Criterion(cell_type=cell_type, name="监控", max_score=20, position=0),
            Criterion(cell_type=cell_type, name="巡逻", max_score=10, position=1),
            Criterion(cell_type=cell_type, name="案件", max_score=10, position=2),
        ]
    )
    return cell_type


@pytest.fixture
def dongguan():
    return Region.objects.get(code="520402005")


@pytest.fixture
def cell(estate_type, dongguan):
    return services.safety_cell_create(
        actor=_admin(),
        name="测试小区",
        cell_type=estate_type,
        region=dongguan,
        location=dongguan.boundary.point_on_surface,
    )


def test_the_migration_seeds_the_four_article_types_and_more_can_be_added():
    from tests.safety_cells.conftest import SEED_MIGRATION

    CellType.objects.all().delete()
    SEED_MIGRATION.seed_cell_types(django_apps, None)
    assert set(CellType.objects.values_list("code", flat=True)) == {"family", "village", "campus", "estate"}
    hospital = CellType.objects.create(code="hospital-test", name="平安医院")
    assert hospital.pk


def test_evaluation_totals_every_criterion(cell, estate_type):
    evaluator = user_for_role(Role.TOWNSHIP_OFFICIAL)
    criteria = list(estate_type.criteria.order_by("position"))
    scores = {criteria[0].pk: 18, criteria[1].pk: 7, criteria[2].pk: 10}
    photo = SimpleUploadedFile("gate.jpg", b"\xff\xd8\xff fake jpeg", content_type="image/jpeg")
    evaluation = services.evaluation_record(cell=cell, actor=evaluator, scores=scores, photos=[photo])
    assert (evaluation.total_score, evaluation.max_total) == (35, 40)
    assert evaluation.percentage == 87.5
    assert dict(evaluation.scores.values_list("criterion_id", "score")) == scores
    stored = evaluation.photos.get()
    assert stored.image.name.startswith("safety-evaluations/") and stored.image.storage.exists(
        stored.image.name
    )
    stored.image.delete()


@pytest.mark.parametrize(
    "bad",
    [
        {0: 21, 1: 5, 2: 5},  # above the maximum
        {0: -1, 1: 5, 2: 5},  # below zero
        {0: 10, 1: 5},  # a criterion left out
        {0: 10, 1: 5, 2: 5, "foreign": 3},  # a criterion of another type
    ],
    ids=["above-max", "negative", "missing", "foreign"],
)
def test_a_bad_score_writes_nothing(cell, estate_type, bad):
    criteria = list(estate_type.criteria.order_by("position"))
    foreign = Criterion.objects.exclude(cell_type=estate_type).first() or Criterion.objects.create(
        cell_type=CellType.objects.get(code="family"), name="和睦", max_score=10
    )
    scores = {(foreign.pk if key == "foreign" else criteria[key].pk): value for key, value in bad.items()}
    with pytest.raises(ValidationError) as error:
        services.evaluation_record(cell=cell, actor=user_for_role(Role.ADMIN), scores=scores)
    assert "scores" in error.value.message_dict
    assert not Evaluation.objects.exists() and not EvaluationScore.objects.exists()


def test_a_photo_of_the_wrong_kind_writes_nothing(cell, estate_type):
    scores = {c.pk: 1 for c in estate_type.criteria.all()}
    exe = SimpleUploadedFile("virus.exe", b"MZ")
    with pytest.raises(ValidationError) as error:
        services.evaluation_record(cell=cell, actor=user_for_role(Role.ADMIN), scores=scores, photos=[exe])
    assert "photos" in error.value.message_dict
    assert not Evaluation.objects.exists()


def test_a_site_outside_its_region_is_a_field_error(estate_type, dongguan):
    ziyun_point = Region.objects.get(code="520425101").boundary.point_on_surface
    with pytest.raises(ValidationError) as error:
        services.safety_cell_create(
            actor=_admin(), name="错位", cell_type=estate_type, region=dongguan, location=ziyun_point
        )
    assert "location" in error.value.message_dict
    assert not SafetyCell.objects.exists()


def test_the_platform_coded_zone_community_has_a_boundary_to_check_against(estate_type):
    from safety_cells.demo import ensure_zone_places

    community = ensure_zone_places()
    assert community.path == "5204/520471/520471001/520471001001/"
    inside = services.safety_cell_create(
        actor=_admin(),
        name="星光",
        cell_type=estate_type,
        region=community,
        location=community.boundary.point_on_surface,
    )
    assert inside.pk
    x0, y0, x1, y1 = community.boundary.extent
    with pytest.raises(ValidationError) as error:
        services.safety_cell_create(
            actor=_admin(),
            name="界外",
            cell_type=estate_type,
            region=community,
            location=Point(x1 + 0.01, y1, srid=4326),
        )
    assert "location" in error.value.message_dict


def test_designation_period_cannot_end_before_it_starts(cell):
    with pytest.raises(ValidationError) as error:
        services.demonstration_site_designate(
            actor=_admin(),
            cell=cell,
            designated_on=datetime.date(2018, 1, 1),
            valid_until=datetime.date(2017, 1, 1),
        )
    assert "valid_until" in error.value.message_dict
    cell.refresh_from_db()
    assert not cell.is_demonstration_site
    services.demonstration_site_designate(
        actor=_admin(), cell=cell, designated_on=datetime.date(2017, 3, 1), valid_until=None
    )
    cell.refresh_from_db()
    assert cell.is_current_demonstration_site()
    assert not cell.is_current_demonstration_site(on=datetime.date(2016, 12, 31))


def test_on_site_meeting_visits_sites_inside_the_host_region(cell):
    city = Region.objects.get(code="5204")
    meeting = services.on_site_meeting_record(
        actor=_admin(),
        title="2017年现场会",
        held_on=datetime.date(2017, 5, 15),
        host_region=city,
        sites=[cell],
        conclusions="推广",
    )
    assert list(meeting.sites_visited.all()) == [cell]
    with pytest.raises(ValidationError):
        services.on_site_meeting_record(
            actor=_admin(),
            title="紫云现场会",
            held_on=datetime.date(2017, 5, 15),
            host_region=Region.objects.get(code="520425"),
            sites=[cell],
            conclusions="x",
        )


@pytest.fixture
def team():
    village = Region.objects.get(code="520402005001")
    return PreventionUnit.objects.create(
        name="测试巡防队", level="village", kind="patrol_team", region=village
    )


def _route(village_code="520402005001"):
    village = Region.objects.get(code=village_code)
    x0, y0, x1, y1 = village.boundary.extent
    return LineString((x0, y0), ((x0 + x1) / 2, (y0 + y1) / 2), srid=4326)


def test_patrol_is_logged_once_per_client_id(team):
    user = user_for_role(Role.GRID_WORKER)
    now = timezone.now()
    key = uuid.uuid4()
    arguments = dict(
        unit=team,
        actor=user,
        started_at=now - datetime.timedelta(hours=2),
        ended_at=now,
        route=_route().geojson,
        client_uuid=key,
    )
    first = services.patrol_log(**arguments)
    again = services.patrol_log(**arguments)
    assert first.pk == again.pk and PatrolLog.objects.count() == 1
    assert first.route.geom_type == "LineString"


@pytest.mark.parametrize(
    "route, field",
    [
        (Point(105.9, 26.2, srid=4326), "route"),
        (Polygon(((105.9, 26.2), (105.91, 26.2), (105.91, 26.21), (105.9, 26.2)), srid=4326), "route"),
        ('{"type": "LineString", "coordinates": [[105.9, 26.2]]}', "route"),
        ("not geometry", "route"),
        (None, "route"),
    ],
    ids=["point", "polygon", "one-point", "garbage", "missing"],
)
def test_a_route_that_is_not_a_line_writes_nothing(team, route, field):
    now = timezone.now()
    with pytest.raises(ValidationError) as error:
        services.patrol_log(
            unit=team,
            actor=user_for_role(Role.GRID_WORKER),
            started_at=now - datetime.timedelta(hours=1),
            ended_at=now,
            route=route,
        )
    assert field in error.value.message_dict
    assert not PatrolLog.objects.exists()


def test_a_patrol_ending_before_it_starts_writes_nothing(team):
    now = timezone.now()
    with pytest.raises(ValidationError) as error:
        services.patrol_log(
            unit=team,
            actor=user_for_role(Role.GRID_WORKER),
            started_at=now,
            ended_at=now - datetime.timedelta(minutes=5),
            route=_route(),
        )
    assert "ended_at" in error.value.message_dict
    assert not PatrolLog.objects.exists()


def test_a_camera_is_placed_in_its_village_and_grid():
    village = Region.objects.get(code="520402005001")
    grid = village.grids.order_by("code").first()
    camera = services.camera_register(
        actor=_admin(),
        code="T-1",
        phase=4,
        location=grid.geometry.point_on_surface,
        owner="西秀分局",
        status="building",
    )
    assert (camera.village_id, camera.grid_id) == (village.pk, grid.pk)
    with pytest.raises(ValidationError) as error:
        services.camera_register(
            actor=_admin(), code="T-2", phase=5, location=grid.geometry.point_on_surface, owner="x"
        )
    assert "phase" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.camera_register(
            actor=_admin(), code="T-3", phase=1, location=Point(0, 0, srid=4326), owner="x"
        )


def test_a_photo_is_judged_by_its_bytes_not_its_name(cell, estate_type):
    scores = {c.pk: 1 for c in estate_type.criteria.all()}
    disguised = SimpleUploadedFile("gate.jpg", b"MZ\x90\x00 not a picture", content_type="image/jpeg")
    with pytest.raises(ValidationError) as error:
        services.evaluation_record(
            cell=cell, actor=user_for_role(Role.ADMIN), scores=scores, photos=[disguised]
        )
    assert "photos" in error.value.message_dict
    assert not Evaluation.objects.exists()
