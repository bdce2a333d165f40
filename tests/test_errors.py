"""Unexpected errors: JSON with the request id on the API and Open311, a plain page with it
elsewhere, never Django's bare HTML 500; an upload folder that cannot be written is a clear
503; files written by a transaction that rolls back do not stay on disk."""

import errno
import os
import re
import uuid

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from accounts.roles import Role
from anshun.stored_files import TransactionalFileSystemStorage
from grids.apis import RegionViewSet
from incidents.models import Incident, IncidentAttachment
from tests.factories import user_for_role
from tests.incidents.conftest import point_in

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def _english(client):
    """The language switch's cookie: messages in English (Chinese is the default)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _boom(*args, **kwargs):
    raise RuntimeError("something nobody expected")


def _assert_json_error(response, status):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["request_id"] == response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", body["request_id"])
    assert "<html" not in response.content.decode().lower()
    assert "something nobody expected" not in body["detail"]  # no internals to the client
    return body


def test_an_unexpected_api_error_is_json_with_the_request_id(monkeypatch):
    monkeypatch.setattr(RegionViewSet, "selector", staticmethod(_boom))
    client = _english(APIClient(raise_request_exception=False))
    client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    body = _assert_json_error(client.get("/api/regions/"), 500)
    assert "request id" in body["detail"]


def test_the_callers_request_id_comes_back_in_the_error(monkeypatch):
    monkeypatch.setattr(RegionViewSet, "selector", staticmethod(_boom))
    client = _english(APIClient(raise_request_exception=False))
    client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    mine = uuid.uuid4().hex
    response = client.get("/api/regions/", HTTP_X_REQUEST_ID=mine)
    assert _assert_json_error(response, 500)["request_id"] == mine


def test_an_unexpected_open311_error_is_json_with_the_request_id(monkeypatch):
    monkeypatch.setattr("incidents.open311._service", _boom)
    response = Client(raise_request_exception=False).get("/open311/v2/services.json")
    _assert_json_error(response, 500)
    response = Client(raise_request_exception=False).get("/open311/v2/services.xml")
    _assert_json_error(response, 500)


def test_an_unexpected_page_error_is_a_page_with_the_request_id(monkeypatch):
    monkeypatch.setattr("anshun.views.jurisdiction_summary", _boom)
    client = Client(raise_request_exception=False)
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    response = client.get("/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert response["X-Request-ID"] in response.content.decode()
    assert "something nobody expected" not in response.content.decode()


def _report(client, grid, *files):
    point = point_in(grid)
    return client.post(
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


@pytest.fixture
def reporter():
    from grids.models import Grid

    worker = user_for_role(Role.GRID_WORKER)
    grid = Grid.objects.filter(office=worker.grid_office).order_by("code").first()
    client = _english(APIClient(raise_request_exception=False))
    client.force_authenticate(worker)
    return client, grid


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_upload_folder_that_is_not_a_folder_is_a_clear_503(settings, tmp_path, reporter):
    (tmp_path / "not-a-folder").write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = str(tmp_path / "not-a-folder" / "media")
    client, grid = reporter
    before = Incident.objects.count()
    response = _report(client, grid, SimpleUploadedFile("a.png", PNG))
    body = _assert_json_error(response, 503)
    assert "cannot be stored" in body["detail"]
    assert response["Retry-After"]
    assert Incident.objects.count() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_an_unwritable_upload_folder_is_a_clear_503(media_root, reporter):
    media_root.mkdir()
    media_root.chmod(0o555)
    client, grid = reporter
    body = _assert_json_error(_report(client, grid, SimpleUploadedFile("a.png", PNG)), 503)
    assert "cannot be stored" in body["detail"]


def test_no_orphan_file_when_the_second_photo_cannot_be_written(media_root, reporter, monkeypatch):
    """The first photo is on disk when the second fails (the disk is full): the transaction rolls
    back, and the first file must not stay behind with no row naming it."""
    real_save = TransactionalFileSystemStorage._save
    calls = []

    def full_on_second(self, name, content):
        calls.append(name)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, name, content)

    monkeypatch.setattr(TransactionalFileSystemStorage, "_save", full_on_second)
    client, grid = reporter
    before = (Incident.objects.count(), IncidentAttachment.objects.count())
    response = _report(client, grid, SimpleUploadedFile("a.png", PNG), SimpleUploadedFile("b.jpg", JPEG))
    _assert_json_error(response, 503)
    assert len(calls) == 2
    assert (Incident.objects.count(), IncidentAttachment.objects.count()) == before
    assert _files(media_root) == []


def test_no_orphan_file_when_the_report_fails_after_the_photos(media_root, reporter, monkeypatch):
    """Both photos are written, then the transaction fails on something else."""
    from incidents.services import reporting

    real_store = reporting.store_attachments
    stored = []

    def store_then_fail(**kwargs):
        stored.extend(real_store(**kwargs))
        raise RuntimeError("after the photos")

    monkeypatch.setattr(reporting, "store_attachments", store_then_fail)
    client, grid = reporter
    response = _report(client, grid, SimpleUploadedFile("a.png", PNG), SimpleUploadedFile("b.jpg", JPEG))
    _assert_json_error(response, 500)
    assert len(stored) == 2
    assert _files(media_root) == []


def test_files_of_a_successful_report_stay(media_root, reporter):
    client, grid = reporter
    response = _report(client, grid, SimpleUploadedFile("a.png", PNG), SimpleUploadedFile("b.jpg", JPEG))
    assert response.status_code == 201, response.content
    assert len(_files(media_root)) == 2
    stored = IncidentAttachment.objects.filter(incident_id=response.json()["id"])
    assert sorted(a.file.name for a in stored) == _files(media_root)
