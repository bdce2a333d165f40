"""Writes of the assessment: a year's weights and targets (commands), and the scores (the Celery
run, a system command).

``compute_scores`` counts every indicator of ``assessment.indicators.INDICATORS`` for the year
from the records, scores each unit against the year's targets, totals the weighted scores and
ranks each unit among its peers, then writes only the rows that differ from what is stored: one
transaction under an advisory lock, so readers see the old scores or the new ones, a rerun with
nothing changed writes nothing, and two runs never interleave.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anshun.commands import system_command
from assessment.indicators import DEFAULT_TARGETS, INDICATORS
from assessment.models import TOTAL, AssessmentRun, IndicatorTarget, Level, Score
from assessment.policy import POLICY

LOCK = 0x41535345  # "ASSE"


def _check_weight_target(*, weight: Decimal, target: Decimal) -> None:
    errors = {}
    if weight < 0 or weight > 100:
        errors["weight"] = _("A weight lies between 0 and 100.")
    if target <= 0:
        errors["target"] = _("A target is above zero.")
    if errors:
        raise ValidationError(errors)


@POLICY.command("target_set")
@transaction.atomic
def target_set(*, actor, year: int, indicator: str, weight: Decimal, value: Decimal) -> IndicatorTarget:
    """Set an indicator's weight and target for a year (creating the row the first time); the
    next run rescores every unit against it."""
    if indicator not in INDICATORS:
        raise ValidationError({"indicator": _("Not an indicator of the assessment.")})
    if not 2000 <= year <= 2100:
        raise ValidationError({"year": _("Give a year between 2000 and 2100.")})
    _check_weight_target(weight=weight, target=value)
    row, _created = IndicatorTarget.objects.select_for_update().get_or_create(
        year=year, indicator=indicator, defaults={"weight": weight, "target": value}
    )
    row.weight, row.target = weight, value
    row.full_clean()
    row.save()
    return row


@dataclass(frozen=True)
class Unit:
    level: str
    key: str
    name: str
    region_id: int
    grid_office_id: int | None
    peer_group: str


UNITS_SQL = """
SELECT 'township', t.id, t.code, t.name, t.id, NULL::bigint, c.code
FROM grids_region t JOIN grids_region c ON c.id = t.parent_id WHERE t.level = 'township'
UNION ALL
SELECT 'grid_office', o.id, o.code, o.name, o.seat_id, o.id, t.code
FROM grids_gridoffice o JOIN grids_region s ON s.id = o.seat_id JOIN grids_region t ON t.id = s.parent_id
UNION ALL
SELECT 'grid_worker', u.id, u.id::text, coalesce(nullif(u.display_name, ''), u.username),
       o.seat_id, o.id, o.code
FROM accounts_user u JOIN grids_gridoffice o ON o.id = u.grid_office_id
WHERE u.role = 'grid_worker' AND u.is_active
"""


def _units() -> dict[tuple[str, str], Unit]:
    """Every unit scored, by (level, the id its indicators' SQL names it by)."""
    with connection.cursor() as cursor:
        cursor.execute(UNITS_SQL)
        return {
            (level, str(pk)): Unit(level, key, name, region, office, peers)
            for level, pk, key, name, region, office, peers in cursor.fetchall()
        }


@dataclass(frozen=True)
class RunResult:
    year: int
    rows_written: int
    rows_deleted: int


def _targets(year: int) -> dict[str, tuple[float, float]]:
    """The year's weights and targets; a year computed for the first time gets the defaults."""
    have = {t.indicator: t for t in IndicatorTarget.objects.filter(year=year)}
    for code, (weight, target) in DEFAULT_TARGETS.items():
        if code not in have and code in INDICATORS:
            have[code] = IndicatorTarget.objects.create(
                year=year, indicator=code, weight=Decimal(weight), target=Decimal(target)
            )
    return {code: (float(t.weight), float(t.target)) for code, t in have.items() if code in INDICATORS}


def _score(value: float | None, target: float) -> float | None:
    if value is None or target <= 0:
        return None
    return round(min(value / target, 1.0) * 100, 2)


# Every input of the scores, as counters that move whenever it changes: the rollups' queue takes
# the id of every changed incident, mediation case, enrolment and case task (statement triggers,
# whatever the door), the surveys' delta queue every changed answer, the registry's visit and house
# sequences every new visit and house, and its change sequence every house moved or deleted
# (registry migration 0002); then the grid workers, the offices and townships, the year's weights
# and targets, and the day (visits fall due with it); hashed, so the run's column holds it however
# many inputs and indicators there are. A sequence is read with ``is_called``: its first value is
# the same number as its start.
FINGERPRINT_SQL = """
SELECT md5(concat_ws(':',
    (SELECT last_value || '/' || is_called FROM rollups_pending_id_seq),
    (SELECT last_value || '/' || is_called FROM surveys_answerdelta_id_seq),
    (SELECT last_value || '/' || is_called FROM registry_householdvisit_id_seq),
    (SELECT last_value || '/' || is_called FROM registry_house_id_seq),
    (SELECT last_value || '/' || is_called FROM registry_house_change_seq),
    (SELECT count(*) || '/' || coalesce(max(id), 0) FROM accounts_user
     WHERE role = 'grid_worker' AND is_active),
    (SELECT count(*) FROM grids_gridoffice),
    (SELECT count(*) FROM grids_region WHERE level = 'township'),
    (SELECT coalesce(string_agg(indicator || '=' || weight || '/' || target, ',' ORDER BY indicator), '')
     FROM assessment_indicatortarget WHERE year = %(year)s),
    %(today)s
))
"""


def inputs_fingerprint(*, year: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(FINGERPRINT_SQL, {"year": year, "today": timezone.localdate().isoformat()})
        return cursor.fetchone()[0]


@system_command(
    "Celery (assessment.tasks.compute_assessment, beat hourly and on demand): no person starts it."
)
def compute_scores(*, year: int) -> RunResult:
    """Score every township, grid office and grid worker for ``year`` (see the module doc).

    Incremental in two ways: a run whose inputs have not moved since the year's last run (same
    ``inputs_fingerprint``) reads no record and writes nothing; otherwise the year is recounted by
    range scans on the records' indexed times and only the score rows that differ are written."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])
        targets = _targets(year)
        fingerprint = inputs_fingerprint(year=year)
        last = AssessmentRun.objects.filter(year=year).order_by("-finished_at", "-id").first()
        if last is not None and last.fingerprint == fingerprint:
            return RunResult(year, 0, 0)
        units = _units()
        fresh: dict[tuple[str, str, str], dict] = {}
        scores: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for code, indicator in INDICATORS.items():
            if code not in targets:
                continue
            weight, target = targets[code]
            for level, pk, numerator, denominator in indicator.compute(year):
                unit = units.get((level, str(pk)))
                if unit is None or level not in indicator.levels:
                    continue
                value = indicator.value(int(numerator), int(denominator))
                score = _score(value, target)
                fresh[(level, unit.key, code)] = {
                    "numerator": int(numerator),
                    "denominator": int(denominator),
                    "value": value,
                    "score": score,
                    "rank": None,
                }
                if score is not None:
                    scores.setdefault((level, unit.key), []).append((weight, score))
        # The total: the weighted mean of the indicators a unit has figures for.
        totals: dict[tuple[str, str], float | None] = {}
        for (level, _pk), unit in units.items():
            parts = scores.get((level, unit.key), [])
            weight = sum(w for w, _s in parts)
            totals[(level, unit.key)] = round(sum(w * s for w, s in parts) / weight, 2) if weight else None
        # Ranks among peers (a county's townships, a township's offices, an office's workers).
        peers: dict[tuple[str, str], list[tuple[float, str]]] = {}
        by_key = {(u.level, u.key): u for u in units.values()}
        for (level, key), total in totals.items():
            if total is not None:
                peers.setdefault((level, by_key[(level, key)].peer_group), []).append((total, key))
        ranks: dict[tuple[str, str], int] = {}
        for (level, _group), members in peers.items():
            members.sort(key=lambda m: (-m[0], m[1]))
            rank, previous = 0, None
            for position, (total, key) in enumerate(members, start=1):
                if total != previous:
                    rank, previous = position, total
                ranks[(level, key)] = rank
        for (level, key), total in totals.items():
            fresh[(level, key, TOTAL)] = {
                "numerator": 0,
                "denominator": 0,
                "value": total,
                "score": total,
                "rank": ranks.get((level, key)),
            }
        written, deleted = _write(year, fresh, by_key)
        AssessmentRun.objects.create(year=year, rows_written=written, fingerprint=fingerprint)
        return RunResult(year, written, deleted)


FIELDS = ("numerator", "denominator", "value", "score", "rank")


def _write(year: int, fresh: dict, units: dict) -> tuple[int, int]:
    """Only the rows that differ are written; rows of units or figures that are gone are deleted."""
    stored = {
        (s.level, s.unit_key, s.indicator): s
        for s in Score.objects.filter(year=year).only("id", "level", "unit_key", "indicator", *FIELDS)
    }
    create, update = [], []
    for key, values in fresh.items():
        level, unit_key, indicator = key
        unit = units[(level, unit_key)]
        row = stored.pop(key, None)
        if row is None:
            create.append(
                Score(
                    year=year,
                    level=level,
                    unit_key=unit_key,
                    unit_name=unit.name,
                    indicator=indicator,
                    region_id=unit.region_id,
                    grid_office_id=unit.grid_office_id,
                    peer_group=unit.peer_group,
                    **values,
                )
            )
        elif any(getattr(row, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(row, f, v)
            update.append(row)
    Score.objects.bulk_create(create, batch_size=2000)
    Score.objects.bulk_update(update, FIELDS, batch_size=2000)
    gone = [row.pk for row in stored.values()]
    Score.objects.filter(pk__in=gone).delete()
    return len(create) + len(update), len(gone)


__all__ = ["Level", "compute_scores", "target_set"]
