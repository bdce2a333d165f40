"""The API router: every app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from grids.apis import GridOfficeViewSet, GridViewSet, RegionViewSet

router = DefaultRouter()
router.register("regions", RegionViewSet, basename="region")
router.register("grid-offices", GridOfficeViewSet, basename="grid-office")
router.register("grids", GridViewSet, basename="grid")

from safety_cells.apis import (  # noqa: E402
    CameraViewSet,
    EvaluationViewSet,
    PatrolLogViewSet,
    PreventionUnitViewSet,
    SafetyCellViewSet,
)

router.register("safety-cells", SafetyCellViewSet, basename="safety-cell")
router.register("safety-evaluations", EvaluationViewSet, basename="safety-evaluation")
router.register("prevention-units", PreventionUnitViewSet, basename="prevention-unit")
router.register("patrol-logs", PatrolLogViewSet, basename="patrol-log")
router.register("cameras", CameraViewSet, basename="camera")
