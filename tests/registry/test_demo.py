"""The demo registry: every village sampled, every point in its own grid, codes from the village,
coverage fed by visits, and the pages saying it is a sample."""

import time

import pytest
from django.db import connection

from accounts.roles import Role
from grids.models import Region
from registry.demo import load_demo_registry
from registry.models import Address, House, Resident, Tenancy
from registry.selectors import coverage
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def test_the_demo_samples_every_village_quickly_and_feeds_coverage(client):
    started = time.monotonic()
    summary = load_demo_registry()
    elapsed = time.monotonic() - started
    print(f"demo registry: {summary} in {elapsed:.1f} s")
    assert not summary.skipped and load_demo_registry().skipped  # idempotent
    villages = Region.objects.filter(level=Region.Level.VILLAGE, grids__isnull=False).distinct().count()
    assert House.objects.values("village").distinct().count() == villages
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM registry_address a JOIN grids_grid g ON g.id = a.grid_id "
            "WHERE NOT ST_Contains(g.geometry, a.location) OR g.village_id <> a.village_id "
            "OR a.code NOT LIKE (SELECT code FROM grids_region WHERE id = a.village_id) || '%%'"
        )
        assert cursor.fetchone()[0] == 0
    assert Address.objects.filter(grid__isnull=True).count() == 0
    assert Resident.objects.filter(name__isnull=False).exists()
    assert Tenancy.objects.filter(house__use="rented", ends_on__isnull=True).exists()
    city = user_for_role(Role.CITY_OFFICIAL)
    townships = coverage(actor=city, level="township")
    assert len(townships) >= 80 and all(0 < row.rate < 100 for row in townships)
    client.force_login(city)
    page = client.get("/registry/coverage/").content.decode()
    assert 'data-testid="registry-sample"' in page
