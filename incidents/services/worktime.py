"""Working-hour arithmetic for the limits: 立案, 派遣 and handling.

Limits are published in working hours (one working day = 8 hours), so a case dispatched on
Friday afternoon with a one-day limit is due on Monday afternoon, not on Saturday. Working time
is 09:00–12:00 and 13:00–18:00 Asia/Shanghai on working days.

Which days are working days, in this order:

1. ``CalendarDay`` rows entered by administrators (a holiday, or a 调休 working day), which
   override everything below;
2. the statutory holidays and 调休 working days of ``chinesecalendar`` for the years it covers
   (``LIBRARY_YEARS``: 2004–2026 in version 1.11.0);
3. for other years (2027 and later until the library is upgraded), Monday to Friday only.
   The library knows nothing of those years, so the admin's calendar page warns about every
   such year: the State Council's arrangement must be entered there by hand once published.

The local days are read on every due-time computation, so they are cached: each process keeps
them in memory and checks a generation number in the cache (Redis) at most every
``RECHECK_SECONDS``; a write through ``incidents.services.calendar`` bumps the generation, so
every process sees an admin's change within that time (the writing process at once).
"""

from __future__ import annotations

import logging
import time as clock
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants as library
from django.core.cache import cache

LOCAL = ZoneInfo("Asia/Shanghai")
WORK_PERIODS = ((time(9), time(12)), (time(13), time(18)))
# The years whose holidays and 调休 days the library knows.
LIBRARY_YEARS = range(
    min(day.year for day in library.holidays), max(day.year for day in library.holidays) + 1
)
GENERATION_KEY = "incidents:calendar:generation"
RECHECK_SECONDS = 5.0
# No limit is longer than a few months; a run this long means a calendar of nothing but holidays.
MAX_DAYS = 3660

logger = logging.getLogger(__name__)


@dataclass
class _Memo:
    generation: object = None
    checked_at: float = float("-inf")
    days: dict[date, bool] | None = None
    warned_years: set[int] = field(default_factory=set)


_memo = _Memo()


def _load_local_days() -> dict[date, bool]:
    from incidents.models import CalendarDay

    return {
        day: kind == CalendarDay.Kind.WORKING_DAY
        for day, kind in CalendarDay.objects.values_list("day", "kind")
    }


def local_days() -> dict[date, bool]:
    """The administrators' days (date → is a working day), cached as the module says."""
    now = clock.monotonic()
    if _memo.days is not None and now - _memo.checked_at < RECHECK_SECONDS:
        return _memo.days
    generation = cache.get(GENERATION_KEY)
    if _memo.days is None or generation != _memo.generation or generation is None:
        _memo.days = _load_local_days()
        _memo.generation = generation
    _memo.checked_at = now
    return _memo.days


def calendar_changed() -> None:
    """Called after a write to ``CalendarDay``: this process reloads now, others within
    ``RECHECK_SECONDS`` (a new generation in the shared cache)."""
    cache.set(GENERATION_KEY, clock.time_ns(), timeout=None)
    _memo.days = None
    _memo.checked_at = float("-inf")


def library_covers(year: int) -> bool:
    return year in LIBRARY_YEARS


def is_working_day(day: date, *, local: dict[date, bool] | None = None) -> bool:
    """Whether ``day`` has working hours: local entry, else the library, else Monday–Friday."""
    local = local_days() if local is None else local
    if day in local:
        return local[day]
    if library_covers(day.year):
        return chinese_calendar.is_workday(day)
    if day.year not in _memo.warned_years:
        _memo.warned_years.add(day.year)
        logger.warning(
            "No statutory holidays known for %s: counting Monday to Friday and the admin's days only.",
            day.year,
        )
    return day.weekday() < 5


def add_working_hours(start: datetime, hours: float) -> datetime:
    """The moment ``hours`` working hours after ``start`` (aware in, aware UTC-comparable out)."""
    remaining = timedelta(hours=hours)
    if remaining <= timedelta(0):
        return start
    local = local_days()
    moment = start.astimezone(LOCAL)
    for _step in range(MAX_DAYS):
        day = moment.date()
        if is_working_day(day, local=local):
            for begin, end in WORK_PERIODS:
                period_start = datetime.combine(day, begin, LOCAL)
                period_end = datetime.combine(day, end, LOCAL)
                if moment >= period_end:
                    continue
                moment = max(moment, period_start)
                available = period_end - moment
                if remaining <= available:
                    return moment + remaining
                remaining -= available
                moment = period_end
        moment = datetime.combine(day + timedelta(days=1), time(0), LOCAL)
    raise ValueError(f"no working time within {MAX_DAYS} days of {start.isoformat()}")


# The published intake limits (DOMAIN.md): 立案 within one working hour of the report, 派遣
# within one working hour of 立案 (the urban fringe's two hours are not modelled), and the
# receiving unit takes the case (签收) within an hour of 派遣, counted in working time like the
# others: a unit is not staffed at night, and its hour starts when its day does.
REGISTER_LIMIT_HOURS = 1
DISPATCH_LIMIT_HOURS = 1
TAKE_LIMIT_HOURS = 1


def register_due(reported_at: datetime) -> datetime:
    return add_working_hours(reported_at, REGISTER_LIMIT_HOURS)


def dispatch_due(registered_at: datetime) -> datetime:
    return add_working_hours(registered_at, DISPATCH_LIMIT_HOURS)


def take_due(dispatched_at: datetime) -> datetime:
    return add_working_hours(dispatched_at, TAKE_LIMIT_HOURS)


def uncovered_years(*, today: date, ahead: int = 1) -> list[int]:
    """This year and the next ``ahead`` ones that the library does not cover (for the admin's
    warning): their due times count weekends and the local days only."""
    return [year for year in range(today.year, today.year + ahead + 1) if not library_covers(year)]
