from django.urls import path

from safety_cells import views

app_name = "safety_cells"

urlpatterns = [
    path("", views.SafetyCellRegistryView.as_view(), name="registry"),
    path("cells/<int:pk>/", views.SafetyCellDetailView.as_view(), name="cell"),
    path("cells/<int:pk>/evaluate/", views.EvaluationCreateView.as_view(), name="evaluate"),
    path("cells/<int:pk>/designate/", views.DesignateView.as_view(), name="designate"),
    path("cameras/", views.CameraListView.as_view(), name="cameras"),
    path("cameras/new/", views.CameraCreateView.as_view(), name="camera-new"),
    path("units/", views.UnitListView.as_view(), name="units"),
    path("units/new/", views.UnitCreateView.as_view(), name="unit-new"),
    path("units/<int:pk>/", views.UnitDetailView.as_view(), name="unit"),
    path(
        "evaluations/<int:pk>/photos/<int:photo_id>/",
        views.EvaluationPhotoView.as_view(),
        name="evaluation-photo",
    ),
    path("patrols/", views.PatrolLogListView.as_view(), name="patrols"),
    path("patrols/new/", views.PatrolLogCreateView.as_view(), name="patrol-new"),
    path("coverage/", views.CoverageView.as_view(), name="coverage"),
]
