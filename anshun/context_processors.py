"""Template context shared by every page."""

from django.apps import apps
from django.urls import NoReverseMatch, reverse


def navigation(request):
    """The main menu, built from the ``nav_items`` each app's AppConfig declares.

    An item is ``(label, url_name, capability)``; it is shown only to users whose
    role has the capability (``None``: every signed-in user). Apps add their
    pages without touching the base template.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for config in apps.get_app_configs():
        for label, url_name, capability in getattr(config, "nav_items", ()):
            if capability is not None and not user.can(capability):
                continue
            try:
                items.append({"label": label, "url": reverse(url_name)})
            except NoReverseMatch:
                continue
    return {"nav_items": items}
