from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = _("Search")
    # Listed after every app with demo records: their documents are written once they are in.
    demo_loader = "search.services.index_after_demo"
