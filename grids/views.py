"""Pages of the grids app: the drill-down map of regions, grid offices and grids."""

from django.conf import settings
from django.views.generic import TemplateView

from anshun.views import ScopedPageMixin
from grids import selectors


class GridMapView(ScopedPageMixin, TemplateView):
    """City → county → township → community → grid office, on one map.

    The page gets the regions of the viewer's top level; the map fetches the
    rest from the scoped API as the user drills down.
    """

    template_name = "grids/map.html"
    capability = "map.view"
    selector = staticmethod(selectors.regions_visible_to)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        regions = self.get_queryset()
        top = regions.order_by("path").first()
        grid_office = self.request.user.grid_office
        context["map_config"] = {
            "startRegion": top.code if top else None,
            "startRegionName": top.name if top else "",
            "startLevel": top.level if top else None,
            "gridOffice": grid_office.code if grid_office else None,
            "tileUrl": settings.MAP_TILE_URL,
            "tileAttribution": settings.MAP_TILE_ATTRIBUTION,
            "center": settings.LEAFLET_CONFIG["DEFAULT_CENTER"],
            "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
            "api": "/api/",
            # Grids are fetched for the view shown (/api/map/grids/); this is where to start looking.
            "extent": selectors.jurisdiction_extent(actor=self.request.user),
        }
        return context
