"""Reads for the six projects. Records go through ``visible_to`` (case officers of the owning
project, inside their jurisdiction); aggregates for officials go through ``metrics``, whose
counts of people are suppressed below the small-count threshold outside the project."""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, ExtractMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role, SpecialProject
from anshun.dashboard import Cell, Suppressed, Tile, suppress
from grids.models import Region
from rollups.models import Tally
from special_groups.models import AccessRecord, CaseTask, Enrollment, ServiceFacility, SubsidyPayment
from special_groups.projects import PROJECTS, projects_with

# ---- records ---------------------------------------------------------------------------


def _officers_only(queryset: QuerySet, actor) -> QuerySet:
    """Person records are for case officers alone: not even platform admins browse them
    (the scope rule lets admins through everywhere else)."""
    return queryset if getattr(actor, "role", None) == Role.CASE_OFFICER else queryset.none()


def enrollments_visible_to(*, actor, status: str | None = None) -> QuerySet[Enrollment]:
    enrollments = (
        Enrollment.objects.visible_to(actor)
        .select_related("person", "person__region", "facility", "case_officer", "guardian")
        .defer("person__region__boundary")
        .order_by("-enrolled_on", "-id")
    )
    if status:
        enrollments = enrollments.filter(status=status)
    return _officers_only(enrollments, actor)


def enrollment_record(*, actor) -> QuerySet[Enrollment]:
    """The queryset a person-record page fetches one enrolment from (404 outside scope)."""
    return enrollments_visible_to(actor=actor).prefetch_related(
        "visits", "subsidy_payments", "tasks", "check_ins"
    )


def tasks_visible_to(*, actor, open_only: bool = True) -> QuerySet[CaseTask]:
    tasks = (
        CaseTask.objects.visible_to(actor)
        .select_related("enrollment", "enrollment__person", "enrollment__person__region")
        .defer("enrollment__person__region__boundary")
        .order_by("due_on", "id")
    )
    if open_only:
        tasks = tasks.filter(done_on__isnull=True)
    return _officers_only(tasks, actor)


def access_records_visible_to(*, actor) -> QuerySet[AccessRecord]:
    return (
        AccessRecord.objects.visible_to(actor)
        .select_related("actor", "region", "enrollment")
        .defer("region__boundary")
        .order_by("-at", "-id")
    )


def find_by_id_number(*, actor, id_number: str) -> QuerySet[Enrollment]:
    """Lookup through the keyed hash: the only way an ID number is ever searched."""
    from special_groups.crypto import lookup_hash

    return enrollments_visible_to(actor=actor).filter(person__id_number_hash=lookup_hash(id_number))


# ---- metrics ---------------------------------------------------------------------------


def period(year: int, month: int | None = None) -> tuple[date, date]:
    if month is None:
        return date(year, 1, 1), date(year, 12, 31)
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _rate(numerator: int, denominator: int) -> float | None:
    return round(100 * numerator / denominator, 2) if denominator else None


@dataclass(frozen=True)
class Metrics:
    """Figures for one jurisdiction and period, each computed from the records."""

    pickup_targets: int  # 回归: must-pick-up people released in the period
    picked_up: int
    patients: int  # 安宁: registered patients enrolled at the end of the period
    patients_with_guardian: int
    visits_due: int  # visit tasks due in the period (up to today)
    visits_on_time: int
    subsidy_paid: Decimal  # 以奖代补 paid in the period
    subsidy_payees: int  # the people those payments were made for
    clinics: int
    townships: int
    townships_with_centre: int
    villages: int
    villages_with_centre: int
    rural_kindergartens: int
    special_schools: int
    special_school_students: int  # 育新: students received up to the end of the period
    yuxin_investment: Decimal  # summed over the 育新 facilities' investment
    yulu_investment: Decimal  # summed over the 雨露 facilities' investment
    dormitory_area: Decimal  # m² of dormitories and canteens built at 雨露 boarding schools
    # People in each project's caseload at the end of the period: ((project, n), ...) by project.
    in_caseload: tuple = ()
    released_from_rehab: int = 0  # 回归: of the must-pick-up people, those released from 强戒 (解戒)
    checkins_due: int = 0  # 社区矫正: expected check-ins due in the period (up to today)
    checkins_on_time: int = 0

    @property
    def pickup_rate(self) -> float | None:
        return _rate(self.picked_up, self.pickup_targets)

    @property
    def guardian_coverage(self) -> float | None:
        return _rate(self.patients_with_guardian, self.patients)

    @property
    def visit_compliance(self) -> float | None:
        return _rate(self.visits_on_time, self.visits_due)

    @property
    def township_centre_coverage(self) -> float | None:
        return _rate(self.townships_with_centre, self.townships)

    @property
    def village_centre_coverage(self) -> float | None:
        return _rate(self.villages_with_centre, self.villages)

    def as_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in (
            "pickup_rate",
            "guardian_coverage",
            "visit_compliance",
            "township_centre_coverage",
            "village_centre_coverage",
        ):
            data[name] = getattr(self, name)
        return data


def _people(condition: Q | None = None, *, prefix: str = "") -> Count:
    """People counted once each. A person is one project's record, so two officers (in two
    counties) who each enrol the same ID number hold two records: counted by the ID number's
    keyed hash, they are still one person in every figure."""
    return Count(f"{prefix}person__id_number_hash", distinct=True, filter=condition)


ALL_RECORDS = date(1900, 1, 1)


def _period_key(start: date, end: date) -> str | None:
    """The rollups' name for [start, end]: "all" (from the beginning), a year or a month."""
    if start == ALL_RECORDS:
        return "all"
    if (start, end) == period(start.year):
        return f"{start.year}"
    if (start, end) == period(start.year, start.month):
        return f"{start.year}-{start.month:02d}"
    return None


def _once(shared: dict | None, key: tuple, read):
    """``read()``, or what it gave earlier for the same page (``shared``): the dashboard asks for
    the same period-free figures (facilities, overdue tasks, a year's months) for each of its
    periods, and one page should read each once."""
    if shared is None:
        return read()
    if key not in shared:
        shared[key] = read()
    return shared[key]


# ``metrics`` over the tallies: people counted per period key up to a day, tasks and payments
# summed over the period's days (``first`` .. ``cut``/``last``).
METRICS_FIGURES = (
    "targets", "picked", "patients", "guarded", "students", "payees", "visits_due", "visits_on_time",
    "rehab", "checkins_due", "checkins_on_time", "paid"
)  # fmt: skip
METRICS_SQL = """
SELECT
    COALESCE(SUM(n) FILTER (WHERE measure = 'people.released' AND dim_c = %(key)s AND bucket <= %(cut)s), 0),
    COALESCE(SUM(n) FILTER (WHERE measure = 'people.picked' AND dim_c = %(key)s AND bucket <= %(cut)s), 0),
    COALESCE(SUM(n) FILTER (WHERE measure = 'people.patients' AND dim_c = 'all' AND bucket <= %(last)s), 0),
    COALESCE(SUM(n) FILTER (WHERE measure = 'people.guarded' AND dim_c = 'all' AND bucket <= %(last)s), 0),
    COALESCE(SUM(n) FILTER (WHERE measure = 'people.students' AND dim_c = 'all' AND bucket <= %(last)s), 0),
    COALESCE(SUM(n) FILTER (WHERE measure = 'people.payees' AND dim_c = %(key)s AND bucket <= %(last)s), 0),
    COALESCE(SUM(n) FILTER (
        WHERE measure = 'sg.visit' AND dim_c = 'anning' AND bucket >= %(first)s AND bucket <= %(cut)s
    ), 0),
    COALESCE(SUM(n) FILTER (
        WHERE measure = 'sg.visit' AND dim_c = 'anning' AND bucket >= %(first)s AND bucket <= %(cut)s
          AND dim_b = 'on_time'
    ), 0),
    COALESCE(SUM(n) FILTER (
        WHERE measure = 'people.released' AND dim_b = 'jiejie' AND dim_c = %(key)s AND bucket <= %(cut)s
    ), 0),
    COALESCE(SUM(n) FILTER (WHERE measure = 'sg.checkin' AND bucket >= %(first)s AND bucket <= %(cut)s), 0),
    COALESCE(SUM(n) FILTER (
        WHERE measure = 'sg.checkin' AND bucket >= %(first)s AND bucket <= %(cut)s AND dim_b = 'on_time'
    ), 0),
    SUM(amount) FILTER (WHERE measure = 'sg.subsidy' AND bucket >= %(first)s AND bucket <= %(last)s)
FROM {table}
WHERE region_id = %(region)s AND measure IN (
    'people.released', 'people.picked', 'people.patients', 'people.guarded', 'people.students',
    'people.payees', 'sg.visit', 'sg.subsidy', 'sg.checkin'
)
"""
# People in each project's caseload at the end of the period (``people.enrolled`` by project).
CASELOAD_SQL = """
SELECT dim_b, SUM(n) FROM {table}
WHERE region_id = %(region)s AND measure = 'people.enrolled' AND dim_c = 'all' AND bucket <= %(last)s
GROUP BY dim_b HAVING SUM(n) <> 0 ORDER BY dim_b
"""


def metrics(
    *, region: Region, start: date, end: date, raw: bool = False, shared: dict | None = None
) -> Metrics:
    """Every figure for ``region`` and the period [start, end]. Callers check that the actor
    may see ``region`` (``region_for``); this function only aggregates, it lists nobody.

    Read from the dashboard rollups (rollups.sources: ``people.*`` counts each person once per
    region, ``sg.*`` tasks and payments): one query over the region's tally rows, whatever the
    number of records. ``raw`` (and any other period) counts the records instead."""
    key = None if raw else _period_key(start, end)
    if key is None:
        return _raw_metrics(region=region, start=start, end=end)
    from rollups.selectors import day_start
    from rollups.services import fold_if_queued

    _once(shared, ("fold",), fold_if_queued)  # once per page: what is queued is folded by the first
    cut = day_start(min(end, timezone.localdate()))
    last, first = day_start(end), day_start(start)

    # By measure and region: the tallies' key index finds exactly these rows. Written as SQL:
    # the statement is fixed, and building its nine filtered sums through the ORM cost more
    # than running them (the dashboard asks twice per page).
    with connection.cursor() as cursor:
        cursor.execute(
            METRICS_SQL.format(table=Tally._meta.db_table),
            {"region": region.pk, "key": key, "cut": cut, "last": last, "first": first},
        )
        *counts, paid = cursor.fetchone()  # PostgreSQL sums bigints as numeric: counts are ints
        t = dict(zip(METRICS_FIGURES, [*(int(c) for c in counts), paid], strict=True))
        cursor.execute(CASELOAD_SQL.format(table=Tally._meta.db_table), {"region": region.pk, "last": last})
        in_caseload = tuple((code, int(n)) for code, n in cursor.fetchall())
    places = _once(shared, ("places", region.pk), lambda: _places(region=region))
    return Metrics(
        pickup_targets=t["targets"],
        picked_up=t["picked"],
        patients=t["patients"],
        patients_with_guardian=t["guarded"],
        visits_due=t["visits_due"],
        visits_on_time=t["visits_on_time"],
        subsidy_paid=t["paid"] or Decimal("0"),
        subsidy_payees=t["payees"],
        special_school_students=t["students"],
        in_caseload=in_caseload,
        released_from_rehab=t["rehab"],
        checkins_due=t["checkins_due"],
        checkins_on_time=t["checkins_on_time"],
        **places,
    )


# ``_places`` as SQL: fixed statements whose filtered counts cost more to build through the ORM
# than to run (the dashboard reads them once per page).
PLACES_SQL = """
SELECT
    COUNT(*) FILTER (WHERE f.kind = %(clinic)s),
    COUNT(*) FILTER (WHERE f.kind = %(kindergarten)s),
    COUNT(*) FILTER (WHERE f.kind = %(school)s),
    COUNT(DISTINCT f.region_id) FILTER (WHERE f.kind = %(centre)s AND r.level = %(township)s),
    COUNT(DISTINCT f.region_id) FILTER (WHERE f.kind = %(centre)s AND r.level = %(village)s),
    SUM(f.investment) FILTER (WHERE f.project = %(yuxin)s),
    SUM(f.investment) FILTER (WHERE f.project = %(yulu)s),
    SUM(f.floor_area) FILTER (WHERE f.kind = %(boarding)s AND f.project = %(yulu)s),
    (SELECT COUNT(*) FILTER (WHERE level = %(township)s) FROM {regions} WHERE path LIKE %(inside)s),
    (SELECT COUNT(*) FILTER (WHERE level = %(village)s) FROM {regions} WHERE path LIKE %(inside)s)
FROM {facilities} f JOIN {regions} r ON r.id = f.region_id
WHERE r.path LIKE %(inside)s
"""


def _places(*, region: Region) -> dict:
    """Facilities and the places that have them: an inventory (a few rows per township), not a
    history, counted from the records in one query."""
    kind = ServiceFacility.Kind
    with connection.cursor() as cursor:
        cursor.execute(
            PLACES_SQL.format(
                facilities=connection.ops.quote_name(ServiceFacility._meta.db_table),
                regions=connection.ops.quote_name(Region._meta.db_table),
            ),
            {
                "inside": connection.ops.prep_for_like_query(region.path) + "%",
                "clinic": kind.PSYCHIATRIC_CLINIC,
                "kindergarten": kind.RURAL_KINDERGARTEN,
                "school": kind.SPECIAL_SCHOOL,
                "centre": kind.PROTECTION_CENTRE,
                "boarding": kind.BOARDING_SCHOOL,
                "township": Region.Level.TOWNSHIP,
                "village": Region.Level.VILLAGE,
                "yuxin": SpecialProject.YUXIN,
                "yulu": SpecialProject.YULU,
            },
        )
        (clinics, kindergartens, schools, townships_with, villages_with, yuxin, yulu, dormitory, townships,
         villages) = cursor.fetchone()  # fmt: skip
    return {
        "clinics": clinics,
        "townships": townships,
        "townships_with_centre": townships_with,
        "villages": villages,
        "villages_with_centre": villages_with,
        "rural_kindergartens": kindergartens,
        "special_schools": schools,
        "yuxin_investment": yuxin or Decimal("0"),
        "yulu_investment": yulu or Decimal("0"),
        "dormitory_area": dormitory or Decimal("0"),
    }


def _raw_metrics(*, region: Region, start: date, end: date) -> Metrics:
    """``metrics`` counted from the records (the reference the rollups are tested against)."""
    inside = region.path
    today = timezone.localdate()
    enrollments = Enrollment.objects.filter(person__region__path__startswith=inside)
    in_place = Q(enrolled_on__lte=end) & (Q(closed_on__isnull=True) | Q(closed_on__gt=end))
    pickups = enrollments.filter(
        project=SpecialProject.HUIGUI, release_date__gte=start, release_date__lte=min(end, today)
    ).aggregate(
        targets=_people(),
        picked=_people(Q(pickup_outcome="picked_up")),
        rehab=_people(Q(release_kind=Enrollment.ReleaseKind.REHABILITATION)),
    )
    patients = enrollments.filter(in_place, project=SpecialProject.ANNING).aggregate(
        n=_people(), guarded=_people(Q(guardian__isnull=False))
    )
    visits = CaseTask.objects.filter(
        enrollment__person__region__path__startswith=inside,
        enrollment__project=SpecialProject.ANNING,
        kind=CaseTask.Kind.VISIT,
        due_on__gte=start,
        due_on__lte=min(end, today),
    ).aggregate(due=Count("pk"), on_time=Count("pk", filter=Q(done_on__lte=F("due_on"))))
    paid = SubsidyPayment.objects.filter(
        enrollment__person__region__path__startswith=inside, paid_on__gte=start, paid_on__lte=end
    ).aggregate(total=Sum("amount"), payees=_people(prefix="enrollment__"))
    checkins = CaseTask.objects.filter(
        enrollment__person__region__path__startswith=inside,
        kind=CaseTask.Kind.CHECK_IN,
        due_on__gte=start,
        due_on__lte=min(end, today),
    ).aggregate(due=Count("pk"), on_time=Count("pk", filter=Q(done_on__lte=F("due_on"))))
    students = enrollments.filter(
        project=SpecialProject.YUXIN,
        facility__kind=ServiceFacility.Kind.SPECIAL_SCHOOL,
        enrolled_on__lte=end,
    ).aggregate(n=_people())["n"]
    return Metrics(
        pickup_targets=pickups["targets"],
        picked_up=pickups["picked"],
        patients=patients["n"],
        patients_with_guardian=patients["guarded"],
        visits_due=visits["due"],
        visits_on_time=visits["on_time"],
        subsidy_paid=paid["total"] or Decimal("0"),
        subsidy_payees=paid["payees"],
        special_school_students=students,
        released_from_rehab=pickups["rehab"],
        checkins_due=checkins["due"],
        checkins_on_time=checkins["on_time"],
        in_caseload=tuple(
            (row["project"], row["n"])
            for row in enrollments.filter(in_place)
            .values("project")
            .annotate(n=_people())
            .order_by("project")
            if row["n"]
        ),
        **_places(region=region),
    )


MONTHLY_SQL = """
SELECT CASE WHEN measure = 'sg.visit' THEN measure || ':' || COALESCE(dim_b, '') ELSE measure END,
       CASE WHEN measure LIKE 'people.%%' THEN substring(dim_c, 6)::integer
            ELSE EXTRACT(MONTH FROM bucket AT TIME ZONE 'UTC')::integer END,
       SUM(n)::bigint, SUM(amount)
FROM {table}
WHERE region_id = %(region)s AND bucket <= %(last)s
  AND measure IN ('people.released', 'people.picked', 'people.payees', 'sg.visit', 'sg.subsidy')
  AND ((measure IN ('people.released', 'people.picked', 'people.payees') AND dim_c LIKE %(months)s)
       OR (((measure = 'sg.visit' AND dim_c = %(visit_project)s) OR measure = 'sg.subsidy')
           AND bucket >= %(first)s))
GROUP BY 1, 2
"""


def _monthly_figures(
    *, region: Region, year: int, raw: bool = False, shared: dict | None = None
) -> dict[str, dict[int, tuple]]:
    """Per month of ``year``: (people released, picked up), (visits due, on time) and (amount
    paid, people paid); unsuppressed figures, never shown before ``monthly_series`` suppresses
    them. Read from the rollups in one query over at most a year of the region's daily rows."""
    if raw:
        return _raw_monthly_figures(region=region, year=year)
    from rollups.selectors import day_start
    from rollups.services import fold_if_queued

    _once(shared, ("fold",), fold_if_queued)
    today = timezone.localdate()
    start, end = period(year)
    end = min(end, today) if start <= today else end
    first, last = day_start(start), day_start(end)
    # Summed by month in the database (a year of daily rows in, a few dozen sums out): people
    # counts carry their month in ``dim_c`` ("2026-03"), daily rows in their (UTC midnight) bucket;
    # visits are kept apart by ``dim_b`` (on time, late). Written as SQL, as ``metrics`` is.
    with connection.cursor() as cursor:
        cursor.execute(
            MONTHLY_SQL.format(table=connection.ops.quote_name(Tally._meta.db_table)),
            {
                "region": region.pk,
                "months": f"{year}-%",
                "first": first,
                "last": last,
                # Visit compliance is 安宁's figure: visits carry their project in ``dim_c``.
                "visit_project": SpecialProject.ANNING,
            },
        )
        rows = cursor.fetchall()
    sums: dict[tuple[str, int], list] = {(k, m): [count, total] for k, m, count, total in rows}

    def n(measure: str, month: int) -> int:
        return sums.get((measure, month), [0])[0]

    def present(*measures: str) -> list[int]:
        return sorted({m for (measure, m), (count, _a) in sums.items() if measure in measures and count})

    return {
        "pickups": {m: (n("people.released", m), n("people.picked", m)) for m in present("people.released")},
        "visits": {
            m: (n("sg.visit:on_time", m) + n("sg.visit:late", m), n("sg.visit:on_time", m))
            for m in present("sg.visit:on_time", "sg.visit:late")
        },
        "paid": {m: (sums[("sg.subsidy", m)][1], n("people.payees", m)) for m in present("sg.subsidy")},
    }


def _raw_monthly_figures(*, region: Region, year: int) -> dict[str, dict[int, tuple]]:
    """``_monthly_figures`` counted from the records (the rollups' reference)."""
    inside = region.path
    today = timezone.localdate()
    start, end = period(year)
    end = min(end, today) if start <= today else end
    pickups = (
        Enrollment.objects.filter(
            person__region__path__startswith=inside,
            project=SpecialProject.HUIGUI,
            release_date__gte=start,
            release_date__lte=end,
        )
        .annotate(m=ExtractMonth("release_date"))
        .values("m")
        .annotate(n=_people(), picked=_people(Q(pickup_outcome="picked_up")))
        .order_by()
    )
    visits = (
        CaseTask.objects.filter(
            enrollment__person__region__path__startswith=inside,
            enrollment__project=SpecialProject.ANNING,
            kind=CaseTask.Kind.VISIT,
            due_on__gte=start,
            due_on__lte=end,
        )
        .annotate(m=ExtractMonth("due_on"))
        .values("m")
        .annotate(n=Count("pk"), ok=Count("pk", filter=Q(done_on__lte=F("due_on"))))
        .order_by()
    )
    paid = (
        SubsidyPayment.objects.filter(
            enrollment__person__region__path__startswith=inside, paid_on__gte=start, paid_on__lte=end
        )
        .annotate(m=ExtractMonth("paid_on"))
        .values("m")
        .annotate(total=Sum("amount"), payees=_people(prefix="enrollment__"))
        .order_by()
    )
    return {
        "pickups": {row["m"]: (row["n"], row["picked"]) for row in pickups},
        "visits": {row["m"]: (row["n"], row["ok"]) for row in visits},
        "paid": {row["m"]: (row["total"], row["payees"]) for row in paid},
    }


def _shown_series(cells: list[Cell], *, inside: bool) -> Suppressed:
    """A year's months are published next to the year's tile (their total): complementary
    suppression keeps a hidden month from being the year minus the visible months."""
    return suppress(cells, inside=inside, with_total=True)


def monthly_series(*, actor, region: Region, year: int, shared: dict | None = None) -> dict[str, list]:
    """Per-month pick-up rate, visit compliance and subsidy paid for the charts (three queries),
    each month suppressed for viewers outside the project when fewer than five people are
    behind it (and one more month when only one would be hidden); ``hidden_*`` say which."""
    figures = _once(
        shared, ("months", region.pk, year), lambda: _monthly_figures(region=region, year=year, shared=shared)
    )
    months = list(range(1, 13))
    huigui = sees_project_counts(actor, SpecialProject.HUIGUI)
    anning = sees_project_counts(actor, SpecialProject.ANNING)
    pickups = _shown_series(
        [Cell(_rate(picked, n), n) for n, picked in (figures["pickups"].get(m, (0, 0)) for m in months)],
        inside=huigui,
    )
    visits = _shown_series(
        [Cell(_rate(ok, n), n) for n, ok in (figures["visits"].get(m, (0, 0)) for m in months)],
        inside=anning,
    )
    picked = _shown_series(
        [Cell(p, p) for _n, p in (figures["pickups"].get(m, (0, 0)) for m in months)], inside=huigui
    )
    paid = _shown_series(
        [
            Cell(float(total), payees)
            for total, payees in (figures["paid"].get(m, (Decimal("0"), 0)) for m in months)
        ],
        inside=anning,
    )
    return {
        "months": [f"{year}-{m:02d}" for m in months],
        "pickup_rate": pickups.values,
        "visit_compliance": visits.values,
        "subsidy_paid": paid.values,
        # Which months, and whether the year's own figure, are hidden, by tile key: the
        # metrics API and the year's tiles hide the same cells as the charts.
        "hidden": {
            "special_groups.pickup_rate": (pickups.hidden, pickups.total_hidden),
            "special_groups.picked_up": (picked.hidden, picked.total_hidden),
            "special_groups.visit_compliance": (visits.hidden, visits.total_hidden),
            "special_groups.subsidy_paid": (paid.hidden, paid.total_hidden),
        },
    }


def period_tiles(
    *,
    actor,
    region: Region,
    year: int | None = None,
    month: int | None = None,
    shared: dict | None = None,
) -> list[Tile]:
    """The tiles for all records, a year or one month of it: what the project dashboard and the
    metrics API show. A year and its months are one partition: a month hidden in the charts is
    hidden here too, and a year whose months cannot be protected otherwise is hidden itself, so
    no combination of answers recovers a suppressed figure by subtraction.

    ``shared``: a dict kept for one page, so that what does not depend on the period is read once
    for all the page's periods and charts (same actor, same region)."""
    if year is None:
        return project_tiles(actor=actor, region=region, shared=shared)
    start, end = period(year, month)
    tiles = project_tiles(actor=actor, region=region, start=start, end=end, shared=shared)
    hidden = monthly_series(actor=actor, region=region, year=year, shared=shared)["hidden"]

    def hide(tile: Tile) -> bool:
        if tile.key not in hidden:
            return False
        months, total = hidden[tile.key]
        return months[month - 1] if month else total

    return [
        Tile(key=t.key, label=t.label, value=None, unit=t.unit, suppressed=True, group=t.group)
        if hide(t) and not t.suppressed
        else t
        for t in tiles
    ]


def latest_year(*, region: Region, raw: bool = False) -> int:
    """The year the dashboard opens on: the latest with enrolments in the region, else this one."""
    if raw:
        latest = Enrollment.objects.filter(person__region__path__startswith=region.path).aggregate(
            y=Max("enrolled_on")
        )["y"]
        return (latest or timezone.localdate()).year
    # The rollups' enrolments by day (midnight UTC, so its UTC year is the day's year).
    latest = Tally.objects.filter(measure="sg.enrolled", region_id=region.pk).aggregate(y=Max("bucket"))["y"]
    return latest.astimezone(datetime.UTC).year if latest else timezone.localdate().year


def region_for(*, actor, code: str | None = None) -> Region | None:
    """The region a dashboard shows: ``code`` if the actor may see it, else their own."""
    regions = Region.objects.visible_to(actor).defer("boundary")
    if code:
        return regions.filter(code=code).first()
    if actor.region_id:
        return regions.filter(pk=actor.region_id).first()
    return regions.order_by("path").first()


def sees_project_counts(actor, project: str) -> bool:
    """Inside the project (its own case officers) counts are shown as they are."""
    return actor.role == Role.CASE_OFFICER and actor.special_project == project


def _tile(key, label, cell: Cell, *, inside: bool, group: str, unit: str = "", detail: str = "") -> Tile:
    """A figure about people, through the one suppression function (``anshun.dashboard.suppress``)."""
    shown = suppress([cell], inside=inside)
    if shown.hidden[0]:
        return Tile(key=key, label=label, value=None, unit=unit, suppressed=True, group=group)
    return Tile(key=key, label=label, value=cell.value, unit=unit, detail=detail, group=group)


def _count_tile(key, label, count, *, inside: bool, group: str) -> Tile:
    return _tile(key, label, Cell(count, count), inside=inside, group=group)


def _rate_tile(key, label, numerator, denominator, *, inside: bool, group: str) -> Tile:
    """A rate over fewer than five people could identify them: suppressed outside the project."""
    return _tile(
        key,
        label,
        Cell(_rate(numerator, denominator), denominator),
        inside=inside,
        group=group,
        unit="%",
        detail=f"n = {denominator}",
    )


def project_tiles(
    *,
    actor,
    region: Region,
    start: date | None = None,
    end: date | None = None,
    shared: dict | None = None,
) -> list[Tile]:
    """KPI tiles for the officials' dashboard (``dashboard_tiles``) and the project dashboards:
    each project's declared figures (``special_groups.projects``), counts of people suppressed
    outside the project. A project declared ``figures_outside=False`` (红丝带, HIV) is never
    shown outside itself."""
    start = start or ALL_RECORDS
    end = end or timezone.localdate()
    m = metrics(region=region, start=start, end=end, shared=shared)
    # Overdue flags reach the officer on the task list and their head (the officials of the
    # jurisdiction) here, as a count across the projects whose figures officials see; the
    # officer sees their own project's.
    overdue = Tally.objects.filter(measure="sg.overdue_task", region_id=region.pk)
    if actor.role == Role.CASE_OFFICER:
        overdue = overdue.filter(dim_b=actor.special_project)
    else:
        overdue = overdue.filter(dim_b__in=projects_with(figures_outside=True))
    overdue_count = _once(
        shared,
        ("overdue", region.pk, actor.pk),
        lambda: overdue.aggregate(n=Coalesce(Sum("n"), 0))["n"],
    )
    tiles = [
        _count_tile(
            "special_groups.overdue_tasks",
            _("Overdue tasks"),
            overdue_count,
            inside=actor.role == Role.CASE_OFFICER,
            group=str(_("Six projects")),
        )
    ]
    # Each project's figures, in the order and under the keys its entry declares
    # (special_groups.projects); a project whose figures officials never see (红丝带) is shown
    # to its own officers only, and to nobody else, not even as a suppressed tile.
    for entry in PROJECTS:
        inside = sees_project_counts(actor, entry.code)
        if not entry.figures_outside and not inside:
            continue
        built = _project_figures(entry, m, inside=inside)
        tiles.extend(built[key] for key in entry.figures)
    return tiles


def _project_figures(entry, m: Metrics, *, inside: bool) -> dict[str, Tile]:
    """Every tile a project may declare, by key, for one project (its group is its name)."""
    group = str(entry.label)
    in_caseload = dict(m.in_caseload)
    figures = {
        "special_groups.picked_up": lambda: _count_tile(
            "special_groups.picked_up", _("People picked up"), m.picked_up, inside=inside, group=group
        ),
        "special_groups.pickup_rate": lambda: _rate_tile(
            "special_groups.pickup_rate",
            _("Pick-up rate"),
            m.picked_up,
            m.pickup_targets,
            inside=inside,
            group=group,
        ),
        "special_groups.patients": lambda: _count_tile(
            "special_groups.patients", _("Registered patients"), m.patients, inside=inside, group=group
        ),
        "special_groups.guardian_coverage": lambda: _rate_tile(
            "special_groups.guardian_coverage",
            _("Guardian coverage"),
            m.patients_with_guardian,
            m.patients,
            inside=inside,
            group=group,
        ),
        "special_groups.visit_compliance": lambda: _rate_tile(
            "special_groups.visit_compliance",
            _("Visit compliance"),
            m.visits_on_time,
            m.visits_due,
            inside=inside,
            group=group,
        ),
        "special_groups.subsidy_paid": lambda: _tile(
            "special_groups.subsidy_paid",
            _("Subsidy paid"),
            Cell(int(m.subsidy_paid), m.subsidy_payees),
            inside=inside,
            unit="元",
            group=group,
        ),
        "special_groups.clinics": lambda: Tile(
            "special_groups.clinics", _("Specialist clinics"), m.clinics, group=group
        ),
        "special_groups.township_centres": lambda: Tile(
            "special_groups.township_centres",
            _("Townships with a protection centre"),
            m.townships_with_centre,
            detail=f"/ {m.townships}",
            group=group,
        ),
        "special_groups.village_centres": lambda: Tile(
            "special_groups.village_centres",
            _("Villages with a protection centre"),
            m.villages_with_centre,
            detail=f"/ {m.villages}",
            group=group,
        ),
        "special_groups.kindergartens": lambda: Tile(
            "special_groups.kindergartens", _("Rural kindergartens"), m.rural_kindergartens, group=group
        ),
        "special_groups.yulu_investment": lambda: Tile(
            "special_groups.yulu_investment",
            _("%(project)s: investment") % {"project": group},
            int(m.yulu_investment),
            unit="元",
            group=group,
        ),
        "special_groups.dormitory_area": lambda: Tile(
            "special_groups.dormitory_area",
            _("Boarding-school dormitories and canteens built"),
            int(m.dormitory_area),
            unit="m²",
            group=group,
        ),
        "special_groups.special_schools": lambda: Tile(
            "special_groups.special_schools", _("Special schools"), m.special_schools, group=group
        ),
        "special_groups.yuxin_investment": lambda: Tile(
            "special_groups.yuxin_investment",
            _("%(project)s: investment") % {"project": group},
            int(m.yuxin_investment),
            unit="元",
            group=group,
        ),
        "special_groups.students": lambda: _count_tile(
            "special_groups.students",
            _("Special-school students received"),
            m.special_school_students,
            inside=inside,
            group=group,
        ),
        "special_groups.released_from_rehab": lambda: _count_tile(
            "special_groups.released_from_rehab",
            _("Of them released from compulsory drug rehabilitation"),
            m.released_from_rehab,
            inside=inside,
            group=group,
        ),
        "special_groups.check_in_compliance": lambda: _rate_tile(
            "special_groups.check_in_compliance",
            _("Check-ins on time"),
            m.checkins_on_time,
            m.checkins_due,
            inside=inside,
            group=group,
        ),
        f"special_groups.people:{entry.code}": lambda: _count_tile(
            f"special_groups.people:{entry.code}",
            _("People in the caseload"),
            in_caseload.get(entry.code, 0),
            inside=inside,
            group=group,
        ),
    }
    return {key: figures[key]() for key in entry.figures if key in figures}


def dashboard_tiles(*, actor, region) -> list[Tile]:
    """The officials' dashboard contract (``AppConfig.dashboard_tiles``)."""
    from dataclasses import replace

    from rollups.selectors import folded_at

    if region is None or not Region.objects.visible_to(actor).filter(pk=region.pk).exists():
        return []
    tiles = project_tiles(actor=actor, region=region)
    as_of = folded_at()  # the figures come from the rollups: as of their last fold
    return [replace(tile, as_of=as_of) for tile in tiles]


def registry_resident_for(*, actor, id_number: str):
    """The basic registry's resident with this ID number in the actor's jurisdiction, to link an
    enrolment to (``person_enroll``'s ``registry_person``), or None.

    Found only by the exact number (the registry's own keyed-hash look-up, through its
    ``visible_to``): nothing is listed or searched, so a case officer needs no ``registry.view``
    and learns no more than whether that one number lives in their jurisdiction's registry. A
    current resident is preferred to a record of someone who has moved out."""
    from registry.selectors import resident_by_id_number

    return (
        resident_by_id_number(actor=actor, id_number=id_number)
        .order_by(F("moved_out_on").desc(nulls_first=True), "-id")
        .first()
    )
