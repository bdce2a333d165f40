"""Demo survey data: four annual public surveys (2014–2017), as raw responses.

The city's published 2017 figures (security sense 97.24%, satisfaction 98.09%) come out of
the rollup of the 2017 responses; no rate is stored. The article says the rates "持续提升"
(kept rising) without earlier figures, so the three earlier waves are demo data whose
computed city rates rise year on year up to the 2017 ones. Respondent counts (4,000 a year,
10,000 in 2017, at least a few per community) are demo choices, not published figures; the
few negative answers are spread unevenly over the counties so that places differ as they
would in practice. The economic indicators are published figures, entered as data.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from accounts.models import User
from accounts.roles import Role
from anshun.provenance import record_demo
from grids.models import Grid, Region
from surveys.models import EconomicIndicator, Metric, Response
from surveys.services.intake import import_responses
from surveys.services.rollup import run_rollup
from surveys.services.setup import counting_rule_set, indicator_set, item_ensure, wave_ensure

SECURITY_SCALE = ["很安全", "安全", "基本安全", "不太安全", "不安全"]
SATISFACTION_SCALE = ["满意", "基本满意", "不太满意", "不满意", "说不清"]


@dataclass(frozen=True)
class DemoWave:
    year: int
    respondents: int
    not_safe: int  # answers that do not count toward the security-sense rate
    not_satisfied: int  # ... toward the satisfaction rate


# Chosen so that the city-wide rates are, year by year: 94.10/95.35, 95.50/96.40, 96.45/97.20
# (demo) and the published 97.24/98.09 for 2017 (1 - 276/10000, 1 - 191/10000).
DEMO_WAVES = (
    DemoWave(2014, 4_000, 236, 186),
    DemoWave(2015, 4_000, 180, 144),
    DemoWave(2016, 4_000, 142, 112),
    DemoWave(2017, 10_000, 276, 191),
)
RESPONDENTS = DEMO_WAVES[-1].respondents
# Relative weight of a negative answer per county: more in the fast-growing urban
# districts, fewer in the tourist zone (illustrative, not published).
COUNTY_WEIGHT = {
    "520402": 1.3,
    "520403": 1.0,
    "520422": 0.9,
    "520423": 1.1,
    "520424": 0.8,
    "520425": 1.2,
    "520471": 1.4,
    "520472": 0.6,
}
INDICATORS_2017 = {
    EconomicIndicator.Kind.GDP: Decimal("12.3"),
    EconomicIndicator.Kind.FIXED_ASSET_INVESTMENT: Decimal("21.7"),
    EconomicIndicator.Kind.INDUSTRIAL_VALUE_ADDED: Decimal("12.1"),
    EconomicIndicator.Kind.RETAIL_SALES: Decimal("11.8"),
}
SOURCE = "china.com.cn interview with the mayor of Anshun, 2018-03-19"


def loader_actor() -> User:
    """The demo loader acts as an unsaved platform administrator (nothing is attributed to it)."""
    return User(username="demo-loader", role=Role.ADMIN, is_superuser=True, is_active=True)


def ensure_survey_setup(year: int = 2017):
    system = loader_actor()
    wave = wave_ensure(
        actor=system,
        code=f"{year}-annual",
        name=f"{year}年度公众安全感和满意度调查",
        year=year,
        starts_on=date(year, 11, 1),
        ends_on=date(year, 12, 20),
    )
    security = item_ensure(
        actor=system,
        code="security_sense",
        metric=Metric.SECURITY_SENSE,
        question="在目前的社会治安环境下，您感觉安全吗？",
        scale=SECURITY_SCALE,
        cant_say=None,
    )
    satisfaction = item_ensure(
        actor=system,
        code="satisfaction",
        metric=Metric.SATISFACTION,
        question="您对本地平安建设工作满意吗？",
        scale=SATISFACTION_SCALE,
        cant_say=4,
    )
    counting_rule_set(actor=system, wave=wave, item=security, counted=[0, 1, 2], cant_say_in_denominator=True)
    counting_rule_set(
        actor=system, wave=wave, item=satisfaction, counted=[0, 1], cant_say_in_denominator=True
    )
    return wave


def _weighted_sample(rng: random.Random, weights: list[float], k: int) -> set[int]:
    """k distinct indices, each drawn with probability growing with its weight."""
    keys = sorted(range(len(weights)), key=lambda i: rng.random() ** (1 / weights[i]), reverse=True)
    return set(keys[:k])


def demo_rows(wave, spec: DemoWave | None = None) -> list[dict]:
    spec = spec or next(w for w in DEMO_WAVES if w.year == wave.year)
    rng = random.Random(spec.year)
    respondents = spec.respondents
    villages = list(
        Region.objects.filter(level=Region.Level.VILLAGE).order_by("code").values_list("code", "path")
    )
    grids_by_village: dict[str, list[str]] = {}
    for code, village_code in Grid.objects.order_by("code").values_list("code", "village__code"):
        grids_by_village.setdefault(village_code, []).append(code)
    places = [code for code, _path in villages for _ in range(respondents // len(villages))]
    places += rng.sample([code for code, _path in villages], respondents - len(places))
    county_of = {code: path.split("/")[1] for code, path in villages}
    village_weight = {code: rng.uniform(0.3, 1.7) for code, _path in villages}
    weights = [COUNTY_WEIGHT.get(county_of[p], 1.0) * village_weight[p] for p in places]
    not_safe = _weighted_sample(rng, weights, spec.not_safe)
    not_satisfied = _weighted_sample(rng, weights, spec.not_satisfied)
    days = (wave.ends_on - wave.starts_on).days
    rows = []
    for index, village_code in enumerate(places):
        grids = grids_by_village.get(village_code, [])
        use_grid = grids and rng.random() < 0.7
        if index in not_safe:
            security = rng.choices(SECURITY_SCALE[3:], weights=[7, 3])[0]
        else:
            security = rng.choices(SECURITY_SCALE[:3], weights=[45, 35, 20])[0]
        if index in not_satisfied:
            satisfaction = rng.choices(SATISFACTION_SCALE[2:], weights=[5, 2, 3])[0]
        else:
            satisfaction = rng.choices(SATISFACTION_SCALE[:2], weights=[7, 3])[0]
        rows.append(
            {
                "client_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"anshun-demo-survey-{spec.year}/{index}")),
                "community": village_code,
                "grid": rng.choice(grids) if use_grid else "",
                "channel": rng.choices(["phone", "door", "online"], weights=[80, 15, 5])[0],
                "answered_on": (wave.starts_on + timedelta(days=rng.randint(0, days))).isoformat(),
                "security_sense": security,
                "satisfaction": satisfaction,
            }
        )
    return rows


def load_demo_surveys() -> str:
    """The demo waves' raw responses, then one rollup over all of them (idempotent per wave)."""
    city = Region.objects.get(code="5204")
    for kind, growth in INDICATORS_2017.items():
        indicator_set(
            actor=loader_actor(), region=city, year=2017, kind=kind, growth_pct=growth, source=SOURCE
        )
    record_demo(app_label="surveys")
    created, loaded = 0, []
    for spec in DEMO_WAVES:
        wave = ensure_survey_setup(spec.year)
        if Response.objects.filter(wave=wave).exists():
            continue
        created += import_responses(actor=loader_actor(), wave=wave, rows=demo_rows(wave, spec)).created
        loaded.append(wave.code)
    if not loaded:
        return "survey waves already loaded"
    rollup = run_rollup()
    return f"{created} survey responses in {', '.join(loaded)}, rollup of {rollup.villages} communities"
