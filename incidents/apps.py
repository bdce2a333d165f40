from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Grid incidents")
    nav_items = (
        (_("Report"), "incidents:report", "incident.report"),
        (_("Incidents"), "incidents:list", None),
        (_("Dispatch queue"), "incidents:queue", "incident.dispatch"),
        (_("My unit's work"), "incidents:inbox", "incident.handle"),
        (_("Routing table"), "incidents:routes", "incident.dispatch"),
        (_("Notifications"), "incidents:notifications", None),
        (_("Extension requests"), "incidents:extensions", "incident.dispatch"),
        (_("Long-term backlog"), "incidents:backlog", "incident.view"),
    )
    dashboard_tiles = "incidents.callback_selectors.incident_tiles"
    demo_loader = "incidents.demo.load_demo"
    incident_panels = "incidents.time_selectors.time_panel"
