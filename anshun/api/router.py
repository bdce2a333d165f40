"""The API router: every app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from grids.apis import GridOfficeViewSet, GridViewSet, RegionViewSet
from special_groups.apis import AccessRecordViewSet, CaseTaskViewSet, EnrollmentViewSet, MetricsViewSet

router = DefaultRouter()
router.register("regions", RegionViewSet, basename="region")
router.register("grid-offices", GridOfficeViewSet, basename="grid-office")
router.register("grids", GridViewSet, basename="grid")
router.register("special-enrollments", EnrollmentViewSet, basename="special-enrollment")
router.register("special-tasks", CaseTaskViewSet, basename="special-task")
router.register("special-access-records", AccessRecordViewSet, basename="special-access-record")
router.register("special-metrics", MetricsViewSet, basename="special-metrics")
