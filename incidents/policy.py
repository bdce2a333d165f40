"""Who may do what with incidents: the incidents app's one table of write permissions.

Every write service in ``incidents.services`` is wrapped with ``@POLICY.command(name)``, so a
page, an API action, the admin, a bulk batch and the phone's outbox reach a write only through
the rule below (see ``anshun.commands`` for the order of the checks and the refusals).

The workflow's own facts (which status each step starts from and ends in, whether it needs a
reason) stay in ``incidents.services.workflow.TRANSITIONS``; who may take each step is here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.utils.translation import gettext as _

from anshun.commands import Policy, Rule

INCIDENT = "incidents.Incident"


def _incident(target: Any):
    """The incident a rule's condition judges: the instance given (buttons), or the row by id.

    Transition services run the policy inside their transaction, so there the row is read
    under its lock: the handling unit cannot change between this check and the write.
    """
    from incidents.models import Incident

    if isinstance(target, Incident):
        return target
    rows = Incident.objects.filter(pk=target)
    if transaction.get_connection().in_atomic_block:
        rows = rows.select_for_update(of=("self",))
    return rows.only("pk", "handling_office_id", "handling_department_id", "handler_id").first()


def handling_unit_only(actor, target) -> str | None:
    """Taking, handling and returning are the 主办 unit's work, a grid office's or a
    department's (admins may stand in)."""
    incident = _incident(target)
    if incident is None or actor.is_platform_admin:
        return None
    if actor.grid_office_id is not None and actor.grid_office_id == incident.handling_office_id:
        return None
    department_id = getattr(actor, "department_id", None)
    if department_id is not None and department_id == incident.handling_department_id:
        return None
    return _("Only the handling unit can do this.")


def own_share_only(actor, target) -> str | None:
    """A 协办 unit records its own part: its staff (admins may stand in)."""
    from incidents.models import IncidentAssignment

    if actor.is_platform_admin:
        return None
    pk = target.pk if isinstance(target, IncidentAssignment) else target
    share = IncidentAssignment.objects.filter(pk=pk).only("office_id", "department_id").first()
    if share is None:
        return None
    if share.office_id is not None and share.office_id == actor.grid_office_id:
        return None
    department_id = getattr(actor, "department_id", None)
    if share.department_id is not None and share.department_id == department_id:
        return None
    return _("Only the assisting unit records its part.")


def not_the_handler(actor, target) -> str | None:
    """Verification is a second pair of eyes: whoever handled it cannot pass or fail it."""
    incident = _incident(target)
    if incident is not None and incident.handler_id is not None and incident.handler_id == actor.pk:
        return _("The handler cannot verify their own work.")
    return None


def still_a_case(actor, target) -> str | None:
    """Only a live case can be merged away: not deleted, closed, declined or voided. An incident
    already merged passes here, so a retry of the same merge gets its first answer; merging it
    into another case is the service's ``Conflict``. Read without a lock: the service locks both
    incidents in id order (a lock taken here first could deadlock) and checks again."""
    from incidents.models import Incident

    pk = target.pk if isinstance(target, Incident) else target
    row = Incident.objects.filter(pk=pk).values("status", "deleted_at").first()
    if row is None:
        return None
    S = Incident.Status
    if row["deleted_at"] is not None or row["status"] in (S.CLOSED, S.REJECTED, S.VOIDED):
        return _("Only an incident that is still a case can be merged.")
    return None


def _step(capability: str, *, why: str, refers: tuple[str, ...] = (), condition=None) -> Rule:
    return Rule(
        capability=capability,
        target="incident_id",
        target_model=INCIDENT,
        refers=refers,
        condition=condition,
        why=why,
    )


POLICY = Policy(
    "incidents",
    {
        "report": Rule(
            capability="incident.report",
            refers=("grid",),
            why=(
                "Anyone who reports, in their own jurisdiction: a chosen grid is a referred object; "
                "the grid found from a point is checked by the same refers test in place_for."
            ),
        ),
        "update": Rule(
            capability="incident.report",
            target="incident_id",
            target_model=INCIDENT,
            refers=("grid",),
            why="Reporters and the command centre (who also report) correct what was reported.",
        ),
        "delete": Rule(
            capability="incident.delete",
            target="incident_id",
            target_model=INCIDENT,
            why="Only administrators remove an incident (a tombstone that sync clients learn of).",
        ),
        "register": _step("incident.dispatch", why="The command centre registers what comes in."),
        "dispatch": _step(
            "incident.dispatch",
            refers=("handling_office", "handling_department", "assist_offices", "assist_departments"),
            why=(
                "The command centre sends it to units it can see: grid offices and departments at "
                "its level or below (the service checks a department's jurisdiction covers the place)."
            ),
        ),
        "reject": _step("incident.dispatch", why="The command centre declines a report (不予立案)."),
        "void": _step("incident.dispatch", why="The command centre voids a registered case (作废)."),
        "correct": _step(
            "incident.dispatch",
            why="The dispatcher corrects the category and priority, with a reason on the timeline.",
        ),
        "record_part": Rule(
            capability="incident.handle",
            target="assignment_id",
            target_model="incidents.IncidentAssignment",
            condition=own_share_only,
            why="A 协办 unit records what it did; only its own share.",
        ),
        "department_create": Rule(
            capability="incident.dispatch",
            refers=("region",),
            why="The centre records the functional departments of its jurisdiction (at its level or below).",
        ),
        "department_update": Rule(
            capability="incident.dispatch",
            target="department",
            target_model="incidents.Department",
            refers=("region",),
            why="The centre renames, moves inside its jurisdiction or deactivates a department it sees.",
        ),
        "route_set": Rule(
            capability="incident.dispatch",
            refers=("region", "office", "department"),
            why=(
                "Centre staff keep the routing table for places in their jurisdiction, pointing at "
                "units they can see (a create-or-replace keyed by category and place)."
            ),
        ),
        "route_delete": Rule(
            capability="incident.dispatch",
            target="route",
            target_model="incidents.RoutingRule",
            why="Centre staff remove a route for a place in their jurisdiction.",
        ),
        "take": _step("incident.handle", condition=handling_unit_only, why="The handling unit takes it."),
        "report_handled": _step(
            "incident.handle", condition=handling_unit_only, why="The handling unit reports it handled."
        ),
        "return": _step(
            "incident.handle",
            condition=handling_unit_only,
            why="The handling unit sends back what is not its work.",
        ),
        "verify": _step("incident.verify", condition=not_the_handler, why="Someone other than the handler."),
        "reopen": _step("incident.verify", condition=not_the_handler, why="Someone other than the handler."),
        "close": _step("incident.close", why="The command centre closes verified incidents."),
        "set_public_note": _step(
            "incident.dispatch",
            why=(
                "The command centre speaks to the public: the Open311 status_notes of a request "
                "in its jurisdiction."
            ),
        ),
        "record_callback": _step(
            "incident.close",
            why=(
                "The command centre that closes cases calls the reporter back (回访) and may "
                "reopen a case the reporter is dissatisfied with."
            ),
        ),
        "request_extension": _step(
            "incident.handle",
            condition=handling_unit_only,
            why="延期: the handling unit asks the centre for a later handling deadline, with its reason.",
        ),
        "decide_extension": Rule(
            capability="incident.dispatch",
            target="extension_id",
            target_model="incidents.ExtensionRequest",
            why="The command centre of the incident's jurisdiction approves or refuses a 延期 request.",
        ),
        "backlog_place": _step(
            "incident.dispatch",
            why="挂账: the command centre puts a case that cannot close in its period on the backlog.",
        ),
        "backlog_lift": _step(
            "incident.dispatch",
            why="The command centre takes a case off the backlog, back to handling with a new deadline.",
        ),
        "backlog_review": _step(
            "incident.dispatch",
            why="The command centre records a periodic review of a case on the backlog and its next date.",
        ),
        "calendar_day_set": Rule(
            capability="incident.calendar",
            why=(
                "Administrators keep the working calendar (holidays, 调休 days): city-wide, keyed by "
                "date, no jurisdiction to target."
            ),
        ),
        "calendar_day_delete": Rule(
            capability="incident.calendar",
            why="Administrators remove a local calendar day (keyed by date; city-wide).",
        ),
        "merge": Rule(
            capability="incident.dispatch",
            target="incident_id",
            target_model=INCIDENT,
            refers=("into",),
            condition=still_a_case,
            why=(
                "并案: the command centre merges a duplicate report into a case it also sees; "
                "the service checks the pair under lock (same township, neither finished, "
                "not the same incident)."
            ),
        ),
        "mark_notifications_read": Rule(
            capability="incident.view",
            why="Notifications are about incidents; the service touches only the actor's own.",
        ),
    },
)


def _objects(value) -> Iterable[models.Model]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list | tuple | set | frozenset) else [value]


def refers_problems(name: str, *, actor, items: list[dict]) -> list[dict[str, list[str]]]:
    """Check 3 of ``Policy.authorize`` (referred objects visible) for many argument sets at once.

    The same test and the same answer as for one command, in one ``visible_to`` query per
    model instead of one per item, so a bulk batch costs what one item costs. Returns each
    item's field errors (empty when everything it refers to is in the actor's sight).
    ``POLICY.authorize`` itself still decides the capability and condition for the batch.
    """
    rule = POLICY.rule(name)
    wanted: dict[type[models.Model], set] = {}
    for item in items:
        for field in item:
            if field not in rule.refers:
                raise ImproperlyConfigured(f"{field} is not referred to by the {name!r} rule.")
            for obj in _objects(item[field]):
                if not isinstance(obj, models.Model):
                    raise ImproperlyConfigured(f"{field} must be passed as a model instance.")
                if getattr(type(obj), "scope_rule", None) is not None:
                    wanted.setdefault(type(obj), set()).add(obj.pk)
    visible = {
        model: set(model.objects.visible_to(actor).filter(pk__in=pks).values_list("pk", flat=True))
        for model, pks in wanted.items()
    }
    problems = []
    for item in items:
        errors = {}
        for field, value in item.items():
            hidden = [
                obj for obj in _objects(value) if type(obj) in visible and obj.pk not in visible[type(obj)]
            ]
            if hidden:
                errors[field] = [_("Not found in your jurisdiction.")]
        problems.append(errors)
    return problems
