"""The API router: every app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from audit.apis import register as register_audit
from grids.apis import GridLayerViewSet, GridOfficeViewSet, GridViewSet, RegionViewSet
from incidents.apis import IncidentViewSet
from incidents.callback_api import IncidentCallbackViewSet
from mediation import apis as mediation_apis
from registry.apis import VisitViewSet
from safety_cells.apis import (
    CameraLayerViewSet,
    CameraViewSet,
    EvaluationViewSet,
    PatrolGapLayerViewSet,
    PatrolLogViewSet,
    PatrolRouteLayerViewSet,
    PreventionUnitViewSet,
    SafetyCellViewSet,
    TownshipCoverageLayerViewSet,
)
from search.apis import register as register_search
from special_groups.apis import AccessRecordViewSet, CaseTaskViewSet, EnrollmentViewSet, MetricsViewSet
from surveys.apis import SurveyMetricViewSet, SurveyResponseViewSet

router = DefaultRouter()
router.register("regions", RegionViewSet, basename="region")
router.register("grid-offices", GridOfficeViewSet, basename="grid-office")
router.register("grids", GridViewSet, basename="grid")
router.register("map/grids", GridLayerViewSet, basename="map-grids")
router.register("special-enrollments", EnrollmentViewSet, basename="special-enrollment")
router.register("special-tasks", CaseTaskViewSet, basename="special-task")
router.register("special-access-records", AccessRecordViewSet, basename="special-access-record")
router.register("special-metrics", MetricsViewSet, basename="special-metrics")
router.register("mediation/committees", mediation_apis.CommitteeViewSet, basename="mediation-committee")
router.register("mediation/cases", mediation_apis.CaseViewSet, basename="mediation-case")
router.register("mediation/sessions", mediation_apis.SessionViewSet, basename="mediation-session")
router.register("mediation/agreements", mediation_apis.AgreementViewSet, basename="mediation-agreement")
router.register(
    "mediation/confirmations", mediation_apis.ConfirmationViewSet, basename="mediation-confirmation"
)
router.register("legal/consultations", mediation_apis.ConsultationViewSet, basename="legal-consultation")
router.register("legal/aid", mediation_apis.LegalAidViewSet, basename="legal-aid")
router.register("legal/roster", mediation_apis.DutyShiftViewSet, basename="legal-roster")
router.register("survey-metrics", SurveyMetricViewSet, basename="survey-metric")
router.register("survey-responses", SurveyResponseViewSet, basename="survey-response")

router.register("safety-cells", SafetyCellViewSet, basename="safety-cell")
router.register("safety-evaluations", EvaluationViewSet, basename="safety-evaluation")
router.register("prevention-units", PreventionUnitViewSet, basename="prevention-unit")
router.register("patrol-logs", PatrolLogViewSet, basename="patrol-log")
router.register("cameras", CameraViewSet, basename="camera")
router.register("map/cameras", CameraLayerViewSet, basename="map-cameras")
router.register("map/patrol-routes", PatrolRouteLayerViewSet, basename="map-patrol-routes")
router.register("map/township-coverage", TownshipCoverageLayerViewSet, basename="map-township-coverage")
router.register("map/patrol-gaps", PatrolGapLayerViewSet, basename="map-patrol-gaps")
router.register("incidents", IncidentViewSet, basename="incident")
register_audit(router)
router.register("incident-callbacks", IncidentCallbackViewSet, basename="incident-callback")

# Time limits of incidents (延期 requests, 挂账 backlog).
from incidents.apis_time import BacklogViewSet, ExtensionViewSet  # noqa: E402

router.register("incident-extensions", ExtensionViewSet, basename="incident-extension")
router.register("incident-backlog", BacklogViewSet, basename="incident-backlog")
register_search(router)
router.register("registry/visits", VisitViewSet, basename="registry-visit")
