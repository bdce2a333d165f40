"""The API router: every app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from grids.apis import GridOfficeViewSet, GridViewSet, RegionViewSet
from incidents.apis import IncidentViewSet

router = DefaultRouter()
router.register("regions", RegionViewSet, basename="region")
router.register("grid-offices", GridOfficeViewSet, basename="grid-office")
router.register("grids", GridViewSet, basename="grid")
router.register("incidents", IncidentViewSet, basename="incident")
