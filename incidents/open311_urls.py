from django.urls import re_path

from incidents import open311

FMT = r"(?P<fmt>json|xml)"

urlpatterns = [
    re_path(rf"^services\.{FMT}$", open311.services, name="open311-services"),
    # Any code or id, however odd, reaches the view, which answers in the spec's format.
    re_path(rf"^services/(?P<code>[\s\S]*?)\.{FMT}$", open311.service_definition, name="open311-service"),
    re_path(rf"^requests\.{FMT}$", open311.requests_collection, name="open311-requests"),
    re_path(rf"^requests/(?P<pk>[\s\S]*?)\.{FMT}$", open311.request_detail, name="open311-request"),
    # Anything else under the root is the spec's 404, never Django's HTML page.
    re_path(r"^(?P<rest>[\s\S]*)$", open311.not_found, name="open311-not-found"),
]
