"""The demo survey: the rollup of the raw 2017 responses gives the published city figures, and
the earlier (demo) waves' rates rise year on year up to them."""

from decimal import Decimal

import pytest

from surveys.demo import load_demo_surveys
from surveys.models import EconomicIndicator, RegionMetric, Response

pytestmark = pytest.mark.django_db


def _rate(level, code, metric, year=2017):
    m = RegionMetric.objects.get(
        level=level, region__code=code, month__isnull=True, item__metric=metric, wave__year=year
    )
    return round(m.rate, 2)


def test_demo_responses_roll_up_to_the_published_2017_rates():
    load_demo_surveys()
    # Computed from the raw responses by the rollup; no rate is stored by the loader.
    assert _rate("city", "5204", "security_sense") == 97.24
    assert _rate("city", "5204", "satisfaction") == 98.09
    counties = {
        _rate("county", code, "security_sense") for code in ("520402", "520403", "520422", "520423", "520425")
    }
    assert len(counties) >= 4  # places differ
    assert min(counties) > 90
    for metric in ("security_sense", "satisfaction"):
        city = [_rate("city", "5204", metric, year) for year in (2014, 2015, 2016, 2017)]
        assert city == sorted(city) and len(set(city)) == 4  # 持续提升: rising every year
    villages = RegionMetric.objects.filter(
        level="village", month__isnull=True, item__metric="satisfaction", wave__year=2017
    )
    assert villages.filter(rate__lt=100).exists() and villages.filter(rate=100).exists()
    assert EconomicIndicator.objects.get(region__code="5204", year=2017, kind="gdp").growth_pct == Decimal(
        "12.3"
    )
    count = Response.objects.count()
    load_demo_surveys()  # idempotent
    assert Response.objects.count() == count == 10_000 + 3 * 4_000
    assert Response.objects.filter(wave__year=2017).count() == 10_000
