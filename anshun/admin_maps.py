"""Map widgets in the Django admin under the project's Content-Security-Policy.

django-leaflet's admin widget writes a small inline ``<script>`` (the map's set-up) and an inline
``<style>`` (its size), each carrying the request's CSP nonce when it has one. The site's policy
allows no inline code at all, so those widgets stayed blank. ``MapAdmin`` adds the per-response
nonce to ``script-src`` and ``style-src`` on the admin's add/change form only: django-csp writes
``'nonce-…'`` into the header only when the page actually used the nonce (a form with a map
widget), and strips it otherwise, so every other page keeps the strict policy. The widget's
scripts, styles and images are all served from the site's own static files.
"""

from __future__ import annotations

from csp.constants import NONCE
from leaflet.admin import LeafletGeoAdmin
from leaflet.forms.widgets import LeafletWidget

MAP_WIDGET_CSP = {"script-src": [NONCE], "style-src": [NONCE]}


class MapAdmin(LeafletGeoAdmin):
    """``LeafletGeoAdmin`` whose add/change form may run its map widget's nonce-bearing code."""

    def formfield_for_dbfield(self, db_field, request=None, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        nonce = getattr(request, "csp_nonce", None)
        if field is not None and isinstance(field.widget, LeafletWidget) and nonce is not None:
            field.widget.csp_nonce = str(nonce)
        return field

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        response = super().changeform_view(request, object_id, form_url, extra_context)
        response._csp_update = MAP_WIDGET_CSP
        return response
