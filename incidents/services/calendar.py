"""The local working calendar: holidays and 调休 working days entered by administrators.

They override ``chinesecalendar`` and are the only holidays known for the years it does not
cover (see ``incidents.services.worktime``). Each write tells the due-time cache, at once in
this process and, after the commit, in every other one.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from incidents.models import CalendarDay
from incidents.policy import POLICY
from incidents.services.worktime import calendar_changed


def _changed() -> None:
    calendar_changed()
    transaction.on_commit(calendar_changed)


@transaction.atomic
@POLICY.command("calendar_day_set")
def calendar_day_set(*, actor, day: date, kind: str, note: str = "") -> CalendarDay:
    """Create or replace the entry for ``day`` (one per date). Due times already set are left
    as they are; only computations from now on use it."""
    from incidents.services.workflow import check_text

    if not isinstance(day, date):
        raise ValidationError({"day": _("Enter a valid date.")})
    if kind not in CalendarDay.Kind.values:
        raise ValidationError({"kind": _("Choose a holiday or a working day.")})
    note = check_text((note or "").strip(), field="note", max_length=200)
    entry, _created = CalendarDay.objects.update_or_create(
        day=day, defaults={"kind": kind, "note": note, "updated_by": actor}
    )
    _changed()
    return entry


@transaction.atomic
@POLICY.command("calendar_day_delete")
def calendar_day_delete(*, actor, day: date) -> bool:
    """Remove the local entry for ``day`` (the library's or the weekday rule applies again)."""
    deleted, _rows = CalendarDay.objects.filter(day=day).delete()
    _changed()
    return bool(deleted)
