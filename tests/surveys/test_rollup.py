"""The rollup: incremental runs equal a full recompute (property test, with corrections and
deletions over two waves and several months), reruns change nothing, a run that dies leaves
its work queued, and only the places above touched communities are rewritten."""

import random
from datetime import date

import pytest
from django.db import DatabaseError, connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.demo import SATISFACTION_SCALE, SECURITY_SCALE, loader_actor
from surveys.models import Answer, AnswerDelta, Cell, Item, RegionMetric, Response
from surveys.services.intake import import_responses
from surveys.services.rollup import run_rollup
from surveys.services.setup import counting_rule_set, wave_ensure
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


def _cells():
    return sorted(
        Cell.objects.values_list(
            "wave_id", "item_id", "village_id", "grid_office_id", "month", "choice", "count"
        ),
        key=repr,
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


@pytest.fixture
def waves(wave):
    """The 2017 wave (two fieldwork months) and a three-month wave with other counting rules."""
    spring = wave_ensure(
        actor=loader_actor(),
        code="2018-spring",
        name="2018年春季调查",
        year=2018,
        starts_on=date(2018, 3, 1),
        ends_on=date(2018, 5, 31),
    )
    security, satisfaction = Item.objects.get(code="security_sense"), Item.objects.get(code="satisfaction")
    counting_rule_set(
        actor=loader_actor(), wave=spring, item=security, counted=[0, 1], cant_say_in_denominator=True
    )
    counting_rule_set(
        actor=loader_actor(), wave=spring, item=satisfaction, counted=[0], cant_say_in_denominator=False
    )
    return [(wave, ["2017-11-03", "2017-12-10"]), (spring, ["2018-03-05", "2018-04-20", "2018-05-31"])]


answers = (st.integers(0, 4), st.integers(0, 4))  # positions in the two scales
new_responses = st.tuples(
    st.just("import"),
    st.integers(0, 1),  # which wave
    st.lists(
        st.tuples(st.integers(0, 9), *answers, st.integers(0, 2), st.booleans()),  # community, ..., day, grid
        min_size=1,
        max_size=8,
    ),
)
# A correction of one response's answers and of the day it was answered on (so its month may move).
edit = st.tuples(st.just("edit"), st.integers(0, 10**6), *answers, st.integers(0, 2))
delete = st.tuples(st.just("delete"), st.integers(0, 10**6))
steps = st.lists(st.tuples(st.one_of(new_responses, edit, delete), st.booleans()), min_size=1, max_size=6)


def _apply(step, *, waves, places, grids, admin) -> None:
    kind, *args = step
    if kind == "import":
        which, responses = args
        wave, days = waves[which]
        rows = []
        for index, security, satisfaction, day, with_grid in responses:
            village = places[index]
            extra = {"grid": grids[village], "community": ""} if with_grid and village in grids else {}
            answered_on = days[day % len(days)]
            rows.append(
                {
                    **row(
                        village,
                        SECURITY_SCALE[security],
                        SATISFACTION_SCALE[satisfaction],
                        answered_on=answered_on,
                    ),
                    **extra,
                }
            )
        import_responses(actor=admin, wave=wave, rows=rows)
        return
    ids = list(Response.objects.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return
    response = Response.objects.get(pk=ids[args[0] % len(ids)])
    if kind == "delete":
        response.delete()  # its answers go with it
        return
    _pick, security, satisfaction, day = args
    days = {w.pk: d for w, d in waves}[response.wave_id]
    answered_on = date.fromisoformat(days[day % len(days)])
    Response.objects.filter(pk=response.pk).update(answered_on=answered_on)
    Answer.objects.filter(response=response).update(month=answered_on.replace(day=1))
    Answer.objects.filter(response=response, item__code="security_sense").update(choice=security)
    Answer.objects.filter(response=response, item__code="satisfaction").update(choice=satisfaction)


@settings(
    derandomize=True,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(script=steps)
def test_incremental_rollups_equal_a_full_recompute(waves, survey_admin, places, script):
    """New responses in two waves and several months, corrections and deletions, rolled up
    after any of them: the published rows always equal a full recompute's."""
    for model in (Answer, Response, Cell, RegionMetric, AnswerDelta):
        model.objects.all().delete()
    from grids.models import Grid

    grids = dict(
        Grid.objects.filter(village__code__in=places).order_by("code").values_list("village__code", "code")
    )
    for step, roll_up_now in script:
        _apply(step, waves=waves, places=places, grids=grids, admin=survey_admin)
        if roll_up_now:
            run_rollup()
    run_rollup()
    assert not AnswerDelta.objects.exists()
    incremental, cells = _table(), _cells()
    run_rollup(full=True)
    assert incremental == _table()
    assert cells == _cells()
    assert incremental or not Answer.objects.exists()  # rows exactly where answers are


def test_corrections_and_deletions_move_every_level(wave, survey_admin, places):
    """A corrected answer moves from one count to another; a deleted response leaves them;
    a place whose last answer is deleted has no rows left."""
    only = places[-1]  # the one community of 平坝区 with answers here
    import_responses(actor=survey_admin, wave=wave, rows=[row(places[0]), row(only), row(only, "不安全")])
    run_rollup()
    mine = Response.objects.filter(village__code=only).order_by("pk")
    Answer.objects.filter(response=mine[0], item__code="security_sense").update(choice=4)
    result = run_rollup()
    assert result.villages == 1
    county = RegionMetric.objects.get(
        level="county", region__code="520403", month__isnull=True, item__code="security_sense"
    )
    assert (county.n, county.numerator, county.counts) == (2, 0, {"4": 2})
    city = RegionMetric.objects.get(level="city", month__isnull=True, item__code="security_sense")
    assert (city.n, city.numerator) == (3, 1)
    for response in mine:
        response.delete()
    run_rollup()
    assert not RegionMetric.objects.filter(region__path__startswith="5204/520403/").exists()
    assert not Cell.objects.filter(village__code=only).exists()
    city = RegionMetric.objects.get(level="city", month__isnull=True, item__code="security_sense")
    assert (city.n, city.numerator, city.rate) == (1, 1, 100.0)


def test_a_run_that_dies_leaves_its_deltas_queued(wave, survey_admin, places):
    import_responses(actor=survey_admin, wave=wave, rows=[row(p) for p in places])
    run_rollup()
    before, cells = _table(), _cells()
    import_responses(actor=survey_admin, wave=wave, rows=[row(places[0], "不安全")])
    queued = sorted(AnswerDelta.objects.values_list("item_id", "choice", "delta"))
    # The run dies while it writes the metric rows: after it has taken the deltas off the
    # queue and moved the cells.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_worker_lost() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'worker lost'; END $$; "
            "CREATE TRIGGER test_worker_lost BEFORE UPDATE ON surveys_regionmetric "
            "FOR EACH ROW EXECUTE FUNCTION test_worker_lost()"
        )
    with pytest.raises(DatabaseError, match="worker lost"):
        run_rollup()
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_worker_lost ON surveys_regionmetric")
    assert (_table(), _cells()) == (before, cells)
    assert sorted(AnswerDelta.objects.values_list("item_id", "choice", "delta")) == queued
    run_rollup()
    after = _table()
    run_rollup(full=True)
    assert after == _table() != before


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
