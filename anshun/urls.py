from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from accounts.views import LoginView, LogoutView, TokenView
from anshun.api.router import router
from anshun.observability import metrics_view
from anshun.views import HomeView, healthz
from grids.views import GridMapView

# Swagger UI and Redoc set inline styles (never inline scripts); allow styles on those two pages only.
api_docs_styles = csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]})

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("map/", GridMapView.as_view(), name="grid-map"),
    path("special-groups/", include("special_groups.urls")),
    path("mediation/", include("mediation.urls")),
    path("dashboard/", include("surveys.urls")),
    path("assessment/", include("assessment.urls")),
    path("safety/", include("safety_cells.urls")),
    path("incidents/", include("incidents.urls")),
    path("audit/", include("audit.urls")),
    path("search/", include("search.urls")),
    path("registry/", include("registry.urls")),
    path("exports/", include("anshun.export_views")),
    path("open311/v2/", include("incidents.open311_urls")),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        api_docs_styles(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path(
        "api/redoc/", api_docs_styles(SpectacularRedocView.as_view(url_name="api-schema")), name="api-redoc"
    ),
    path("api/", include(router.urls)),
]
# No route serves MEDIA_ROOT, in development either: uploaded files leave only through the
# scoped file views (incidents:attachment, safety_cells:evaluation-photo), see anshun/files.py.

handler404 = "anshun.views.page_not_found"
handler500 = "anshun.views.server_error"
