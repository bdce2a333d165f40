"""What each record contributes to the tallies: one SQL projection per source.

Each projection yields ledger rows (source, source_id, measure, region_id, dim_a, dim_b, dim_c,
bucket, n, amount) for the records it is given (``{only}``: the queued ids, or every record for a
full rebuild). The figures the pages show are sums of these rows, so a projection must say
exactly what the raw recount says (tests/test_rollups.py compares them).

Measures:

- ``incidents``: one row per live (not deleted) incident in a grid, placed at the grid's village.
  ``dim_b`` is its status while it is not closed, with ``bucket`` = its due time (overdue and
  "due" are read against the clock); a closed one is ``closed_on_time``, ``closed_late`` or
  ``closed_nodue``, which no clock changes.
- ``incidents.reported`` and ``incidents.closed``: the same incident once more by the month
  (``dim_c``, "YYYY-MM" in local time) it was reported in and, once closed, the month it was
  closed in (``dim_b``: ``on_time``, ``late`` or ``nodue``), for the dashboard's monthly chart.
- ``incidents.callback``: per live incident with a 回访 that reached the reporter, its latest such
  callback's answer (``dim_b``: satisfied, basic or dissatisfied): the per-case satisfaction the
  dashboard shows beside the survey's (``incidents.callback_selectors``). A callback queues its
  incident (migration rollups 0005), so a new callback replaces the case's earlier answer.
- ``mediation.case``: one row per case at its place; ``dim_a`` its committee, ``dim_b`` its
  status, ``dim_c`` "confirmed" when a court confirmed its agreement, ``bucket`` the due day of
  its next open legal deadline while it is in mediation or agreed (mediation.deadlines).
- ``mediation.agreement_days``: per agreed case with its agreement, days from intake to signing
  (``amount``), for the average.
- ``safety.camera``: one row per Skynet camera at its village, ``dim_b`` its status.
- ``sg.*`` and ``people.*``: the projects' figures (below); ``sg.visit`` carries its project in
  ``dim_c``, ``people.enrolled`` in ``dim_b``; ``people.released`` and ``people.picked`` carry
  the kind of release (刑释 or 解戒) in ``dim_b``; ``sg.checkin`` is 社区矫正's expected check-ins.
- ``safety.demonstration``: a demonstration site counts +1 from the day it is designated and -1
  from the day after its validity ends (``bucket``); the sum over days up to today is the number
  of sites current today.
"""

from __future__ import annotations

from django.conf import settings

# A day as the timestamp compared with the day read (both at midnight UTC).
_DAY = "(({d})::timestamp AT TIME ZONE 'UTC')"

INCIDENTS = """
SELECT 'incident', i.id, 'incidents', g.village_id, 0::bigint,
       CASE WHEN i.status <> 'closed' THEN i.status
            WHEN i.due_at IS NULL THEN 'closed_nodue'
            WHEN i.closed_at <= i.due_at THEN 'closed_on_time'
            ELSE 'closed_late' END,
       '', CASE WHEN i.status <> 'closed' THEN i.due_at END, 1, 0, NULL::varchar, NULL::timestamptz
FROM incidents_incident i JOIN grids_grid g ON g.id = i.grid_id
WHERE i.deleted_at IS NULL {only}
UNION ALL
SELECT 'incident', i.id, 'incidents.reported', g.village_id, 0::bigint, '',
       to_char(i.reported_at AT TIME ZONE '{tz}', 'YYYY-MM'), NULL::timestamptz, 1, 0, NULL::varchar,
       NULL::timestamptz
FROM incidents_incident i JOIN grids_grid g ON g.id = i.grid_id
WHERE i.deleted_at IS NULL {only}
UNION ALL
SELECT 'incident', i.id, 'incidents.closed', g.village_id, 0::bigint,
       CASE WHEN i.due_at IS NULL THEN 'nodue' WHEN i.closed_at <= i.due_at THEN 'on_time' ELSE 'late' END,
       to_char(i.closed_at AT TIME ZONE '{tz}', 'YYYY-MM'), NULL::timestamptz, 1, 0, NULL::varchar,
       NULL::timestamptz
FROM incidents_incident i JOIN grids_grid g ON g.id = i.grid_id
WHERE i.deleted_at IS NULL AND i.status = 'closed' AND i.closed_at IS NOT NULL {only}
UNION ALL
(SELECT DISTINCT ON (c.incident_id) 'incident', i.id, 'incidents.callback', g.village_id, 0::bigint,
       c.satisfaction, '', NULL::timestamptz, 1, 0, NULL::varchar, NULL::timestamptz
FROM incidents_incidentcallback c JOIN incidents_incident i ON i.id = c.incident_id
JOIN grids_grid g ON g.id = i.grid_id
WHERE i.deleted_at IS NULL AND c.reached {only}
ORDER BY c.incident_id, c.at DESC, c.id DESC)
""".replace("{tz}", settings.TIME_ZONE)

# The next open deadline's due day, as mediation.deadlines.next_open_deadline computes it.
_NEXT_DUE = """
CASE
    WHEN c.status = 'in_mediation' OR c.closed_on IS NULL
        THEN c.intake_date + 30 + c.extension_days
    WHEN c.status <> 'agreement' OR a.id IS NULL THEN NULL
    WHEN j.id IS NULL OR j.applied_on IS NULL THEN a.effective_on + 30
    WHEN j.decision = 'pending' OR j.decided_on IS NULL THEN j.applied_on + 3
    WHEN j.decision = 'accepted' AND j.ruled_on IS NULL
        THEN j.decided_on + 15 + CASE WHEN j.ruling_extended THEN 10 ELSE 0 END
END
"""

MEDIATION_CASES = f"""
SELECT 'mediation_case', c.id, 'mediation.case', c.region_id, c.committee_id, c.status,
       CASE WHEN j.outcome = 'confirmed' THEN 'confirmed' ELSE '' END,
       CASE WHEN c.status IN ('in_mediation', 'agreement') THEN {_DAY.format(d=_NEXT_DUE)} END, 1, 0,
       NULL::varchar, NULL::timestamptz
FROM mediation_mediationcase c
LEFT JOIN mediation_mediationagreement a ON a.case_id = c.id
LEFT JOIN mediation_judicialconfirmation j ON j.agreement_id = a.id
WHERE TRUE {{only}}
UNION ALL
SELECT 'mediation_case', c.id, 'mediation.agreement_days', c.region_id, c.committee_id, '', '', NULL, 1,
       a.signed_on - c.intake_date, NULL::varchar, NULL::timestamptz
FROM mediation_mediationcase c JOIN mediation_mediationagreement a ON a.case_id = c.id
WHERE c.status = 'agreement' {{only}}
"""  # noqa: S608 - only module constants are interpolated

CAMERAS = """
SELECT 'camera', c.id, 'safety.camera', c.village_id, 0::bigint, c.status, '', NULL::timestamptz, 1, 0,
       NULL::varchar, NULL::timestamptz
FROM safety_cells_camera c WHERE TRUE {only}
"""

SAFETY_CELLS = f"""
SELECT 'safety_cell', s.id, 'safety.demonstration', s.region_id, 0::bigint, '', '', {_DAY.format(d="s.designated_on")}, 1, 0, NULL::varchar, NULL::timestamptz
FROM safety_cells_safetycell s
WHERE s.is_demonstration_site AND s.designated_on IS NOT NULL {{only}}
UNION ALL
SELECT 'safety_cell', s.id, 'safety.demonstration', s.region_id, 0::bigint, '', '', {_DAY.format(d="greatest(s.valid_until + 1, s.designated_on)")}, -1, 0, NULL::varchar, NULL::timestamptz
FROM safety_cells_safetycell s
WHERE s.is_demonstration_site AND s.designated_on IS NOT NULL AND s.valid_until IS NOT NULL {{only}}
"""  # noqa: E501, S608 - only module constants are interpolated

# --- the six projects ---------------------------------------------------------------------
# People are counted once each, by the keyed hash of their ID number (special_groups.selectors
# ``_people``): their entries carry it in ``who`` with the time they count in, [bucket, until).
# Counts "in a period" are kept per period (``dim_c``: "all", the year, the year and month):
# a person counts in a period from their first date in it, so reading "up to day D" is the sum
# of the marks up to D.

_PERSON = "JOIN special_groups_person p ON p.id = en.person_id"
_PERIODS = (
    """CROSS JOIN LATERAL (VALUES ('all'), (to_char({d}, 'YYYY')), (to_char({d}, 'YYYY-MM'))) per(period)"""
)


def _released(measure: str, condition: str) -> str:
    return f"""
SELECT 'enrollment', en.id, '{measure}', p.region_id, 0::bigint, en.release_kind, per.period,
       {_DAY.format(d="en.release_date")}, 1, 0, p.id_number_hash, NULL::timestamptz
FROM special_groups_enrollment en {_PERSON} {_PERIODS.format(d="en.release_date")}
WHERE en.project = 'huigui' AND en.release_date IS NOT NULL {condition} {{only}}"""  # noqa: S608


def _in_place(measure: str, condition: str, *, until: str = "NULL::timestamptz", dim_b: str = "''") -> str:
    return f"""
SELECT 'enrollment', en.id, '{measure}', p.region_id, 0::bigint, {dim_b}, 'all',
       {_DAY.format(d="en.enrolled_on")}, 1, 0, p.id_number_hash, {until}
FROM special_groups_enrollment en {_PERSON}
LEFT JOIN special_groups_servicefacility f ON f.id = en.facility_id
WHERE {condition} {{only}}"""  # noqa: S608


_PATIENT = "en.project = 'anning' AND (en.closed_on IS NULL OR en.closed_on > en.enrolled_on)"
_GUARDED = "EXISTS (SELECT 1 FROM special_groups_guardian g WHERE g.enrollment_id = en.id)"

# Every enrolment by the day it began (the project dashboard opens on the latest year with one).
_ENROLLED = f"""
SELECT 'enrollment', en.id, 'sg.enrolled', p.region_id, 0::bigint, '', '', {_DAY.format(d="en.enrolled_on")},
       1, 0, NULL::varchar, NULL::timestamptz
FROM special_groups_enrollment en {_PERSON}
WHERE TRUE {{only}}"""  # noqa: S608

ENROLLMENTS = " UNION ALL ".join(
    (
        _ENROLLED,
        _released("people.released", ""),
        _released("people.picked", "AND en.pickup_outcome = 'picked_up'"),
        # in place at the end of a period: enrolled by then and not closed by then
        _in_place("people.patients", _PATIENT, until=_DAY.format(d="en.closed_on")),
        _in_place("people.guarded", f"{_PATIENT} AND {_GUARDED}", until=_DAY.format(d="en.closed_on")),
        _in_place("people.students", "en.project = 'yuxin' AND f.kind = 'special_school'"),
        # Every project's people in its caseload at the end of a period (``dim_b``: the project).
        _in_place(
            "people.enrolled",
            "(en.closed_on IS NULL OR en.closed_on > en.enrolled_on)",
            until=_DAY.format(d="en.closed_on"),
            dim_b="en.project",
        ),
    )
)

_TASK_PLACE = (
    f"FROM special_groups_casetask t JOIN special_groups_enrollment en ON en.id = t.enrollment_id {_PERSON}"
)

CASE_TASKS = f"""
SELECT 'case_task', t.id, 'sg.visit', p.region_id, 0::bigint,
       CASE WHEN t.done_on <= t.due_on THEN 'on_time' ELSE 'late' END, en.project,
       {_DAY.format(d="t.due_on")}, 1, 0,
       NULL::varchar, NULL::timestamptz
{_TASK_PLACE}
WHERE t.kind = 'visit' {{only}}
UNION ALL
SELECT 'case_task', t.id, 'sg.checkin', p.region_id, 0::bigint,
       CASE WHEN t.done_on <= t.due_on THEN 'on_time' ELSE 'late' END, en.project,
       {_DAY.format(d="t.due_on")}, 1, 0, NULL::varchar, NULL::timestamptz
{_TASK_PLACE}
WHERE t.kind = 'check_in' {{only}}
UNION ALL
SELECT 'case_task', t.id, 'sg.overdue_task', p.region_id, 0::bigint, en.project, '', NULL, 1, 0,
       NULL::varchar, NULL::timestamptz
{_TASK_PLACE}
WHERE t.done_on IS NULL AND t.overdue_since IS NOT NULL {{only}}
"""  # noqa: S608 - only module constants are interpolated

_PAYMENT_PLACE = (
    "FROM special_groups_subsidypayment sp"
    f" JOIN special_groups_enrollment en ON en.id = sp.enrollment_id {_PERSON}"
)

SUBSIDY_PAYMENTS = f"""
SELECT 'subsidy_payment', sp.id, 'sg.subsidy', p.region_id, 0::bigint, '', '', {_DAY.format(d="sp.paid_on")},
       1, sp.amount, NULL::varchar, NULL::timestamptz
{_PAYMENT_PLACE}
WHERE TRUE {{only}}
UNION ALL
SELECT 'subsidy_payment', sp.id, 'people.payees', p.region_id, 0::bigint, '', per.period,
       {_DAY.format(d="sp.paid_on")}, 1, 0, p.id_number_hash, NULL
{_PAYMENT_PLACE} {_PERIODS.format(d="sp.paid_on")}
WHERE TRUE {{only}}
"""  # noqa: S608 - only module constants are interpolated

# source name -> (projection, the alias whose id is the source id)
SOURCES: dict[str, tuple[str, str]] = {
    "incident": (INCIDENTS, "i"),
    "mediation_case": (MEDIATION_CASES, "c"),
    "camera": (CAMERAS, "c"),
    "safety_cell": (SAFETY_CELLS, "s"),
    "enrollment": (ENROLLMENTS, "en"),
    "case_task": (CASE_TASKS, "t"),
    "subsidy_payment": (SUBSIDY_PAYMENTS, "sp"),
}


def projection(source: str, *, incremental: bool) -> str:
    sql, alias = SOURCES[source]
    # ``source`` is a key of SOURCES, never input.
    taken = f"SELECT source_id FROM rollup_taken WHERE source = '{source}'"  # noqa: S608
    only = f"AND {alias}.id IN ({taken})" if incremental else ""
    return sql.format(only=only)
