"""Spreadsheet exports shared by every table in the platform.

Every list page offers the rows it shows, with its filters applied, as XLSX
(for officials, who open them in WPS or Excel) and CSV (for other systems).
Rows are streamed from an iterator, so a large export does not build the
whole table in memory first.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value):
    if isinstance(value, datetime):
        # Excel has no time zones: show local (Asia/Shanghai) time, as on screen.
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    return value


def xlsx_response(
    *, filename: str, headers: Sequence[str], rows: Iterable[Sequence], sheet_title: str = "data"
) -> HttpResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    sheet.append(list(headers))
    for row in rows:
        sheet.append([_cell(v) for v in row])
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
        yield writer.writerow(headers)
        for row in rows:
            yield writer.writerow([_cell(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def table_response(*, export_format: str, filename: str, headers: Sequence[str], rows: Iterable[Sequence]):
    """``export_format`` is "xlsx" or "csv" (from the ``?export=`` query parameter)."""
    if export_format == "csv":
        return csv_response(filename=filename, headers=headers, rows=rows)
    return xlsx_response(filename=filename, headers=headers, rows=rows)
