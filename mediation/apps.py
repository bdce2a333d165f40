from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediationConfig(AppConfig):
    name = "mediation"
    verbose_name = _("Mediation and legal services")
    nav_items = (
        (_("Mediation"), "mediation:caseload", "mediation.view"),
        (_("Committees"), "mediation:dashboard", "mediation.view"),
        (_("Legal services"), "mediation:legal", "legal.serve"),
        (_("Lawyer roster"), "mediation:roster", "legal.serve"),
    )
    demo_loader = "mediation.demo.load_demo"
    dashboard_tiles = "mediation.tiles.mediation_tiles"
    incident_panels = "mediation.panels.incident_panel"
