from django.urls import path

from special_groups import views

app_name = "special_groups"

urlpatterns = [
    path("", views.CaseloadView.as_view(), name="caseload"),
    path("enrol/", views.EnrollView.as_view(), name="enrol"),
    path("records/<int:pk>/", views.EnrollmentRecordView.as_view(), name="record"),
    path("records/<int:pk>/guardian/", views.GuardianView.as_view(), name="guardian"),
    path("tasks/", views.TaskListView.as_view(), name="tasks"),
    path("dashboard/", views.ProjectDashboardView.as_view(), name="dashboard"),
    path("access-log/", views.AccessLogView.as_view(), name="access-log"),
]
