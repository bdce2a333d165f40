"""The rollup: incremental runs equal a full recompute (property test), reruns change
nothing, and only the places above touched communities are rewritten."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.demo import SATISFACTION_SCALE, SECURITY_SCALE
from surveys.models import Answer, Cell, DirtyVillage, RegionMetric, Response
from surveys.services.intake import import_responses
from surveys.services.rollup import run_rollup
from tests.surveys.conftest import row, villages_in

pytestmark = pytest.mark.django_db

FIELDS = (
    "wave_id",
    "item_id",
    "level",
    "region_id",
    "grid_office_id",
    "month",
    "n",
    "counts",
    "numerator",
    "denominator",
    "rate",
    "ci_low",
    "ci_high",
)


def _table():
    rows = [
        tuple(str(v) if isinstance(v, dict) else v for v in values)
        for values in RegionMetric.objects.values_list(*FIELDS)
    ]
    return sorted(rows, key=repr)


@pytest.fixture
def places(db):
    # Communities in two townships of two counties, with and without grids.
    return villages_in("520402001", 4) + villages_in("520402005", 3) + villages_in("520403", 3)


batch = st.lists(
    st.tuples(
        st.integers(0, 9),  # which community
        st.sampled_from(SECURITY_SCALE),
        st.sampled_from(SATISFACTION_SCALE),
        st.sampled_from(["2017-11-03", "2017-12-10"]),
        st.booleans(),  # answered with the grid known
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(batch, min_size=1, max_size=4))
def test_incremental_rollups_equal_a_full_recompute(wave, survey_admin, places, batches):
    for model in (Answer, Response, Cell, RegionMetric, DirtyVillage):
        model.objects.all().delete()
    from grids.models import Grid

    grids = dict(
        Grid.objects.filter(village__code__in=places).order_by("code").values_list("village__code", "code")
    )
    for responses in batches:
        rows = []
        for index, security, satisfaction, day, with_grid in responses:
            village = places[index]
            extra = {"grid": grids[village], "community": ""} if with_grid and village in grids else {}
            rows.append({**row(village, security, satisfaction, answered_on=day), **extra})
        import_responses(actor=survey_admin, wave=wave, rows=rows)
        run_rollup()
    incremental = _table()
    run_rollup(full=True)
    assert incremental == _table()
    assert incremental  # the property is about real rows


def test_a_rerun_yields_the_same_rows_and_a_run_touches_only_marked_places(wave, survey_admin, places):
    rng = random.Random(7)
    rows = [
        row(rng.choice(places), rng.choice(SECURITY_SCALE), rng.choice(SATISFACTION_SCALE)) for _ in range(60)
    ]
    import_responses(actor=survey_admin, wave=wave, rows=rows)
    run_rollup()
    first = _table()
    assert run_rollup().villages == 0  # nothing marked: nothing recomputed
    run_rollup(full=True)
    assert _table() == first
    pingba = {m.pk: m.rate for m in RegionMetric.objects.filter(region__path__startswith="5204/520403/")}
    # New answers in one township of 西秀区: 平坝区's rows are left alone (same ids), the city's change.
    city_before = RegionMetric.objects.get(level="city", month__isnull=True, item__metric="security_sense")
    import_responses(actor=survey_admin, wave=wave, rows=[row(places[0], "不安全")])
    result = run_rollup()
    assert result.villages == 1
    assert {
        m.pk: m.rate for m in RegionMetric.objects.filter(region__path__startswith="5204/520403/")
    } == pingba
    city_after = RegionMetric.objects.get(level="city", month__isnull=True, item__metric="security_sense")
    assert city_after.n == city_before.n + 1
    assert city_after.numerator == city_before.numerator
