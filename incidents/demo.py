"""Demo incidents for `make run`: a year of closed cases in one county and live work everywhere.

Every row is synthetic and marked by its description, and every figure computed from them is
demo data (the dashboard marks it so: ``anshun.provenance``). The source article gives no
incident figures; the county's 2017 caseload (1,040 cases due, 962 closed, 803 of them on time)
is invented, deliberately not the worked example of another county quoted in DOMAIN.md, so that
nothing on a page passes that county's rates off as Anshun's. The dashboard computes closure
rate = closed / due and on-time rate = closed on time / due from these rows (92.50% and
77.21%). Client UUIDs are derived from a fixed namespace, so a second load writes nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from itertools import cycle

from django.db import transaction
from django.utils import timezone

from anshun.commands import system_command
from anshun.db import analyze
from anshun.provenance import record_demo
from grids.models import Grid
from incidents.categories import seed_categories
from incidents.models import Incident, IncidentCategory, IncidentEvent, IncidentOffice

DEMO_NAMESPACE = uuid.UUID("3b0e3c52-5f8e-4c1e-9a4e-5a1c0d2e2017")
REPORT_COUNTY = "520402"  # 西秀区
DUE, CLOSED, ON_TIME = 1040, 962, 803  # demo, not a published figure
LIVE_PER_COUNTY = 25
S = Incident.Status
CLOSED_PATH = [S.REPORTED, S.REGISTERED, S.DISPATCHED, S.HANDLING, S.HANDLED, S.VERIFIED, S.CLOSED]
LIVE_STATES = [S.REPORTED, S.REGISTERED, S.DISPATCHED, S.HANDLING, S.HANDLED]


def _uuid(key: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, key)


def _events(incident: Incident, statuses: list[str], start: datetime, end: datetime) -> list[IncidentEvent]:
    step = (end - start) / max(len(statuses) - 1, 1)
    events, previous = [], ""
    for index, status in enumerate(statuses):
        events.append(
            IncidentEvent(
                incident=incident,
                at=start + step * index,
                from_status=previous,
                to_status=status,
                note="演示数据",
            )
        )
        previous = status
    return events


@system_command("load_anshun --demo: synthetic history written as rows (it never happened through a user).")
@transaction.atomic
def load_demo_incidents() -> str:
    record_demo(app_label="incidents")
    if Incident.objects.filter(client_uuid=_uuid("county-0")).exists():
        return "already loaded"
    seed_categories()  # idempotent; the migration seeds them, but a flushed database has none
    categories = list(IncidentCategory.objects.filter(is_active=True).order_by("code"))
    county_grids = list(
        Grid.objects.filter(village__path__startswith=f"5204/{REPORT_COUNTY}/")
        .select_related("office")
        .order_by("code")[::7]
    )
    incidents: list[Incident] = []
    timelines: list[tuple[Incident, list[str], datetime, datetime]] = []
    category_cycle, grid_cycle = cycle(categories), cycle(county_grids)

    # 2017 in the county: every case is due; CLOSED closed, the first ON_TIME of them on time.
    year_start = datetime(2017, 1, 2, 1, 30, tzinfo=UTC)
    for index in range(DUE):
        grid, category = next(grid_cycle), next(category_cycle)
        reported = year_start + timedelta(hours=index * 8.3)  # within 2017, local time too
        due = reported + timedelta(hours=max(category.handling_limit_hours, 8) * 3)
        closed_at = None
        if index < ON_TIME:
            closed_at = reported + (due - reported) * 0.6
        elif index < CLOSED:
            closed_at = due + timedelta(days=2)
        status = S.CLOSED if closed_at else S.HANDLING
        incident = Incident(
            client_uuid=_uuid(f"county-{index}"),
            category=category,
            grid=grid,
            status=status,
            description=f"【演示】{category.name}（{grid.name}）",
            location=grid.geometry.point_on_surface,
            reported_at=reported,
            due_at=due,
            closed_at=closed_at,
            handling_office=grid.office,
        )
        incidents.append(incident)
        path = CLOSED_PATH if closed_at else CLOSED_PATH[:4]
        timelines.append((incident, path, reported, closed_at or reported + timedelta(hours=6)))

    # Live work in every county, not yet due, in every open state.
    now = timezone.now()
    other_grids = (
        Grid.objects.exclude(village__path__startswith=f"5204/{REPORT_COUNTY}/")
        .select_related("office", "village__parent__parent")
        .order_by("code")
    )
    by_county: dict[str, list[Grid]] = {}
    for grid in other_grids[::11]:
        by_county.setdefault(grid.village.parent.parent.code, []).append(grid)
    by_county[REPORT_COUNTY] = county_grids
    for county, grids in sorted(by_county.items()):
        for index in range(LIVE_PER_COUNTY):
            grid, category = grids[index % len(grids)], next(category_cycle)
            status = LIVE_STATES[index % len(LIVE_STATES)]
            reported = now - timedelta(hours=3 + index * 5)
            incident = Incident(
                client_uuid=_uuid(f"live-{county}-{index}"),
                category=category,
                grid=grid,
                status=status,
                description=f"【演示】{category.name}（{grid.name}）",
                location=grid.geometry.point_on_surface,
                reported_at=reported,
                due_at=now + timedelta(days=2 + index % 5),
                handling_office=grid.office if status in (S.DISPATCHED, S.HANDLING, S.HANDLED) else None,
                priority=Incident.Priority.HIGH if index % 6 == 0 else Incident.Priority.NORMAL,
            )
            incidents.append(incident)
            timelines.append(
                (
                    incident,
                    LIVE_STATES[: LIVE_STATES.index(status) + 1],
                    reported,
                    reported + timedelta(hours=2),
                )
            )

    Incident.objects.bulk_create(incidents, batch_size=500)
    IncidentEvent.objects.bulk_create(
        [e for incident, path, start, end in timelines for e in _events(incident, path, start, end)],
        batch_size=1000,
    )
    IncidentOffice.objects.bulk_create(
        [
            IncidentOffice(incident_id=i.pk, gridoffice_id=i.grid.office_id, **IncidentOffice.copied_from(i))
            for i in incidents
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )
    analyze(Incident, IncidentEvent, IncidentOffice)
    return f"{len(incidents)} demo incidents ({DUE} due in {REPORT_COUNTY} for 2017, {CLOSED} closed)"


@system_command("load_anshun --demo: the incidents app's demo records (units first, then incidents).")
def load_demo() -> str:
    """The incidents app's demo loader: departments, staff logins and routes, then incidents."""
    from incidents.demo_units import load_demo_departments

    return f"{load_demo_departments()}\n{load_demo_incidents()}"
