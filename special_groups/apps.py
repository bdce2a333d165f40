from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SpecialGroupsConfig(AppConfig):
    name = "special_groups"
    verbose_name = _("Special populations (six projects)")
