from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.ChangeListView.as_view(), name="changes"),
    path("changes/<str:model_key>/<int:history_id>/", views.ChangeDetailView.as_view(), name="change"),
    path(
        "history/<str:model_key>/<int:object_id>/", views.ObjectHistoryView.as_view(), name="object-history"
    ),
]
