"""Evidence photos as an attacker would try them: a polyglot named .html, another county's
official, a role without the safety capability, anonymous readers and the old /media/ URL."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.roles import Role
from grids.models import Region
from safety_cells import services
from safety_cells.models import SafetyCell
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

JPEG_POLYGLOT = b"\xff\xd8\xff\xe0<html><script>localStorage.setItem('pwned','1')</script>"
RANDOM_NAME = re.compile(r"^safety-evaluations/\d{4}/\d{2}/[0-9a-f]{32}\.jpg$")


@pytest.fixture
def photo(safety_demo, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    cell = SafetyCell.objects.get(name="家运天城平安智慧小区")
    evaluation = services.evaluation_record(
        cell=cell,
        actor=user_for_role(Role.TOWNSHIP_OFFICIAL),
        scores={c.pk: 1 for c in cell.cell_type.criteria.all()},
        photos=[SimpleUploadedFile("小区门口 x.html", JPEG_POLYGLOT, content_type="text/html")],
    )
    return evaluation.photos.get()


def test_a_polyglot_photo_is_stored_under_a_random_jpg_name(photo, tmp_path):
    assert photo.content_type == "image/jpeg" and RANDOM_NAME.match(photo.image.name)
    assert photo.original_name == "小区门口 x.html"
    assert not list(tmp_path.rglob("*.html"))


def test_in_scope_official_sees_the_photo_inline_with_nosniff_and_a_sandbox(client, photo):
    client.force_login(user_for_role(Role.TOWNSHIP_OFFICIAL))
    response = client.get(photo.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("inline;")
    assert ".jpg" in response["Content-Disposition"] and ".html" not in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert b"".join(response.streaming_content) == JPEG_POLYGLOT
    page = client.get(f"/safety/cells/{photo.evaluation.cell_id}/").content.decode()
    assert photo.get_absolute_url() in page and "/media/" not in page


def test_outsiders_anonymous_and_roles_without_the_capability_get_nothing(client, photo):
    url = photo.get_absolute_url()
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and b"script" not in anonymous.content
    assert client.get("/media/" + photo.image.name).status_code == 404
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code="520425")))
    refused = client.get(url)
    missing = client.get(url.replace(f"/photos/{photo.pk}/", f"/photos/{photo.pk + 1000}/"))
    assert refused.status_code == missing.status_code == 404 and refused.content == missing.content
    for role in (Role.LAWYER, Role.MEDIATOR, Role.CASE_OFFICER):
        client.force_login(user_for_role(role))
        response = client.get(url)
        assert response.status_code in (403, 404) and b"script" not in response.content


def test_the_api_links_photos_to_the_scoped_view(photo):
    api = APIClient()
    api.force_authenticate(user_for_role(Role.TOWNSHIP_OFFICIAL))
    body = api.get(f"/api/safety-evaluations/{photo.evaluation_id}/").json()
    assert body["photos"] == ["http://testserver" + photo.get_absolute_url()]


def test_the_admin_shows_photos_through_the_scoped_view_and_takes_no_uploads(client, photo):
    admin = user_for_role(Role.ADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    page = client.get(f"/admin/safety_cells/evaluation/{photo.evaluation_id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="{photo.get_absolute_url()}"' in html and "/media/" not in html
    assert 'type="file"' not in html
