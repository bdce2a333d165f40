from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Public surveys and dashboards")
    nav_items = (
        (_("Dashboard"), "surveys:dashboard", "dashboard.view"),
        (_("Upload survey responses"), "surveys:upload", "surveys.import"),
    )
    dashboard_tiles = "surveys.selectors.survey_tiles"
    demo_loader = "surveys.demo.load_demo_surveys"
