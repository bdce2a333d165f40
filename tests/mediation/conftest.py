"""Fixtures for the mediation tests: the seeded committees, mediators on them, and a
conflicts-and-disputes incident in a 西秀 grid."""

from datetime import date

import pytest

from accounts.roles import Role
from grids.models import Grid, Region
from incidents.models import Duty, Incident, IncidentCategory
from mediation import seed, services
from mediation.models import MediationCommittee
from tests.factories import user_for_role

XIXIU = "520402"
DONGGUAN = "520402005"


@pytest.fixture(autouse=True)
def _clock(controlled_clock):
    """Legal deadlines count days from today: every test here runs at ``FIXED_NOW``."""
    return controlled_clock


@pytest.fixture
def committees(db):
    seed.ensure_professional_committees()
    seed.ensure_township_committees(within=XIXIU)
    return MediationCommittee.objects.all()


@pytest.fixture
def traffic(committees):
    return MediationCommittee.objects.get(dispute_type="道路交通事故")


@pytest.fixture
def mediator(traffic):
    user = user_for_role(Role.MEDIATOR, region=Region.objects.get(code=XIXIU))
    services.membership_add(
        actor=user_for_role(Role.ADMIN), committee=traffic, user=user, speciality="道路交通事故"
    )
    return user


@pytest.fixture
def dongguan_village(db):
    return Region.objects.filter(parent__code=DONGGUAN).order_by("code").first()


@pytest.fixture
def dispute_category(db):
    category, _created = IncidentCategory.objects.get_or_create(
        code="neighbour-dispute", defaults={"name": "邻里纠纷", "duty": Duty.CONFLICTS_DISPUTES}
    )
    return category


@pytest.fixture
def make_incident(dispute_category):
    def make(*, village_code: str | None = None, category=None) -> Incident:
        grids = Grid.objects.order_by("code")
        grid = (
            grids.filter(village__code=village_code).first()
            if village_code
            else grids.filter(village__code__startswith=DONGGUAN).first()
        )
        return Incident.objects.create(
            category=category or dispute_category, description="两户因宅基地边界发生争执", grid=grid
        )

    return make


@pytest.fixture
def open_case(traffic, mediator, dongguan_village):
    def make(*, intake: date = date(2026, 3, 1), actor=None, **extra):
        return services.case_open(
            actor=actor or mediator,
            committee=traffic,
            region=dongguan_village,
            dispute_type="道路交通事故",
            summary="两车刮擦，赔偿争议",
            intake_date=intake,
            parties=[
                services.PartyInput(name="张三", phone="13800000001"),
                services.PartyInput(
                    name="某运输公司", side="respondent", kind="organisation", representative="李四"
                ),
            ],
            mediator=mediator,
            **extra,
        )

    return make
