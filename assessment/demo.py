"""Demo scores (`manage.py load_anshun --demo`): the ranking computed from the demo's records.

Nothing is stored as a score: the run counts the demo incidents (2017's closed year and today's
live work), mediation cases, survey rollups and planned visits like any other run. It comes after
the other apps' demos (INSTALLED_APPS order), so their records exist."""

from __future__ import annotations

from django.utils import timezone

from anshun.commands import system_command
from anshun.provenance import record_demo
from assessment.services import compute_scores

DEMO_YEARS = (2017,)


@system_command("load_anshun --demo: scores the demo's records for the demo year and this year; no actor.")
def load_demo_assessment() -> str:
    record_demo(app_label="assessment")
    years = sorted({*DEMO_YEARS, timezone.localdate().year})
    written = [compute_scores(year=year).rows_written for year in years]
    return ", ".join(f"{year}: {n} score rows written" for year, n in zip(years, written, strict=True))
