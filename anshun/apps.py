from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnshunConfig(AppConfig):
    """The project package as an app: it owns the task outbox (anshun.background)."""

    name = "anshun"
    label = "anshun"
    verbose_name = _("Platform")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from anshun import checks  # noqa: F401 - registers the checks
