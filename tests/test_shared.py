"""Shared building blocks: spreadsheet exports, dashboard tiles, the menu, local chart assets."""

import io
from datetime import UTC, datetime

import pytest
from django.contrib.staticfiles import finders
from django.test import RequestFactory
from openpyxl import load_workbook

from accounts.roles import Role
from anshun.context_processors import navigation
from anshun.dashboard import Tile, suppress_small
from anshun.exports import table_response
from tests.factories import user_for_role

ROWS = [["塔山社区", 3, datetime(2026, 1, 1, 16, 30, tzinfo=UTC)], ["东关社区", 4, None]]


def test_xlsx_export_holds_the_rows_in_local_time():
    response = table_response(
        export_format="xlsx", filename="grids", headers=["名称", "网格数", "时间"], rows=ROWS
    )
    assert response["Content-Disposition"] == 'attachment; filename="grids.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["名称", "网格数", "时间"]
    assert values[1][:2] == ["塔山社区", 3]
    # 16:30 UTC is 00:30 the next day in Shanghai; Excel cells carry no zone.
    assert values[1][2].isoformat() == "2026-01-02T00:30:00"
    assert values[2] == ["东关社区", 4, None]


def test_csv_export_starts_with_a_bom_for_excel():
    response = table_response(
        export_format="csv", filename="grids", headers=["名称", "网格数", "时间"], rows=ROWS
    )
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff名称,网格数,时间")
    assert "塔山社区,3,2026-01-02 00:30:00" in body


@pytest.mark.parametrize(
    "count, expected",
    [(0, (0, False)), (1, (None, True)), (4, (None, True)), (5, (5, False)), (9006, (9006, False))],
)
def test_small_counts_are_suppressed(count, expected):
    assert suppress_small(count) == expected


def test_tile_display():
    assert Tile("a", "A", 97.2448).display == "97.24"
    assert Tile("b", "B", 9006).display == "9,006"
    assert Tile("c", "C", None, suppressed=True).display == "<5"


@pytest.mark.django_db
def test_menu_shows_only_what_the_role_may_use():
    request = RequestFactory().get("/")
    request.user = user_for_role(Role.CITY_OFFICIAL)
    labels = [str(item["label"]) for item in navigation(request)["nav_items"]]
    assert "地图" in labels or "Map" in labels
    request.user.role = Role.AUDITOR
    request.user.region.level = "city"
    assert all(item["url"] != "/admin/" for item in navigation(request)["nav_items"])


def test_chart_library_is_served_locally():
    assert finders.find("vendor/chartjs/chart.umd.min.js")
