from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RollupsConfig(AppConfig):
    name = "rollups"
    verbose_name = _("Dashboard rollups")
    # Listed after every app with demo records: the demo's figures are then rolled up from them.
    demo_loader = "rollups.services.rebuild_after_demo"
