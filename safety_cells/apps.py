from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SafetyCellsConfig(AppConfig):
    name = "safety_cells"
    verbose_name = _("Safe cells and prevention")
