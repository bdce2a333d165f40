from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and roles")
    nav_items = ((_("Account security"), "account", "account.two_factor"),)
    demo_loader = "accounts.demo.ensure_demo_service_accounts"

    def ready(self) -> None:
        """Give the anonymous user the same small interface as ``User`` (a null object):
        it can do nothing and has no jurisdiction, so selectors and permission checks
        need no special case for it (schema generation and anonymous requests call them)."""
        from django.contrib.auth.models import AnonymousUser
        from django.contrib.auth.signals import user_logged_in

        from anshun.middleware import start_idle_clock

        user_logged_in.connect(start_idle_clock, dispatch_uid="anshun-idle-clock")

        AnonymousUser.can = lambda self, capability: False
        AnonymousUser.is_platform_admin = False
        AnonymousUser.role = ""
        AnonymousUser.region = None
        AnonymousUser.region_id = None
        AnonymousUser.grid_office = None
        AnonymousUser.grid_office_id = None
        AnonymousUser.special_project = ""
