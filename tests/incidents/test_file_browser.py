"""The upload polyglot in a real headless Chromium: a signed-in user who opens it runs no script.

The payload, if it ever ran on the platform's origin, would call ``/xss-beacon`` (which the page
watches for) and set ``localStorage.pwned`` (which a later page on the origin reads). A control
serves the same bytes as HTML on the same origin and must trip both, so the detector works.
"""

import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from rest_framework.test import APIClient

from accounts.roles import Role
from grids.models import GridOffice
from incidents.models import IncidentAttachment
from tests.factories import user_for_role
from tests.incidents.conftest import HOME_OFFICE_PREFIX, point_in
from tests.test_browser import _login as login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = (
    b"<html><body><script>fetch('/xss-beacon?c='+encodeURIComponent(document.cookie));"
    b"localStorage.setItem('pwned','1');document.title='PWNED'</script></body></html>"
)
PDF_POLYGLOT = b"%PDF-1.4\n" + SCRIPT + b"\n%%EOF\n"
WEBP_POLYGLOT = b"RIFF\x24\x00\x00\x00WEBPVP8 " + SCRIPT


def tiny_png() -> bytes:
    """A valid 1x1 PNG, to show that real photos still display on the incident page."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def test_a_signed_in_user_opening_upload_polyglots_runs_no_script(
    incident_tree, live_server, browser, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    office = GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX).order_by("code").first()
    grid = office.grids.order_by("code").first()
    worker = user_for_role(Role.GRID_WORKER, office=office)
    api = APIClient()
    api.force_authenticate(worker)
    point = point_in(grid)
    response = api.post(
        "/api/incidents/",
        {
            "category": "exposed-rubbish",
            "description": "门口堆物",
            "longitude": point.x,
            "latitude": point.y,
            "attachments": [
                SimpleUploadedFile("x.html", PDF_POLYGLOT, content_type="text/html"),
                SimpleUploadedFile("x.js", WEBP_POLYGLOT, content_type="application/javascript"),
                SimpleUploadedFile("photo.png", tiny_png(), content_type="image/png"),
            ],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    incident_id = response.json()["id"]
    pdf, webp, png = IncidentAttachment.objects.filter(incident_id=incident_id).order_by("pk")
    assert (pdf.content_type, webp.content_type, png.content_type) == (
        "application/pdf",
        "image/webp",
        "image/png",
    )

    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    beacons = []
    page.on("request", lambda request: beacons.append(request.url) if "xss-beacon" in request.url else None)
    base = live_server.url

    def pwned() -> bool:
        page.goto(f"{base}/incidents/")
        return page.evaluate("localStorage.getItem('pwned')") == "1"

    # The control: the same bytes as HTML on this origin do run (so the checks below can fail).
    page.route(
        f"{base}/control-polyglot.html",
        lambda route: route.fulfill(status=200, content_type="text/html", body=PDF_POLYGLOT),
    )
    page.goto(f"{base}/control-polyglot.html")
    page.wait_for_function("document.title === 'PWNED'", timeout=10_000)
    assert beacons and pwned()
    page.evaluate("localStorage.clear()")
    page.unroute(f"{base}/control-polyglot.html")
    beacons.clear()

    login(page, live_server, worker)
    # The PDF polyglot named x.html: a download (x.pdf), never a page.
    with page.expect_download() as download_info:
        try:
            page.goto(base + pdf.get_absolute_url())
        except PlaywrightError as error:  # Chromium aborts the navigation when a download starts
            assert "ERR_ABORTED" in str(error) or "Download is starting" in str(error)
    download = download_info.value
    assert download.suggested_filename == "x.pdf"

    # The WebP polyglot named x.js: shown as an image at most, inside a sandbox, no script.
    answer = page.goto(base + webp.get_absolute_url())
    headers = answer.headers
    assert headers["content-type"] == "image/webp" and headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert page.title() != "PWNED"

    # The incident page shows the real photo through the scoped view, and the links run nothing.
    page.goto(f"{base}/incidents/{incident_id}/")
    thumbnail = page.locator(f"img.thumb[src='{png.get_absolute_url()}']")
    assert page.locator("img.thumb").count() == 2  # the WebP and the PNG; the PDF is a link
    # Locator assertions: the page's CSP forbids the eval that wait_for_function needs.
    expect(thumbnail).to_have_js_property("naturalWidth", 1, timeout=10_000)
    page.wait_for_timeout(500)
    assert beacons == [] and not pwned()

    # Signed out, the same URLs give the login page, not the bytes.
    context.clear_cookies()
    answer = page.goto(base + webp.get_absolute_url())
    assert "/accounts/login/" in page.url and b"WEBP" not in answer.body()
    assert beacons == [] and not pwned()
    context.close()
