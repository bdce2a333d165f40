"""Hostile bodies and files: every body and file has a size limit, and every upload path judges
a file by its bytes (a renamed file is refused with a field error). Nothing is written."""

from __future__ import annotations

import importlib
import io

import pytest
from django.apps import apps as django_apps
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from accounts.roles import Role
from grids.models import GridImport, GridOffice, Region
from incidents.categories import seed_categories
from incidents.models import Incident, IncidentAttachment, IncidentCategory
from incidents.services import workflow
from incidents.services.reporting import report_incident
from safety_cells import services as safety_services
from safety_cells.models import CellType, Criterion, Evaluation, EvaluationPhoto
from surveys.demo import ensure_survey_setup
from surveys.models import Response
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 60
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 60
HTML = b"<!doctype html><script>alert(1)</script>"
CSV = b"client_id,community,grid,channel,answered_on,security_sense,satisfaction\n"
SEED_CELL_TYPES = importlib.import_module("safety_cells.migrations.0002_types_evaluations_prevention")


def _xlsx() -> bytes:
    book = Workbook()
    book.active.append(["client_id", "community"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def _stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]


# --- the incident upload paths --------------------------------------------------------------------


@pytest.fixture
def office():
    seed_categories()
    return GridOffice.objects.filter(seat__code__startswith="520402005", grids__isnull=False).order_by(
        "code"
    )[0]


@pytest.fixture
def worker(office):
    return user_for_role(Role.GRID_WORKER, office=office)


def _report(office) -> dict:
    point = office.grids.order_by("code").first().geometry.point_on_surface
    return {
        "category": "exposed-rubbish",
        "description": "河边垃圾",
        "longitude": point.x,
        "latitude": point.y,
    }


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("photo.jpg", EXE),
        ("photo.png", HTML),
        ("scan.pdf", b"\x00\x01binary"),
        ("photo.jpg", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40),
    ],
)
def test_a_renamed_file_is_refused_on_incident_reports(api_client, worker, office, media, name, content):
    api_client.force_authenticate(worker)
    upload = SimpleUploadedFile(name, content, content_type="image/jpeg")
    response = api_client.post(
        "/api/incidents/", {**_report(office), "attachments": [upload]}, format="multipart"
    )
    assert response.status_code == 400, response.content
    assert name in response.json()["attachments"][0]
    assert not Incident.objects.exists() and not _stored_files(media)


def _handling(worker, office) -> Incident:
    dispatcher = user_for_role(Role.DISPATCHER)
    point = office.grids.order_by("code").first().geometry.point_on_surface
    incident, _ = report_incident(
        actor=worker,
        category=IncidentCategory.objects.get(code="exposed-rubbish"),
        description="路边垃圾",
        location=Point(point.x, point.y, srid=4326),
    )
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    return workflow.take_incident(actor=worker, incident_id=incident.pk)


def test_a_renamed_file_or_an_oversize_photo_is_refused_on_report_handled(
    api_client, worker, office, media, settings
):
    incident = _handling(worker, office)
    api_client.force_authenticate(worker)
    url = f"/api/incidents/{incident.pk}/report-handled/"
    disguised = SimpleUploadedFile("after.png", HTML, content_type="image/png")
    response = api_client.post(url, {"note": "已清理", "attachments": [disguised]}, format="multipart")
    assert response.status_code == 400 and "after.png" in response.json()["attachments"][0]
    settings.INCIDENT_ATTACHMENT_MAX_BYTES = 32
    big = SimpleUploadedFile("after.jpg", JPEG, content_type="image/jpeg")
    response = api_client.post(url, {"note": "已清理", "attachments": [big]}, format="multipart")
    assert response.status_code == 400 and "MB" in response.json()["attachments"][0]
    incident.refresh_from_db()
    assert incident.status == Incident.Status.HANDLING and not IncidentAttachment.objects.exists()
    assert not _stored_files(media)


def test_incident_attachments_default_to_the_shared_upload_limit(api_client, worker, office, media, settings):
    settings.UPLOAD_MAX_BYTES = 40
    api_client.force_authenticate(worker)
    big = SimpleUploadedFile("photo.jpg", JPEG, content_type="image/jpeg")
    response = api_client.post(
        "/api/incidents/", {**_report(office), "attachments": [big]}, format="multipart"
    )
    assert response.status_code == 400 and "MB" in response.json()["attachments"][0]
    assert not Incident.objects.exists()


# --- bodies -----------------------------------------------------------------------------------------


def test_an_oversize_json_body_is_a_413_with_a_clear_error(api_client, worker, office, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    api_client.force_authenticate(worker)
    body = {**_report(office), "description": "垃圾" * 2000}
    response = api_client.post("/api/incidents/", body, format="json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "KB" in response.json()["detail"]  # names the limit
    assert not Incident.objects.exists()


def test_a_request_over_the_whole_request_limit_is_refused_before_it_is_read(
    api_client, client, worker, office, media, settings
):
    settings.REQUEST_MAX_BYTES = 1024
    api_client.force_authenticate(worker)
    photo = SimpleUploadedFile("photo.jpg", JPEG + b"\x00" * 2048, content_type="image/jpeg")
    response = api_client.post(
        "/api/incidents/", {**_report(office), "attachments": [photo]}, format="multipart"
    )
    assert response.status_code == 413 and "KB" in response.json()["detail"]
    client.force_login(worker)
    page = client.post("/incidents/", {"description": "x" * 2048})
    assert page.status_code == 413 and page["Content-Type"].startswith("text/plain")
    assert not Incident.objects.exists() and not _stored_files(media)


def test_too_many_form_fields_is_a_400_not_a_crash(api_client, worker, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    api_client.force_authenticate(worker)
    response = api_client.post("/api/incidents/", {f"f{i}": "x" for i in range(20)}, format="multipart")
    assert response.status_code == 400 and "non_field_errors" in response.json()


# --- safe-cell evidence photos ---------------------------------------------------------------------


@pytest.fixture
def cell():
    SEED_CELL_TYPES.seed_cell_types(django_apps, None)
    cell_type = CellType.objects.get(code="estate")
    Criterion.objects.create(cell_type=cell_type, name="监控", max_score=20)
    region = Region.objects.get(code="520402005001")
    return safety_services.safety_cell_create(
        actor=user_for_role(Role.ADMIN),
        name="上传测试小区",
        cell_type=cell_type,
        region=region,
        location=region.boundary.point_on_surface,
    )


def _scores(cell) -> list[dict]:
    return [{"criterion": c.pk, "score": 1} for c in cell.cell_type.criteria.all()]


@pytest.mark.parametrize(
    ("name", "content"), [("gate.jpg", EXE), ("gate.png", HTML), ("gate.webp", b"%PDF-1.7 not a photo")]
)
def test_a_renamed_evidence_photo_is_refused(api_client, cell, media, name, content):
    api_client.force_authenticate(user_for_role(Role.COUNTY_OFFICIAL))
    data = _multipart_evaluation(cell, photos=[SimpleUploadedFile(name, content)])
    response = api_client.post("/api/safety-evaluations/", data, format="multipart")
    assert response.status_code == 400, response.content
    assert "photos" in response.json()
    assert (
        not Evaluation.objects.exists() and not EvaluationPhoto.objects.exists() and not _stored_files(media)
    )


def _multipart_evaluation(cell, *, photos: list) -> dict:
    """The evaluation body as a form: scores as ``scores[i]criterion`` the way DRF reads lists of objects."""
    data = {"cell": cell.pk, "photos": photos}
    for index, score in enumerate(_scores(cell)):
        data[f"scores[{index}]criterion"] = score["criterion"]
        data[f"scores[{index}]score"] = score["score"]
    return data


def test_an_oversize_evidence_photo_is_a_field_error(cell, media, settings):
    settings.UPLOAD_MAX_BYTES = 16
    scores = {c.pk: 1 for c in cell.cell_type.criteria.all()}
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        safety_services.evaluation_record(
            actor=user_for_role(Role.ADMIN),
            cell=cell,
            scores=scores,
            photos=[SimpleUploadedFile("gate.jpg", JPEG)],
        )
    assert "MB" in error.value.message_dict["photos"][0]
    assert not Evaluation.objects.exists() and not _stored_files(media)


def test_the_evaluation_page_refuses_a_renamed_photo(client, cell, media):
    from django.urls import reverse

    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    data = {"evaluated_on": "2026-11-01", "notes": "复核"}
    data |= {f"score_{c.pk}": 1 for c in cell.cell_type.criteria.all()}
    data["photo"] = SimpleUploadedFile("door.jpg", HTML, content_type="image/jpeg")
    response = client.post(reverse("safety_cells:evaluate", args=[cell.pk]), data)
    assert response.status_code == 200 and response.context["form"].errors
    assert not Evaluation.objects.exists() and not _stored_files(media)


# --- survey imports ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [("wave.xlsx", CSV), ("wave.csv", _xlsx()), ("wave.csv", EXE), ("wave.xlsx", EXE), ("wave.html", HTML)],
)
def test_a_survey_import_whose_bytes_do_not_match_its_name_is_refused(api_client, name, content):
    wave = ensure_survey_setup()
    api_client.force_authenticate(user_for_role(Role.ADMIN))
    upload = SimpleUploadedFile(name, content)
    response = api_client.post("/api/survey-responses/import/", {"wave": wave.code, "file": upload})
    assert response.status_code == 400, response.content
    assert response.json()["file"]
    assert not Response.objects.exists()


def test_an_oversize_survey_import_is_a_field_error(api_client, settings):
    settings.IMPORT_MAX_BYTES = 32
    wave = ensure_survey_setup()
    api_client.force_authenticate(user_for_role(Role.ADMIN))
    upload = SimpleUploadedFile("wave.csv", CSV)
    response = api_client.post("/api/survey-responses/import/", {"wave": wave.code, "file": upload})
    assert response.status_code == 400 and "MB" in response.json()["file"][0]
    assert not Response.objects.exists()


# --- grid imports (admin) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"), [("grids.geojson", PNG), ("grids.geojson", _xlsx()), ("grids.exe", b'{"type": 1}')]
)
def test_a_grid_import_whose_bytes_are_not_geojson_text_is_refused(client, media, name, content):
    client.force_login(user_for_role(Role.ADMIN))
    response = client.post("/admin/grids/gridimport/add/", {"source": SimpleUploadedFile(name, content)})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["source"]
    assert not GridImport.objects.exists() and not _stored_files(media)


def test_an_oversize_grid_import_is_refused(client, media, settings):
    settings.IMPORT_MAX_BYTES = 8
    client.force_login(user_for_role(Role.ADMIN))
    upload = SimpleUploadedFile("grids.geojson", b'{"type": "FeatureCollection", "features": []}')
    response = client.post("/admin/grids/gridimport/add/", {"source": upload})
    assert response.status_code == 200 and "MB" in str(response.context["adminform"].form.errors)
    assert not GridImport.objects.exists()


# --- gunicorn ------------------------------------------------------------------------------------------


def test_gunicorn_caps_request_lines_and_headers():
    from pathlib import Path

    namespace: dict = {}
    exec((Path(__file__).resolve().parents[2] / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102
    assert 0 < namespace["limit_request_line"] <= 8190
    assert 0 < namespace["limit_request_fields"] <= 100
    assert 0 < namespace["limit_request_field_size"] <= 8190
