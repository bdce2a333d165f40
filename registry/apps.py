from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("Basic registry (one standard, three actuals)")
    nav_items = (
        (_("Households"), "registry:houses", "registry.view"),
        (_("Units"), "registry:units", "registry.view"),
        (_("Visit plan"), "registry:plan", "registry.record"),
        (_("Visit coverage"), "registry:coverage", "registry.view"),
        (_("Import registry"), "registry:import", "registry.import"),
        (_("Registry access log"), "registry:reveals", "audit.view"),
    )
    demo_loader = "registry.demo.load_demo_registry"
