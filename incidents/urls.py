from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("", views.IncidentListView.as_view(), name="list"),
    path("queue/", views.DispatchQueueView.as_view(), name="queue"),
    path("report/", views.ReportView.as_view(), name="report"),
    path("notifications/", views.NotificationListView.as_view(), name="notifications"),
    path("sw.js", views.service_worker, name="sw"),
    path("<int:pk>/", views.IncidentDetailView.as_view(), name="detail"),
    path("<int:pk>/files/<int:attachment_id>/", views.AttachmentView.as_view(), name="attachment"),
    path("<int:pk>/public-note/", views.PublicNoteView.as_view(), name="public-note"),
    path("<int:pk>/<str:name>/", views.IncidentTransitionView.as_view(), name="transition"),
]
