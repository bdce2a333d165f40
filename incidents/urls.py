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
    path("<int:pk>/callback/", views.CallbackView.as_view(), name="callback"),
    path("<int:pk>/public-note/", views.PublicNoteView.as_view(), name="public-note"),
    path("<int:pk>/correct/", views.CorrectionView.as_view(), name="correct"),
    path("<int:pk>/parts/<int:share_id>/", views.RecordPartView.as_view(), name="record-part"),
    path("<int:pk>/merge/", views.MergeView.as_view(), name="merge"),
    path("<int:pk>/<str:name>/", views.IncidentTransitionView.as_view(), name="transition"),
]

# Time limits (延期, 挂账): two-segment paths, so the transition pattern above never takes them.
from incidents import views_time  # noqa: E402

urlpatterns += [
    path("extensions/", views_time.PendingExtensionsView.as_view(), name="extensions"),
    path("backlog/", views_time.BacklogListView.as_view(), name="backlog"),
    path("<int:pk>/extension/request/", views_time.ExtensionRequestView.as_view(), name="extension-request"),
    path(
        "<int:pk>/extension/<int:extension_id>/decide/",
        views_time.ExtensionDecisionView.as_view(),
        name="extension-decide",
    ),
    path("<int:pk>/backlog/place/", views_time.BacklogPlaceView.as_view(), name="backlog-place"),
    path("<int:pk>/backlog/lift/", views_time.BacklogLiftView.as_view(), name="backlog-lift"),
    path("<int:pk>/backlog/review/", views_time.BacklogReviewView.as_view(), name="backlog-review"),
]
