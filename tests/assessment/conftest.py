"""Records the assessment scores: incidents reported and closed by grid workers of two 西秀区
townships and one 紫云 township, made through the ORM at fixed times of one year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from accounts.roles import Role
from grids.models import Grid, GridOffice, Region
from incidents.models import Duty, Incident, IncidentCategory
from tests.factories import user_for_role

YEAR = 2025
TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Place:
    township: Region
    office: GridOffice
    grid: Grid
    worker: object


def place(township_code_prefix: str) -> Place:
    office = (
        GridOffice.objects.filter(seat__code__startswith=township_code_prefix, grids__isnull=False)
        .order_by("code")
        .first()
    )
    grid = Grid.objects.filter(office=office).order_by("code").first()
    township = Region.objects.get(pk=office.seat.parent_id)
    return Place(township, office, grid, user_for_role(Role.GRID_WORKER, office=office))


def incident(where: Place, *, month: int, closed_after_days: float | None = None, limit_days: float = 3):
    category, _ = IncidentCategory.objects.get_or_create(
        code="test-assessment", defaults={"name": "治安隐患（测试）", "duty": Duty.PUBLIC_ORDER}
    )
    reported = datetime(YEAR, month, 10, 9, tzinfo=TZ)
    made = Incident.objects.create(
        category=category,
        description="test",
        grid=where.grid,
        location=where.grid.geometry.point_on_surface,
        reporter=where.worker,
        reported_at=reported,
    )
    made.offices.add(where.office)
    if closed_after_days is not None:
        Incident.objects.filter(pk=made.pk).update(
            status="closed",
            due_at=reported + timedelta(days=limit_days),
            closed_at=reported + timedelta(days=closed_after_days),
        )
    return made


@pytest.fixture
def places(anshun_tree):
    """Two townships of 西秀区 (one office each) and one of 紫云, with their records:
    A: 4 reports, 3 closed (2 on time); B: 2 reports, 2 closed on time; Z (紫云): 5 reports."""
    a, b, z = place("520402005"), place("520402001"), place("520425")
    assert a.township != b.township and a.township.parent_id == b.township.parent_id
    for month, closed in ((1, 1), (2, 2), (3, 5), (4, None)):
        incident(a, month=month, closed_after_days=closed)
    for month in (5, 6):
        incident(b, month=month, closed_after_days=1)
    for month in range(1, 6):
        incident(z, month=month, closed_after_days=1)
    return {"a": a, "b": b, "z": z}
