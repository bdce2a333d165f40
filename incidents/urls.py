from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("", views.IncidentListView.as_view(), name="list"),
    path("queue/", views.DispatchQueueView.as_view(), name="queue"),
    path("inbox/", views.UnitInboxView.as_view(), name="inbox"),
    path("routes/", views.RoutingTableView.as_view(), name="routes"),
    path("routes/<int:route_id>/delete/", views.RouteDeleteView.as_view(), name="route-delete"),
    path("report/", views.ReportView.as_view(), name="report"),
    path("notifications/", views.NotificationListView.as_view(), name="notifications"),
    path("sw.js", views.service_worker, name="sw"),
    path("<int:pk>/", views.IncidentDetailView.as_view(), name="detail"),
    path("<int:pk>/files/<int:attachment_id>/", views.AttachmentView.as_view(), name="attachment"),
    path("<int:pk>/public-note/", views.PublicNoteView.as_view(), name="public-note"),
    path("<int:pk>/correct/", views.CorrectionView.as_view(), name="correct"),
    path("<int:pk>/parts/<int:share_id>/", views.RecordPartView.as_view(), name="record-part"),
    path("<int:pk>/merge/", views.MergeView.as_view(), name="merge"),
    path("<int:pk>/<str:name>/", views.IncidentTransitionView.as_view(), name="transition"),
]
