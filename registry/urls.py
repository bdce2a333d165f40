from django.urls import path

from registry import views

app_name = "registry"

urlpatterns = [
    path("", views.HouseListView.as_view(), name="houses"),
    path("houses/<int:pk>/", views.HouseView.as_view(), name="house"),
    path("houses/<int:pk>/visit/", views.VisitFormView.as_view(), name="visit"),
    path("units/", views.UnitListView.as_view(), name="units"),
    path("units/<int:pk>/visit/", views.UnitVisitView.as_view(), name="unit-visit"),
    path("plan/", views.VisitPlanView.as_view(), name="plan"),
    path("coverage/", views.CoverageView.as_view(), name="coverage"),
    path("sw.js", views.service_worker, name="sw"),
    path("reveals/", views.RevealLogView.as_view(), name="reveals"),
    path("import/", views.ImportView.as_view(), name="import"),
    path("import/<int:pk>/", views.ImportDetailView.as_view(), name="import-detail"),
]
