"""One object of every audited model, made through its service inside 西秀区 (520402) or, for the
out-of-jurisdiction probes, inside 紫云 (520425)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.apps import apps as django_apps
from django.contrib.gis.geos import Point
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.roles import Role, SpecialProject
from grids.models import Grid, Region
from incidents.categories import seed_categories
from incidents.models import IncidentCategory
from incidents.services.reporting import report_incident
from mediation import seed
from mediation import services as mediation_services
from mediation.models import MediationCommittee
from safety_cells.models import CellType, Criterion
from safety_cells.services import evaluation_record, safety_cell_create
from special_groups.services import person_enroll
from surveys.demo import loader_actor
from surveys.models import Item, Metric
from surveys.services.setup import counting_rule_set, item_ensure, wave_ensure
from tests.factories import api_token_for, user_for_role
from tests.special_groups.helpers import id_number

SEED_CELLS = importlib.import_module("safety_cells.migrations.0002_types_evaluations_prevention")
XIXIU, ZIYUN = "520402", "520425"


def village(prefix: str) -> Region:
    return Region.objects.filter(level="village", code__startswith=prefix).order_by("code").first()


def point_in(grid: Grid) -> Point:
    point = grid.geometry.point_on_surface
    return Point(point.x, point.y, srid=4326)


def token_client(user) -> APIClient:
    """A client that signs in the way sync clients do: ``Authorization: Token …``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


@dataclass
class County:
    """The people and objects of one county, each object made by its own actor."""

    code: str
    worker: object
    mediator: object
    officer: object
    official: object
    admin: object
    incident: object
    case: object
    enrollment: object
    evaluation: object


def make_county(code: str, *, suffix: str, township: str) -> County:
    seed_categories()
    SEED_CELLS.seed_cell_types(django_apps, None)
    seed.ensure_professional_committees()
    grid = Grid.objects.filter(code__startswith=township, office__isnull=False).order_by("code").first()
    place = grid.village
    worker = user_for_role(Role.GRID_WORKER, office=grid.office, username=f"worker-{suffix}")
    county = Region.objects.get(code=code)
    mediator = user_for_role(Role.MEDIATOR, region=county, username=f"mediator-{suffix}")
    traffic = MediationCommittee.objects.get(dispute_type="道路交通事故")
    mediation_services.membership_add(
        actor=user_for_role(Role.ADMIN), committee=traffic, user=mediator, speciality="道路交通事故"
    )
    officer = user_for_role(
        Role.CASE_OFFICER, region=county, project=SpecialProject.HUIGUI, username=f"officer-{suffix}"
    )
    official = user_for_role(Role.COUNTY_OFFICIAL, region=county, username=f"official-{suffix}")
    admin = user_for_role(Role.ADMIN, username=f"admin-{suffix}")
    category = IncidentCategory.objects.get(code="exposed-rubbish")
    incident, _created = report_incident(
        actor=worker, category=category, description="路边垃圾堆放", location=point_in(grid)
    )
    case = mediation_services.case_open(
        actor=mediator,
        committee=traffic,
        region=place,
        dispute_type="道路交通事故",
        summary="追尾",
        intake_date=timezone.localdate(),
        parties=[
            mediation_services.PartyInput(name="张三"),
            mediation_services.PartyInput(name="李四", side="respondent"),
        ],
        mediator=mediator,
    )
    enrollment = person_enroll(
        actor=officer,
        name="王秘密",
        id_number=id_number(code),
        region=place,
        phone="13900001111",
        address="秘密路8号",
        release_date=timezone.localdate() + timedelta(days=30),
    )
    cell_type = CellType.objects.order_by("code").first()
    if not cell_type.criteria.exists():
        Criterion.objects.bulk_create(
            Criterion(cell_type=cell_type, name=name, max_score=10, position=i)
            for i, name in enumerate(["组织健全", "防范到位"])
        )
    cell = safety_cell_create(
        actor=admin, name=f"测试小区{suffix}", cell_type=cell_type, region=place, location=None
    )
    evaluation = evaluation_record(
        actor=official, cell=cell, scores={c.pk: c.max_score for c in cell_type.criteria.all()}
    )
    return County(code, worker, mediator, officer, official, admin, incident, case, enrollment, evaluation)


@pytest.fixture(autouse=True)
def _clock(controlled_clock):
    """Mediation cases are taken in today and their legal deadlines counted from it, enrolments
    and evaluations are dated today: every test here runs at ``FIXED_NOW``."""
    return controlled_clock


@pytest.fixture
def xixiu(db):
    return make_county(XIXIU, suffix="xx", township="520402005")


@pytest.fixture
def ziyun(db):
    return make_county(ZIYUN, suffix="zy", township="520425")


@pytest.fixture
def counting_rule(db):
    admin = user_for_role(Role.ADMIN, username="rules-admin")
    wave = wave_ensure(
        actor=loader_actor(),
        code="audit-2026",
        name="2026 年度",
        year=2026,
        starts_on=date(2026, 3, 1),
        ends_on=date(2026, 4, 30),
    )
    item = Item.objects.filter(metric=Metric.SECURITY_SENSE).first() or item_ensure(
        actor=loader_actor(),
        code="audit-security",
        metric=Metric.SECURITY_SENSE,
        question="您觉得安全吗？",
        scale=["很安全", "安全", "基本安全", "不太安全", "不安全", "说不清"],
        cant_say=5,
    )
    rule = counting_rule_set(
        wave=wave, item=item, counted=[0, 1, 2], cant_say_in_denominator=True, actor=admin
    )
    return rule, admin


def auditor_of(code: str, **extra):
    return user_for_role(Role.AUDITOR, region=Region.objects.get(code=code), **extra)
