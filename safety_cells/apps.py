from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SafetyCellsConfig(AppConfig):
    name = "safety_cells"
    verbose_name = _("Safe cells and prevention")
    nav_items = (
        (_("Safe cells"), "safety_cells:registry", "safety.view"),
        (_("Log a patrol"), "safety_cells:patrol-new", "patrol.log"),
        (_("Prevention coverage"), "safety_cells:coverage", "safety.view"),
        (_("1+4 prevention units"), "safety_cells:units", "safety.view"),
        (_("Skynet cameras"), "safety_cells:cameras", "safety.view"),
    )
    dashboard_tiles = "safety_cells.selectors.dashboard_tiles"
    demo_loader = "safety_cells.demo.load_demo"
    # Shown on the incident page by the incidents app: Skynet cameras near the incident.
    incident_panels = "safety_cells.selectors.incident_camera_panel"
