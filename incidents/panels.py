"""Panels that other apps add to the incident detail page.

An app declares ``incident_panels = "app.module.function"`` on its AppConfig. The
function is called as ``function(*, actor, incident)`` for every incident page and
returns ``None`` (nothing to show for this incident or this actor) or
``{"template": "app/some_panel.html", "context": {...}}``; the template is included
below the timeline with that context plus ``incident`` and ``user``. The function must
scope its own reads to ``actor`` and must not write. This is how the mediation
referral and the nearby cameras appear on an incident without this app knowing them.
"""

from __future__ import annotations

from django.apps import apps
from django.template.loader import render_to_string
from django.utils.module_loading import import_string


def collect_panels(*, actor, incident) -> list[dict]:
    panels = []
    for config in apps.get_app_configs():
        provider = getattr(config, "incident_panels", None)
        if not provider:
            continue
        panel = import_string(provider)(actor=actor, incident=incident)
        if panel:
            panels.append({"template": panel["template"], "context": panel.get("context", {})})
    return panels


def render_panels(*, request, incident) -> list[str]:
    """Each panel's HTML, rendered with its own context plus ``incident`` and ``user``."""
    return [
        render_to_string(
            panel["template"],
            {**panel["context"], "incident": incident, "user": request.user},
            request=request,
        )
        for panel in collect_panels(actor=request.user, incident=incident)
    ]
