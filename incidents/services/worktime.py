"""Working-hour arithmetic for handling limits.

Limits are published in working hours (one working day = 8 hours), so a case
dispatched on Friday afternoon with a one-day limit is due on Monday afternoon,
not on Saturday. Working time is Monday–Friday, 09:00–12:00 and 13:00–18:00
Asia/Shanghai; public holidays are not modelled yet.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")
WORK_PERIODS = ((time(9), time(12)), (time(13), time(18)))


def add_working_hours(start: datetime, hours: float) -> datetime:
    """The moment ``hours`` working hours after ``start`` (aware in, aware UTC-comparable out)."""
    remaining = timedelta(hours=hours)
    if remaining <= timedelta(0):
        return start
    moment = start.astimezone(LOCAL)
    while True:
        day = moment.date()
        if day.weekday() < 5:
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
