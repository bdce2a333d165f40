"""Spreadsheet exports shared by every table in the platform.

Every list page offers the rows it shows, with its filters applied, as XLSX
(for officials, who open them in WPS or Excel) and CSV (for other systems).
Rows are streamed from an iterator, so a large export does not build the
whole table in memory first.

Every cell passes through ``safe_cell`` on its way out: a spreadsheet treats text that
starts with ``= + - @`` (or a tab or carriage return) as a formula, so a description
such as ``=HYPERLINK(...)`` typed by anyone would run on the official's machine. Such text
gets a leading apostrophe and stays text; control characters are dropped, so a stored
one can never make the XLSX writer fail.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What makes Excel, WPS or LibreOffice read a cell as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# C0 controls but tab and newline, DEL and the C1 controls, lone surrogates and the non-characters
# U+FFFE/U+FFFF: XLSX (XML 1.0) cannot hold most of them, and no UTF-8 file a surrogate.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def safe_text(text: str) -> str:
    """Text as a spreadsheet will show it and never run it: control characters removed,
    a formula-like start neutralised with a leading apostrophe."""
    text = CONTROL_CHARACTERS.sub("", text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_cell(value):
    """The one gate every exported cell (headers included) passes through."""
    if isinstance(value, datetime):
        # Excel has no time zones: show local (Asia/Shanghai) time, as on screen.
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, str | Promise):
        return safe_text(str(value))
    return value


def _xlsx_row(sheet, values: Iterable) -> list:
    """Text goes in as string cells, fixed as such: openpyxl would otherwise make a formula of
    any text that starts with "=" (safe_cell already guarantees none does)."""
    row = []
    for value in values:
        value = safe_cell(value)
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"
            value = cell
        row.append(value)
    return row


def xlsx_response(
    *, filename: str, headers: Sequence[str], rows: Iterable[Sequence], sheet_title: str = "data"
) -> HttpResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    sheet.append(_xlsx_row(sheet, headers))
    for row in rows:
        sheet.append(_xlsx_row(sheet, row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


class _Echo:
    def write(self, value):
        return value


def csv_response(*, filename: str, headers: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # BOM, so that Excel reads the Chinese text as UTF-8
        yield writer.writerow([safe_cell(v) for v in headers])
        for row in rows:
            yield writer.writerow([safe_cell(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def table_response(*, export_format: str, filename: str, headers: Sequence[str], rows: Iterable[Sequence]):
    """``export_format`` is "xlsx" or "csv" (from the ``?export=`` query parameter)."""
    if export_format == "csv":
        return csv_response(filename=filename, headers=headers, rows=rows)
    return xlsx_response(filename=filename, headers=headers, rows=rows)
