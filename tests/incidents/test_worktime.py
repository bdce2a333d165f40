from datetime import datetime

import pytest

from incidents.services.worktime import LOCAL, add_working_hours

# The local working calendar (holidays entered by admins) is read from the database.
pytestmark = pytest.mark.django_db


def local(*args):
    return datetime(*args, tzinfo=LOCAL)


def test_hours_inside_one_morning():
    assert add_working_hours(local(2026, 11, 23, 9, 30), 2) == local(2026, 11, 23, 11, 30)


def test_lunch_break_is_skipped():
    assert add_working_hours(local(2026, 11, 23, 11, 0), 2) == local(2026, 11, 23, 14, 0)


def test_one_working_day_from_friday_afternoon_ends_on_monday():
    # Friday 2026-11-27 15:00: 3 hours left on Friday, 5 more on Monday from 09:00.
    assert add_working_hours(local(2026, 11, 27, 15, 0), 8) == local(2026, 11, 30, 15, 0)


def test_a_start_at_night_counts_from_the_next_morning():
    assert add_working_hours(local(2026, 11, 23, 22, 0), 1) == local(2026, 11, 24, 10, 0)


def test_zero_hours_is_the_start_itself():
    evening = local(2026, 11, 23, 18, 0)
    assert add_working_hours(evening, 0) == evening
