from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SpecialGroupsConfig(AppConfig):
    name = "special_groups"
    verbose_name = _("Special populations (six projects)")
    nav_items = (
        (_("Caseload"), "special_groups:caseload", "special_groups.handle"),
        (_("Enrol a person"), "special_groups:enrol", "special_groups.handle"),
        (_("Tasks"), "special_groups:tasks", "special_groups.handle"),
        (_("Six projects"), "special_groups:dashboard", "special_groups.dashboard"),
        (_("Access log"), "special_groups:access-log", "audit.view"),
    )
    dashboard_tiles = "special_groups.selectors.dashboard_tiles"
    demo_loader = "special_groups.demo.load_demo_special_groups"
