"""Counting rules and 95% Wilson intervals, against values worked out by hand, both in
the reference functions and in the SQL the rollup runs."""

import pytest

from surveys.demo import loader_actor
from surveys.models import CountingRule, Item, RegionMetric
from surveys.services.intake import import_responses
from surveys.services.rollup import run_rollup
from surveys.services.setup import counting_rule_set
from surveys.stats import apply_rule, wilson_interval
from tests.surveys.conftest import row

# Wilson 95% bounds worked out by hand (z = 1.959964, z² = 3.841459):
#  0/10: upper = z²/(n + z²) = 3.841459 / 13.841459 = 0.277532
#  5/10: centre 0.5, half = z·sqrt(0.025 + z²/400) / (1 + z²/10) = 1.959964 · 0.186021 / 1.384146 = 0.263406
# 10/10: lower = n/(n + z²) = 10 / 13.841459 = 0.722468
#  9724/10000 (the city's 2017 security sense): centre (0.9724 + 0.000192073)/1.000384146 = 0.972219,
#     half 1.959964 · sqrt(0.9724 · 0.0276 / 10000 + z²/4e8) / 1.000384146 = 0.003216
HAND_WORKED = [
    (0, 10, 0.0, 0.277532),
    (5, 10, 0.236594, 0.763406),
    (10, 10, 0.722468, 1.0),
    (9724, 10000, 0.969003, 0.975435),
]


@pytest.mark.parametrize(("successes", "total", "low", "high"), HAND_WORKED)
def test_wilson_interval_matches_hand_worked_values(successes, total, low, high):
    got_low, got_high = wilson_interval(successes, total)
    assert got_low == pytest.approx(low, abs=2e-6)
    assert got_high == pytest.approx(high, abs=2e-6)


def test_no_answers_has_no_interval():
    assert wilson_interval(0, 0) is None


# Satisfaction answers 满意 ×3, 基本满意 ×2, 不太满意 ×1, 不满意 ×1, 说不清 ×3 (10 respondents).
COUNTS = {0: 3, 1: 2, 2: 1, 3: 1, 4: 3}


def test_cant_say_kept_in_the_denominator():
    rate = apply_rule(COUNTS, counted=[0, 1], cant_say=4, cant_say_in_denominator=True)
    assert (rate.numerator, rate.denominator) == (5, 10)
    assert rate.rate == pytest.approx(50.0)
    assert (rate.ci_low, rate.ci_high) == (pytest.approx(23.6594, abs=1e-3), pytest.approx(76.3406, abs=1e-3))


def test_cant_say_left_out_of_the_denominator():
    rate = apply_rule(COUNTS, counted=[0, 1], cant_say=4, cant_say_in_denominator=False)
    assert (rate.numerator, rate.denominator) == (5, 7)
    assert rate.rate == pytest.approx(500 / 7)  # 71.43%


def test_top_three_levels_count_as_safe():
    rate = apply_rule(
        {0: 4, 1: 3, 2: 2, 3: 1}, counted=[0, 1, 2], cant_say=None, cant_say_in_denominator=True
    )
    assert (rate.numerator, rate.denominator, rate.rate) == (9, 10, pytest.approx(90.0))


SATISFACTION = ["满意"] * 3 + ["基本满意"] * 2 + ["不太满意", "不满意"] + ["说不清"] * 3
SECURITY = ["很安全"] * 4 + ["安全"] * 3 + ["基本安全"] * 2 + ["不太安全"]


def _metric(level, code, metric):
    return RegionMetric.objects.get(level=level, region__code=code, month__isnull=True, item__metric=metric)


def test_the_rollup_applies_each_waves_rule_in_sql(wave, survey_admin):
    village = "520402001004"
    rows = [row(village, security=a, satisfaction=b) for a, b in zip(SECURITY, SATISFACTION, strict=True)]
    import_responses(actor=survey_admin, wave=wave, rows=rows)
    run_rollup()
    for level, code in (
        ("village", village),
        ("township", "520402001"),
        ("county", "520402"),
        ("city", "5204"),
    ):
        satisfaction = _metric(level, code, "satisfaction")
        assert (satisfaction.n, satisfaction.numerator, satisfaction.denominator) == (10, 5, 10)
        assert satisfaction.rate == pytest.approx(50.0)
        assert satisfaction.ci_low == pytest.approx(23.6594, abs=1e-3)
        assert satisfaction.ci_high == pytest.approx(76.3406, abs=1e-3)
        assert satisfaction.counts == {"0": 3, "1": 2, "2": 1, "3": 1, "4": 3}
        security = _metric(level, code, "security_sense")
        assert (security.numerator, security.denominator, security.rate) == (9, 10, pytest.approx(90.0))
    # The city changes its rule for this wave: "can't say" leaves the denominator.
    item = Item.objects.get(code="satisfaction")
    counting_rule_set(
        actor=loader_actor(), wave=wave, item=item, counted=[0, 1], cant_say_in_denominator=False
    )
    run_rollup(full=True)
    satisfaction = _metric("city", "5204", "satisfaction")
    assert (satisfaction.numerator, satisfaction.denominator) == (5, 7)
    assert satisfaction.rate == pytest.approx(500 / 7)
    low, high = wilson_interval(5, 7)
    assert (satisfaction.ci_low, satisfaction.ci_high) == (
        pytest.approx(100 * low),
        pytest.approx(100 * high),
    )


def test_a_rule_cannot_count_cant_say(wave):
    from django.core.exceptions import ValidationError

    item = Item.objects.get(code="satisfaction")
    with pytest.raises(ValidationError):
        counting_rule_set(
            actor=loader_actor(), wave=wave, item=item, counted=[0, 4], cant_say_in_denominator=True
        )
    assert CountingRule.objects.get(wave=wave, item=item).counted == [0, 1]
