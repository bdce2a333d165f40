"""The admin's map widgets run under the CSP with a per-response nonce; no other page gets one."""

import re

import pytest

from accounts.roles import Role
from grids.models import GridOffice
from incidents.models import IncidentCategory
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def _script_src(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    return next(part for part in policy.split(";") if part.strip().startswith("script-src"))


def test_a_map_widget_page_allows_only_its_own_nonce_bearing_code(client):
    client.force_login(user_for_role(Role.ADMIN))
    office = GridOffice.objects.filter(location__isnull=False).order_by("code").first()
    response = client.get(f"/admin/grids/gridoffice/{office.pk}/change/")
    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", _script_src(response)).group(1)
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    html = response.content.decode()
    inline = re.findall(r"<(script|style)(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", html)
    assert inline, "the widget's set-up code"
    assert all(f'nonce="{nonce}"' in attrs for _tag, attrs in inline), inline
    # A second request gets a different nonce.
    again = client.get(f"/admin/grids/gridoffice/{office.pk}/change/")
    assert re.search(r"'nonce-([^']+)'", _script_src(again)).group(1) != nonce


def test_pages_without_a_map_widget_keep_the_strict_policy(client):
    client.force_login(user_for_role(Role.ADMIN))
    category = IncidentCategory.objects.create(code="noise-x", name="噪声", duty="conflicts_disputes")
    for url in ("/", f"/admin/incidents/incidentcategory/{category.pk}/change/", "/admin/grids/gridoffice/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert _script_src(response).split() == ["script-src", "'self'"], url
