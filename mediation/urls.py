from django.urls import path

from mediation import views

app_name = "mediation"

urlpatterns = [
    path("", views.CaseloadView.as_view(), name="caseload"),
    path("cases/new/", views.CaseIntakeView.as_view(), name="case-new"),
    path("cases/<int:pk>/", views.CaseDetailView.as_view(), name="case"),
    path("cases/<int:pk>/agreement/print/", views.AgreementPrintView.as_view(), name="agreement"),
    path("cases/<int:pk>/record/<slug:action>/", views.CaseActionView.as_view(), name="case-action"),
    path("notices/<int:pk>/read/", views.NoticeReadView.as_view(), name="notice-read"),
    path("refer/", views.IncidentReferView.as_view(), name="refer"),
    path("committees/", views.DashboardView.as_view(), name="dashboard"),
    path("roster/", views.RosterView.as_view(), name="roster"),
    path("legal/", views.LegalDeskView.as_view(), name="legal"),
]
