"""The indicators of the assessment, as a registry of computing functions.

An ``Indicator`` names its code, label and unit, the levels it scores (a figure that cannot be
attributed to a grid worker is not scored for one), and ``compute(year)``: one SQL statement over
the records returning ``(level, unit_key, numerator, denominator)`` rows. ``value`` turns them
into the figure (a rate in %, or a count per grid worker) and ``drill`` names what the drill-down
page lists behind a score (``assessment.selectors.drill_down``).

Adding an indicator is one entry in ``INDICATORS`` (and a default weight and target in
``DEFAULT_TARGETS``): the Celery run, the ranking, the drill-down, the print view and the export
read this registry. ``household_visits`` (the registry's household-visit coverage) is the example:
its statement counts houses visited in the year over houses per township, office and worker, and
``drill_down``'s ``"registry_houses"`` branch lists the houses behind a score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assessment.models import Level

LEVELS_ALL = (Level.TOWNSHIP, Level.GRID_OFFICE, Level.GRID_WORKER)
LEVELS_PLACES = (Level.TOWNSHIP, Level.GRID_OFFICE)


@dataclass(frozen=True)
class Indicator:
    code: str
    label: object
    unit: str  # "%" (a rate) or "per worker" (a count per grid worker)
    levels: tuple[str, ...]
    compute: Callable[[int], list[tuple]]
    drill: str

    def value(self, numerator: int, denominator: int) -> float | None:
        if not denominator:
            return None
        if self.unit == "%":
            return round(100 * numerator / denominator, 2)
        return round(numerator / denominator, 2)


def _rows(sql: str, year: int) -> list[tuple]:
    """Run an indicator's statement for ``year``: its bounds as local midnight times (``start``,
    ``end``) and days (``first``, ``last``), so each record table is read by a range on its
    indexed time column, not by a function of it."""
    local = timezone.get_current_timezone()
    start = datetime(year, 1, 1, tzinfo=local)
    params = {
        "year": year,
        "start": start,
        "end": datetime(year + 1, 1, 1, tzinfo=local),
        "first": date(year, 1, 1),
        "last": date(year, 12, 31),
        "today": timezone.localdate(),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# A grid's township and office: the township is its village's parent.
_INCIDENT_PLACE = """
FROM incidents_incident i
JOIN grids_grid g ON g.id = i.grid_id
JOIN grids_region v ON v.id = g.village_id
"""

DISCOVERY_SQL = f"""
WITH reported AS (
    SELECT v.parent_id AS township, g.office_id AS office, i.reporter_id AS worker
    {_INCIDENT_PLACE}
    JOIN accounts_user u ON u.id = i.reporter_id AND u.role = 'grid_worker'
    WHERE i.deleted_at IS NULL AND i.reported_at >= %(start)s AND i.reported_at < %(end)s
), workers AS (
    SELECT u.id AS worker, u.grid_office_id AS office, s.parent_id AS township
    FROM accounts_user u
    JOIN grids_gridoffice o ON o.id = u.grid_office_id
    JOIN grids_region s ON s.id = o.seat_id
    WHERE u.role = 'grid_worker' AND u.is_active
)
SELECT 'township', w.township::text, coalesce(r.n, 0), w.n
FROM (SELECT township, count(*) AS n FROM workers GROUP BY township) w
LEFT JOIN (SELECT township, count(*) AS n FROM reported GROUP BY township) r USING (township)
UNION ALL
SELECT 'grid_office', w.office::text, coalesce(r.n, 0), w.n
FROM (SELECT office, count(*) AS n FROM workers GROUP BY office) w
LEFT JOIN (SELECT office, count(*) AS n FROM reported GROUP BY office) r USING (office)
UNION ALL
SELECT 'grid_worker', w.worker::text, coalesce(r.n, 0), 1
FROM workers w LEFT JOIN (SELECT worker, count(*) AS n FROM reported GROUP BY worker) r USING (worker)
"""  # noqa: S608 - module constants only

ON_TIME_SQL = f"""
WITH closed AS (
    SELECT v.parent_id AS township, g.office_id AS office, (i.closed_at <= i.due_at) AS on_time
    {_INCIDENT_PLACE}
    WHERE i.deleted_at IS NULL AND i.status = 'closed' AND i.due_at IS NOT NULL AND i.closed_at IS NOT NULL
      AND i.closed_at >= %(start)s AND i.closed_at < %(end)s
)
SELECT 'township', township::text, count(*) FILTER (WHERE on_time), count(*) FROM closed GROUP BY township
UNION ALL
SELECT 'grid_office', office::text, count(*) FILTER (WHERE on_time), count(*)
FROM closed WHERE office IS NOT NULL GROUP BY office
"""  # noqa: S608 - module constants only

# A case's place may be its village or its township: the township is the 9-digit code's region.
MEDIATION_SQL = """
WITH closed AS (
    SELECT t.id AS township, c.status = 'agreement' AS success
    FROM mediation_mediationcase c
    JOIN grids_region r ON r.id = c.region_id
    JOIN grids_region t ON t.code = left(r.code, 9) AND t.level = 'township'
    WHERE c.closed_on IS NOT NULL AND c.status IN ('agreement', 'no_agreement')
      AND c.closed_on >= %(first)s AND c.closed_on <= %(last)s
)
SELECT 'township', township::text, count(*) FILTER (WHERE success), count(*) FROM closed GROUP BY township
"""


def _survey_sql(metric: str) -> str:
    return f"""
SELECT CASE WHEN m.level = 'township' THEN 'township' ELSE 'grid_office' END,
       CASE WHEN m.level = 'township' THEN m.region_id::text ELSE m.grid_office_id::text END,
       sum(m.numerator), sum(m.denominator)
FROM surveys_regionmetric m
JOIN surveys_wave w ON w.id = m.wave_id
JOIN surveys_item it ON it.id = m.item_id
WHERE w.year = %(year)s AND m.month IS NULL AND it.metric = '{metric}'
  AND m.level IN ('township', 'grid_office')
GROUP BY 1, 2
"""  # noqa: S608 - metric is a module constant


# Visits the projects planned (special_groups CaseTask, kind visit) due in the year up to today,
# of the projects officials may see (``{projects}``),
# done by their due day; placed at the person's township and at the office serving the village.
VISITS_SQL = """
WITH due AS (
    SELECT v.parent_id AS township,
           (SELECT min(g.office_id) FROM grids_grid g WHERE g.village_id = v.id) AS office,
           (t.done_on IS NOT NULL AND t.done_on <= t.due_on) AS on_time
    FROM special_groups_casetask t
    JOIN special_groups_enrollment en ON en.id = t.enrollment_id
    JOIN special_groups_person p ON p.id = en.person_id
    JOIN grids_region v ON v.id = p.region_id AND v.level = 'village'
    WHERE t.kind = 'visit' AND t.due_on >= %(first)s AND t.due_on <= least(%(last)s, %(today)s)
      AND en.project IN ({projects})
)
SELECT 'township', township::text, count(*) FILTER (WHERE on_time), count(*) FROM due GROUP BY township
UNION ALL
SELECT 'grid_office', office::text, count(*) FILTER (WHERE on_time), count(*)
FROM due WHERE office IS NOT NULL GROUP BY office
"""


# Household-visit coverage (入户走访覆盖率): the registry's coverage (``registry.selectors.coverage``:
# houses visited in the period over houses, grouped on the house's village and grid) for the
# assessment's period, the year. A house is visited in the year when it has a visit dated in it (read
# by the ``visit_house_latest`` index, house then date): a house's ``last_visited_on`` alone would
# lose a past year's visit once the house is visited again. A grid worker's figure is the houses of
# their office they visited themselves over the houses of their office.
HOUSEHOLD_VISITS_SQL = """
WITH houses AS (
    SELECT v.parent_id AS township, g.office_id AS office,
           EXISTS (SELECT 1 FROM registry_householdvisit hv
                   WHERE hv.house_id = h.id AND hv.visited_on >= %(first)s AND hv.visited_on <= %(last)s
           ) AS visited
    FROM registry_house h
    JOIN grids_region v ON v.id = h.village_id
    LEFT JOIN grids_grid g ON g.id = h.grid_id
), per_office AS (
    SELECT office, count(*) AS n FROM houses WHERE office IS NOT NULL GROUP BY office
), by_worker AS (
    SELECT hv.by_id AS worker, count(DISTINCT hv.house_id) AS n
    FROM registry_householdvisit hv
    JOIN registry_house h ON h.id = hv.house_id
    JOIN grids_grid g ON g.id = h.grid_id
    JOIN accounts_user u ON u.id = hv.by_id AND u.grid_office_id = g.office_id
    WHERE hv.visited_on >= %(first)s AND hv.visited_on <= %(last)s
    GROUP BY hv.by_id
)
SELECT 'township', township::text, count(*) FILTER (WHERE visited), count(*) FROM houses GROUP BY township
UNION ALL
SELECT 'grid_office', office::text, count(*) FILTER (WHERE visited), count(*)
FROM houses WHERE office IS NOT NULL GROUP BY office
UNION ALL
SELECT 'grid_worker', u.id::text, coalesce(w.n, 0), p.n
FROM accounts_user u
JOIN per_office p ON p.office = u.grid_office_id
LEFT JOIN by_worker w ON w.worker = u.id
WHERE u.role = 'grid_worker' AND u.is_active
"""


def _shown_projects() -> str:
    """The projects whose figures officials may see (红丝带 is never counted outside itself)."""
    from special_groups.projects import projects_with

    return ", ".join(f"'{code}'" for code in projects_with(figures_outside=True))


INDICATORS: dict[str, Indicator] = {
    i.code: i
    for i in (
        Indicator(
            "discovery",
            _("Incidents reported per grid worker"),
            "per worker",
            LEVELS_ALL,
            lambda year: _rows(DISCOVERY_SQL, year),
            drill="incidents_reported",
        ),
        Indicator(
            "on_time_closure",
            _("On-time closure rate"),
            "%",
            LEVELS_PLACES,
            lambda year: _rows(ON_TIME_SQL, year),
            drill="incidents_closed",
        ),
        Indicator(
            "mediation_success",
            _("Mediation success rate"),
            "%",
            (Level.TOWNSHIP,),
            lambda year: _rows(MEDIATION_SQL, year),
            drill="mediation_cases",
        ),
        Indicator(
            "security_sense",
            _("Security-sense rate"),
            "%",
            LEVELS_PLACES,
            lambda year: _rows(_survey_sql("security_sense"), year),
            drill="survey",
        ),
        Indicator(
            "satisfaction",
            _("Satisfaction rate"),
            "%",
            LEVELS_PLACES,
            lambda year: _rows(_survey_sql("satisfaction"), year),
            drill="survey",
        ),
        Indicator(
            "visit_coverage",
            _("Special-population visits on time"),
            "%",
            LEVELS_PLACES,
            lambda year: _rows(VISITS_SQL.format(projects=_shown_projects()), year),
            drill="visits",
        ),
        Indicator(
            "household_visits",
            _("Household-visit coverage"),
            "%",
            LEVELS_ALL,
            lambda year: _rows(HOUSEHOLD_VISITS_SQL, year),
            drill="registry_houses",
        ),
    )
}

# Weights and targets a year starts with when none were set (``assessment.services`` writes
# them through ``target_set`` the first time a year is computed; the admin edits them).
DEFAULT_TARGETS = {
    "discovery": (20, 12),
    "on_time_closure": (25, 90),
    "mediation_success": (15, 95),
    "security_sense": (15, 95),
    "satisfaction": (15, 95),
    "visit_coverage": (10, 95),
    # Every household once a year at least (the visit plan asks for once a quarter).
    "household_visits": (10, 90),
}
