from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    name = "assessment"
    verbose_name = _("Assessment")
    nav_items = ((_("Assessment ranking"), "assessment:ranking", "dashboard.view"),)
    demo_loader = "assessment.demo.load_demo_assessment"
