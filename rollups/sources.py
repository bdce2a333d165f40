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
- ``mediation.case``: one row per case at its place; ``dim_a`` its committee, ``dim_b`` its
  status, ``dim_c`` "confirmed" when a court confirmed its agreement, ``bucket`` the due day of
  its next open legal deadline while it is in mediation or agreed (mediation.deadlines).
- ``mediation.agreement_days``: per agreed case with its agreement, days from intake to signing
  (``amount``), for the average.
- ``safety.camera``: one row per Skynet camera at its village, ``dim_b`` its status.
- ``safety.demonstration``: a demonstration site counts +1 from the day it is designated and -1
  from the day after its validity ends (``bucket``); the sum over days up to today is the number
  of sites current today.
"""

from __future__ import annotations

# A day as the timestamp compared with the day read (both at midnight UTC).
_DAY = "(({d})::timestamp AT TIME ZONE 'UTC')"

INCIDENTS = """
SELECT 'incident', i.id, 'incidents', g.village_id, 0::bigint,
       CASE WHEN i.status <> 'closed' THEN i.status
            WHEN i.due_at IS NULL THEN 'closed_nodue'
            WHEN i.closed_at <= i.due_at THEN 'closed_on_time'
            ELSE 'closed_late' END,
       '', CASE WHEN i.status <> 'closed' THEN i.due_at END, 1, 0
FROM incidents_incident i JOIN grids_grid g ON g.id = i.grid_id
WHERE i.deleted_at IS NULL {only}
"""

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
       CASE WHEN c.status IN ('in_mediation', 'agreement') THEN {_DAY.format(d=_NEXT_DUE)} END, 1, 0
FROM mediation_mediationcase c
LEFT JOIN mediation_mediationagreement a ON a.case_id = c.id
LEFT JOIN mediation_judicialconfirmation j ON j.agreement_id = a.id
WHERE TRUE {{only}}
UNION ALL
SELECT 'mediation_case', c.id, 'mediation.agreement_days', c.region_id, c.committee_id, '', '', NULL, 1,
       a.signed_on - c.intake_date
FROM mediation_mediationcase c JOIN mediation_mediationagreement a ON a.case_id = c.id
WHERE c.status = 'agreement' {{only}}
"""  # noqa: S608 - only module constants are interpolated

CAMERAS = """
SELECT 'camera', c.id, 'safety.camera', c.village_id, 0::bigint, c.status, '', NULL::timestamptz, 1, 0
FROM safety_cells_camera c WHERE TRUE {only}
"""

SAFETY_CELLS = f"""
SELECT 'safety_cell', s.id, 'safety.demonstration', s.region_id, 0::bigint, '', '', {_DAY.format(d="s.designated_on")}, 1, 0
FROM safety_cells_safetycell s
WHERE s.is_demonstration_site AND s.designated_on IS NOT NULL {{only}}
UNION ALL
SELECT 'safety_cell', s.id, 'safety.demonstration', s.region_id, 0::bigint, '', '', {_DAY.format(d="greatest(s.valid_until + 1, s.designated_on)")}, -1, 0
FROM safety_cells_safetycell s
WHERE s.is_demonstration_site AND s.designated_on IS NOT NULL AND s.valid_until IS NOT NULL {{only}}
"""  # noqa: E501, S608 - only module constants are interpolated

# source name -> (projection, the alias whose id is the source id)
SOURCES: dict[str, tuple[str, str]] = {
    "incident": (INCIDENTS, "i"),
    "mediation_case": (MEDIATION_CASES, "c"),
    "camera": (CAMERAS, "c"),
    "safety_cell": (SAFETY_CELLS, "s"),
}


def projection(source: str, *, incremental: bool) -> str:
    sql, alias = SOURCES[source]
    # ``source`` is a key of SOURCES, never input.
    taken = f"SELECT source_id FROM rollup_taken WHERE source = '{source}'"  # noqa: S608
    only = f"AND {alias}.id IN ({taken})" if incremental else ""
    return sql.format(only=only)
