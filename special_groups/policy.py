"""Who may write what in the six projects: the one table every door goes through.

Every write service in ``special_groups.services`` is a command of this policy, so the caseload
page, the person-record page, the REST API, exports and any future door get the same answer:

- the capability comes from the role table (``accounts.roles``): ``special_groups.handle`` for
  the case officers' work, ``special_groups.export`` for their caseload export, ``audit.view``
  for the auditors' export of the access trail;
- an enrolment acted on must be visible to the actor (its project's case officers inside their
  jurisdiction), otherwise the answer is 404, the same as for an id that does not exist;
- a place or facility referred to must be visible too, otherwise a field error;
- the condition "a case officer of this project" is checked here, once, for every command that
  touches a person's record (``officer_of_project``).

Reading a record (masked), revealing it with a purpose and exporting are writes too: each
appends to the access trail, so each is a command with its own rule.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.roles import Role
from anshun.commands import Policy, Rule
from special_groups.projects import project as project_entry

ENROLLMENT = "special_groups.Enrollment"


def officer_of_project(actor, target) -> str | None:
    """A case officer of the project the target enrolment belongs to (or, for a new
    enrolment, a case officer with a project: they enrol into their own project only)."""
    project = getattr(target, "project", None)
    if actor.role != Role.CASE_OFFICER or not actor.special_project:
        return _("Only case officers of this project may do this.")
    if project is not None and project != actor.special_project:
        return _("Only case officers of this project may do this.")
    return None


def officer_may_export(actor, target) -> str | None:
    """Case officers export their own masked caseload, except a project declared not exportable
    (红丝带, HIV: it never leaves the platform, not even masked)."""
    refused = officer_of_project(actor, target)
    if refused:
        return refused
    entry = project_entry(actor.special_project)
    if entry is None or not entry.exportable:
        return _("This project's caseload cannot be exported.")
    return None


def _on_enrollment(capability: str, why: str) -> Rule:
    return Rule(
        capability=capability,
        target="enrollment",
        target_model=ENROLLMENT,
        condition=officer_of_project,
        why=why,
    )


HANDLE = "special_groups.handle"

POLICY = Policy(
    "special_groups",
    {
        "person_enroll": Rule(
            capability=HANDLE,
            refers=("region", "facility", "registry_person"),
            condition=officer_of_project,
            why="A case officer enrols someone into their own project, at a place in their "
            "jurisdiction, from the data they supply themselves; nothing another project holds "
            "is linked or looked up (the facility's own scope keeps it to the officer's project). "
            "The basic registry's resident it may be linked to must be in the officer's "
            "jurisdiction and carry the same ID number.",
        ),
        "guardian_assign": _on_enrollment(HANDLE, "The officer names the guardian of their own case."),
        "visit_record": _on_enrollment(HANDLE, "The officer logs a visit on their own case."),
        "pickup_record": _on_enrollment(HANDLE, "The officer records the pick-up of their own case."),
        "checkin_record": _on_enrollment(HANDLE, "The officer records a check-in (报到) of their own case."),
        "subsidy_pay": _on_enrollment(HANDLE, "The officer records a subsidy paid on their own case."),
        "enrollment_close": _on_enrollment(HANDLE, "The officer closes their own case."),
        "enrollment_view": _on_enrollment(
            HANDLE, "Opening a record (masked) is logged to the access trail by the officer of the case."
        ),
        "enrollment_reveal": _on_enrollment(
            HANDLE, "Full personal data is shown once, with a stated purpose, to the officer of the case."
        ),
        "caseload_export": Rule(
            capability="special_groups.export",
            condition=officer_may_export,
            why="An officer exports their own masked caseload; the export is logged first.",
        ),
        "tasks_export": Rule(
            capability=HANDLE,
            condition=officer_of_project,
            why="An officer exports their own task list (masked names); logged first.",
        ),
        "access_log_export": Rule(
            capability="audit.view",
            why="Auditors export the access trail of their jurisdiction; the export is itself logged.",
        ),
    },
)
