"""The mediation panel on a grid incident's page (the incidents app renders every AppConfig's
``incident_panels``): refer a conflicts-and-disputes incident, or follow its case."""

from __future__ import annotations

from django.urls import reverse

from incidents.models import Duty, Incident
from mediation import selectors


def incident_panel(*, actor, incident: Incident) -> dict | None:
    if incident.category.duty != Duty.CONFLICTS_DISPUTES:
        return None
    case = selectors.referral_of(actor=actor, incident=incident)
    context: dict = {"incident": incident, "case": case}
    if case is not None:
        visible = (
            actor.can("mediation.view")
            and selectors.cases_visible_to(actor=actor).filter(pk=case.pk).exists()
        )
        context["case_url"] = reverse("mediation:case", kwargs={"pk": case.pk}) if visible else ""
        context["timeline"] = selectors.case_timeline(case=case) if visible else []
    elif actor.can("mediation.refer") and incident.status != Incident.Status.CLOSED:
        context["can_refer"] = True
        context["next_url"] = ""
        # The village's, township's and county's own committees, then the professional ones.
        context["committees"] = selectors.committees_for_incident(actor=actor, incident=incident)
    else:
        return None
    return {"template": "mediation/_incident_panel.html", "context": context}
