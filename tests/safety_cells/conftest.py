import datetime
import importlib

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from accounts.roles import Role
from grids.models import Grid
from incidents.models import Duty, Incident, IncidentCategory
from safety_cells.demo import load_demo
from tests.factories import user_for_role

SEED_MIGRATION = importlib.import_module("safety_cells.migrations.0002_types_evaluations_prevention")


@pytest.fixture(autouse=True)
def _clock(controlled_clock):
    """Coverage counts incidents and patrols by local day and over windows of days back from
    today, and evaluations are dated today: every test here runs at ``FIXED_NOW``."""
    return controlled_clock


@pytest.fixture(autouse=True)
def article_cell_types(db):
    """The four types the data migration seeds. A transactional test's flush removes them from a
    reused test database, so put them back the way the migration does."""
    SEED_MIGRATION.seed_cell_types(django_apps, None)


@pytest.fixture
def safety_demo(db):
    """The app's demo records (named cells, units, patrols, cameras, devices), rolled back after the test."""
    admin = user_for_role(Role.ADMIN, username="safety-demo-admin")
    load_demo()
    return admin


@pytest.fixture
def make_incident(db):
    category, _ = IncidentCategory.objects.get_or_create(
        code="test-public-order", defaults={"name": "治安隐患", "duty": Duty.PUBLIC_ORDER}
    )

    def make(*, grid: Grid, location=None, days_ago: float = 1) -> Incident:
        incident = Incident.objects.create(
            category=category,
            description="test",
            grid=grid,
            location=location if location is not None else grid.geometry.point_on_surface,
            reported_at=timezone.now() - datetime.timedelta(days=days_ago),
        )
        incident.offices.add(grid.office_id)  # as the reporting service does: the grid's office is involved
        return incident

    return make
