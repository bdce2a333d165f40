"""The API router: every app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from grids.apis import GridOfficeViewSet, GridViewSet, RegionViewSet
from surveys.apis import SurveyMetricViewSet, SurveyResponseViewSet

router = DefaultRouter()
router.register("regions", RegionViewSet, basename="region")
router.register("grid-offices", GridOfficeViewSet, basename="grid-office")
router.register("grids", GridViewSet, basename="grid")
router.register("survey-metrics", SurveyMetricViewSet, basename="survey-metric")
router.register("survey-responses", SurveyResponseViewSet, basename="survey-response")
