from django.urls import path

from surveys import views

app_name = "surveys"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("report/", views.ReportView.as_view(), name="report"),
    path("upload/", views.ResponsesUploadView.as_view(), name="upload"),
    path("assessment/", views.AssessmentView.as_view(), name="assessment"),
]
