"""Uploaded files as an attacker would try them: polyglots named .html/.js, guessing names, reading
another county's files, anonymous reads, the old /media/ URLs, and the nginx hand-over."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.roles import Role
from grids.models import Grid, Region
from incidents.models import IncidentAttachment
from incidents.services.editing import delete_incident
from tests.factories import api_token_for, user_for_role
from tests.incidents.conftest import OTHER_COUNTY, point_in

pytestmark = pytest.mark.django_db

SCRIPT = (
    b"<html><body><script>fetch('/xss-beacon?'+document.cookie);localStorage.setItem('pwned','1')</script>"
)
PDF_POLYGLOT = b"%PDF-1.4\n" + SCRIPT + b"\n%%EOF\n"
WEBP_POLYGLOT = b"RIFF\x24\x00\x00\x00WEBPVP8 " + SCRIPT
RANDOM_NAME = re.compile(r"^incidents/\d{4}/\d{2}/[0-9a-f]{32}\.(pdf|webp|png|jpg)$")
FILE_CSP = "sandbox; default-src 'none'"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def upload(client, grid, *files):
    point = point_in(grid)
    response = client.post(
        "/api/incidents/",
        {
            "category": "exposed-rubbish",
            "description": "门口堆物",
            "longitude": point.x,
            "latitude": point.y,
            "attachments": list(files),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def posted(worker, home_grid):
    client = APIClient()
    client.force_authenticate(worker)
    body = upload(
        client,
        home_grid,
        SimpleUploadedFile("x.html", PDF_POLYGLOT, content_type="text/html"),
        SimpleUploadedFile("x.js", WEBP_POLYGLOT, content_type="application/javascript"),
    )
    return body


def attachments_of(body):
    return list(IncidentAttachment.objects.filter(incident_id=body["id"]).order_by("pk"))


def test_polyglots_are_stored_under_random_names_with_the_sniffed_type(posted, media_root):
    pdf, webp = attachments_of(posted)
    assert (pdf.content_type, webp.content_type) == ("application/pdf", "image/webp")
    assert RANDOM_NAME.match(pdf.file.name) and pdf.file.name.endswith(".pdf")
    assert RANDOM_NAME.match(webp.file.name) and webp.file.name.endswith(".webp")
    for attachment in (pdf, webp):
        stem = attachment.file.name.rsplit("/", 1)[1]
        assert not stem.startswith("x.") and "html" not in stem and ".js" not in stem
    assert (pdf.original_name, webp.original_name) == ("x.html", "x.js")  # kept to be shown only
    assert not list(media_root.rglob("*.html")) and not list(media_root.rglob("*.js"))
    # The API links to the scoped view, never to storage.
    urls = [a["url"] for a in posted["attachments"]]
    assert urls == [f"http://testserver/incidents/{posted['id']}/files/{a.pk}/" for a in (pdf, webp)]
    assert [a["name"] for a in posted["attachments"]] == ["x.html", "x.js"]


def test_the_owner_gets_the_pdf_as_a_download_with_nosniff_and_a_sandbox(client, posted, worker):
    pdf, _webp = attachments_of(posted)
    client.force_login(worker)
    response = client.get(pdf.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == FILE_CSP
    assert response["Content-Disposition"] == 'attachment; filename="x.pdf"'
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == PDF_POLYGLOT


def test_an_image_is_inline_but_still_sandboxed_and_never_html(client, posted, worker):
    _pdf, webp = attachments_of(posted)
    client.force_login(worker)
    response = client.get(webp.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["Content-Disposition"] == 'inline; filename="x.webp"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == FILE_CSP


def test_the_incident_page_links_to_the_scoped_view(client, posted, worker):
    pdf, webp = attachments_of(posted)
    client.force_login(worker)
    page = client.get(reverse("incidents:detail", args=[posted["id"]])).content.decode()
    assert pdf.get_absolute_url() in page and webp.get_absolute_url() in page
    assert "/media/" not in page and pdf.file.name not in page


def test_anonymous_readers_are_sent_to_the_login_and_get_no_bytes(client, posted):
    for attachment in attachments_of(posted):
        response = client.get(attachment.get_absolute_url())
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert b"script" not in response.content
        # The old public URL is gone, in every settings module: nothing serves MEDIA_ROOT.
        for base in ("/media/", "/"):
            assert client.get(base + attachment.file.name).status_code == 404
        with override_settings(DEBUG=True):
            assert client.get("/media/" + attachment.file.name).status_code == 404


def test_another_countys_users_get_the_same_404_as_for_a_file_that_does_not_exist(client, posted):
    pdf, _webp = attachments_of(posted)
    far_office = Grid.objects.filter(code__startswith=OTHER_COUNTY).order_by("code").first().office
    far_county = Region.objects.get(code=OTHER_COUNTY)
    outsiders = [
        user_for_role(Role.COUNTY_OFFICIAL, region=far_county),
        user_for_role(Role.GRID_WORKER, office=far_office),
        user_for_role(Role.CASE_OFFICER, region=far_county),
    ]
    missing = reverse("incidents:attachment", args=[posted["id"], pdf.pk + 1000])
    for outsider in outsiders:
        client.force_login(outsider)
        refused = client.get(pdf.get_absolute_url())
        assert refused.status_code == 404 and b"%PDF" not in refused.content
        assert client.get(missing).status_code == 404
        assert refused.content == client.get(missing).content  # the same answer: nothing to tell apart


def test_a_visible_incident_does_not_open_another_incidents_file(client, posted, worker, far_grid):
    """The attachment id is checked against the incident in the URL: pairing an incident one may
    see with another county's attachment id finds nothing."""
    far_worker = user_for_role(Role.GRID_WORKER, office=far_grid.office)
    api = APIClient()
    api.force_authenticate(far_worker)
    far = upload(api, far_grid, SimpleUploadedFile("secret.pdf", b"%PDF-1.4 far away", content_type="x/y"))
    [far_attachment] = attachments_of(far)
    client.force_login(worker)
    mixed = reverse("incidents:attachment", args=[posted["id"], far_attachment.pk])
    assert client.get(mixed).status_code == 404
    assert client.get(far_attachment.get_absolute_url()).status_code == 404
    client.force_login(far_worker)
    assert client.get(far_attachment.get_absolute_url()).status_code == 200


def test_a_deleted_incidents_files_are_gone(client, posted, worker):
    pdf, _webp = attachments_of(posted)
    delete_incident(actor=user_for_role(Role.ADMIN), incident_id=posted["id"])
    client.force_login(worker)
    assert client.get(pdf.get_absolute_url()).status_code == 404


def test_sync_clients_read_files_with_their_token_and_only_in_scope(client, posted, worker, far_grid):
    pdf, _webp = attachments_of(posted)
    own = api_token_for(worker)
    response = client.get(pdf.get_absolute_url(), HTTP_AUTHORIZATION=f"Token {own}")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    stranger = api_token_for(user_for_role(Role.GRID_WORKER, office=far_grid.office))
    assert client.get(pdf.get_absolute_url(), HTTP_AUTHORIZATION=f"Token {stranger}").status_code == 404
    refused = client.get(pdf.get_absolute_url(), HTTP_AUTHORIZATION="Token not-a-token")
    assert refused.status_code in (302, 401) and b"%PDF" not in refused.content


def test_x_accel_mode_hands_the_file_to_nginx_with_the_same_headers_and_no_body(
    client, posted, worker, settings
):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    pdf, webp = attachments_of(posted)
    client.force_login(worker)
    response = client.get(pdf.get_absolute_url())
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == "/protected-media/" + pdf.file.name
    assert response.content == b""
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="x.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == FILE_CSP
    assert client.get(webp.get_absolute_url())["Content-Disposition"] == 'inline; filename="x.webp"'
    # Refusals never carry the header: nginx would otherwise send the file anyway.
    client.logout()
    assert "X-Accel-Redirect" not in client.get(pdf.get_absolute_url())
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code=OTHER_COUNTY)))
    refused = client.get(pdf.get_absolute_url())
    assert refused.status_code == 404 and "X-Accel-Redirect" not in refused


def test_a_file_missing_from_storage_is_a_404_not_a_500(client, posted, worker):
    pdf, _webp = attachments_of(posted)
    pdf.file.storage.delete(pdf.file.name)
    client.force_login(worker)
    assert client.get(pdf.get_absolute_url()).status_code == 404


def test_the_admin_links_to_the_scoped_view_and_takes_no_uploads(client, posted):
    pdf, _webp = attachments_of(posted)
    admin = user_for_role(Role.ADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    page = client.get(f"/admin/incidents/incident/{posted['id']}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="{pdf.get_absolute_url()}"' in html and "/media/" not in html


def test_the_migration_moves_files_stored_under_the_phones_name(
    media_root, make_incident, django_capture_on_commit_callbacks
):
    import importlib

    from django.apps import apps as django_apps
    from django.core.files.base import ContentFile

    migration = importlib.import_module("incidents.migrations.0006_random_file_names")
    incident = make_incident()
    old = IncidentAttachment(incident=incident, content_type="image/jpeg", size=4)
    old.file.name = old.file.storage.save(
        "incidents/2025/01/张三家门口.jpg", ContentFile(b"\xff\xd8\xff\xe0")
    )
    old.save()
    with django_capture_on_commit_callbacks(execute=True):
        migration.rename_stored_files(django_apps, None)
    old.refresh_from_db()
    assert RANDOM_NAME.match(old.file.name) and old.original_name == "张三家门口.jpg"
    assert old.file.storage.exists(old.file.name)
    assert not (media_root / "incidents/2025/01/张三家门口.jpg").exists()
