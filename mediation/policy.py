"""Who may run each write of the mediation and legal-services app, declared once.

Every service in ``mediation.services`` that changes data is ``@POLICY.command(name)``; pages, the
API, the admin and tasks call those services and nothing else. The wrapper checks, in order: the
role's capability (403 before any row is read), the target's visibility (404, the same as a missing
row), the visibility of referred objects (a field error), then any condition (see
``anshun.commands``).

Some fits cannot be said as "visible to the actor" and are checked by the service itself, with
answers that never name a user or tell whether an out-of-sight row exists (each rule's ``why``
says which): the committee a case is filed with, the committee an incident goes to, the mediator
of a case, and the lawyer booked on a roster or assigned to legal aid.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext as _

from anshun.commands import Invalid, Policy, Rule

CASE = "mediation.MediationCase"


def _platform_admin(actor, _target) -> str | None:
    if actor.is_platform_admin:
        return None
    return _("Only an administrator changes who sits on a committee.")


def _case_step(why: str) -> Rule:
    return Rule(capability="mediation.handle", target="case", target_model=CASE, why=why)


POLICY = Policy(
    "mediation",
    {
        "membership_add": Rule(
            capability="mediation.handle",
            target="committee",
            target_model="mediation.MediationCommittee",
            condition=_platform_admin,
            why="Seats decide which cases a mediator sees; only administrators change them.",
        ),
        "case_open": Rule(
            capability="mediation.handle",
            refers=("region", "source_incident"),
            why=(
                "The place of the dispute must be in the actor's jurisdiction. The committee is checked "
                "by the service: a mediator files with a committee they sit on (others: one they may "
                "choose, city-wide professional ones included); the mediator must sit on it."
            ),
        ),
        "incident_refer": Rule(
            capability="mediation.refer",
            target="incident",
            target_model="incidents.Incident",
            why=(
                "The incident must be in sight. The service checks that the committee serves the "
                "incident's place (its village, township or county, or a city-wide professional one)."
            ),
        ),
        "party_add": _case_step("A party joins a case the actor handles."),
        "mediator_assign": _case_step(
            "The service checks the mediator sits on the case's committee; None un-assigns."
        ),
        "mediation_extend": _case_step("Extends the 30-day period of a case the actor handles."),
        "session_record": _case_step("A session of a case the actor handles."),
        "agreement_record": _case_step("The agreement of a case the actor handles."),
        "case_close": _case_step("Ends a case the actor handles without an agreement."),
        "performance_record": _case_step("Performance of the agreement of a case the actor handles."),
        "confirmation_apply": _case_step("Judicial confirmation of a case the actor handles."),
        "confirmation_decide": _case_step("The court's acceptance, on a case the actor handles."),
        "confirmation_extend": _case_step("The court's extension, on a case the actor handles."),
        "ruling_record": _case_step("The court's ruling, on a case the actor handles."),
        "notice_mark_read": Rule(
            capability="mediation.view",
            target="notice_id",
            target_model="mediation.DeadlineNotice",
            why="Only the recipient's own notices are in sight.",
        ),
        "consultation_record": Rule(
            capability="legal.serve",
            refers=("centre",),
            why="The centre must be in the actor's jurisdiction; the actor is the lawyer.",
        ),
        "legal_aid_apply": Rule(
            capability="legal.serve",
            refers=("centre",),
            why="The centre must be in the actor's jurisdiction.",
        ),
        "representation_open": Rule(
            capability="legal.serve",
            refers=("centre", "legal_aid"),
            why=(
                "The centre (and the legal-aid application, when given) must be in the actor's "
                "jurisdiction; the actor is the lawyer."
            ),
        ),
        "representation_conclude": Rule(
            capability="legal.serve",
            target="representation",
            target_model="mediation.LitigationRepresentation",
            why="The representation must be in sight.",
        ),
        "legal_aid_decide": Rule(
            capability="legal.serve",
            target="application",
            target_model="mediation.LegalAidApplication",
            why=(
                "The application must be in sight; the service checks that the assigned lawyer is in "
                "the actor's jurisdiction and serves the centre's area."
            ),
        ),
        "reception_day_add": Rule(
            capability="legal.roster",
            refers=("centre",),
            why="The centre must be in the actor's jurisdiction.",
        ),
        "duty_assign": Rule(
            capability="legal.roster",
            refers=("centre",),
            why=(
                "The centre must be in the actor's jurisdiction; the service checks that the lawyer is "
                "too, and serves the centre's area (no bookings across counties)."
            ),
        ),
    },
)


def resolve(model: type[models.Model], pk, *, field: str, message: str | None = None):
    """The instance an id from a request names, for a command to check.

    A missing id gets the same field error that the command gives an object out of the actor's
    sight (``message``, by default "Not found in your jurisdiction."), so the answer never tells
    whether something exists elsewhere. ``None`` stays ``None``.
    """
    if pk is None or pk == "":
        return None
    try:
        number = int(pk)
    except (TypeError, ValueError):
        number = 0
    instance = model._default_manager.filter(pk=number).first() if 0 < number < 2**31 else None
    if instance is None:
        raise Invalid({field: message or _("Not found in your jurisdiction.")})
    return instance
