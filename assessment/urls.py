from django.urls import path

from assessment import views

app_name = "assessment"

urlpatterns = [
    path("", views.RankingView.as_view(), name="ranking"),
    path("<str:level>/<str:unit>/", views.ScoreView.as_view(), name="score"),
]
