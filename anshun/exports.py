"""Spreadsheet exports shared by every table in the platform, streamed end to end.

Every list page offers the rows it shows, with its filters applied, as XLSX (for officials, who
open them in WPS or Excel) and CSV (for other systems). Nothing is built whole before it is sent:

- **Rows are read in batches** (``KeysetSource``): each batch is one ``LIMIT`` query that continues
  after the last row of the previous one on the queryset's own order (for instance
  ``(reported_at, id)``, which the ``incidents_live_reported`` index serves in order), so
  PostgreSQL never sorts or materialises the whole result, and a batch costs the same at row
  1,000,000 as at row 1. Per-batch work (decrypting a person's fields, a case's deadlines) is done
  for that batch only, so memory stays flat in the row count.
- **Bytes are sent as they are made.** An XLSX file is a zip: the worksheet entry is written
  first, through openpyxl's write-only worksheet writer, into a zip stream whose compressed
  output is handed to the response after every batch (zip entries with data descriptors, the
  standard library's way of writing a zip to a stream that cannot seek); the small workbook
  parts (styles, workbook, content types) follow the rows. CSV is written line by line.
- **Past ``EXPORT_INLINE_MAX_ROWS`` rows** the page does not answer with the file: it starts an
  export job (``anshun.export_jobs``) and sends the official to its progress page, from which the
  finished file is downloaded by its requester only.

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
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from itertools import islice
from operator import or_
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, Q, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.query import ModelIterable, ValuesListIterable
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.writer.excel import ExcelWriter

from anshun.policy import authorize_export

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
FORMATS = ("xlsx", "csv")
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


def batch_size() -> int:
    return getattr(settings, "EXPORT_BATCH_SIZE", 2000)


def inline_max_rows() -> int:
    return getattr(settings, "EXPORT_INLINE_MAX_ROWS", 20_000)


# ---- where rows come from ---------------------------------------------------------------------


class RowSource:
    """The rows of one export, read batch by batch (each batch a list of cell lists)."""

    def batches(self) -> Iterator[list[Sequence]]:
        raise NotImplementedError

    def count(self, *, limit: int | None = None) -> int | None:
        """How many rows (at most ``limit``, when given); ``None`` when it cannot be known cheaply."""
        return None


class RowsSource(RowSource):
    """Rows already at hand (a small table: a dashboard's figures, a month's duty roster)."""

    def __init__(self, rows: Iterable[Sequence], *, size: int | None = None):
        self.rows = rows
        self.size = size

    def batches(self) -> Iterator[list[Sequence]]:
        rows = iter(self.rows)
        while batch := list(islice(rows, batch_size())):
            yield batch

    def count(self, *, limit: int | None = None) -> int | None:
        if self.size is None and isinstance(self.rows, list | tuple):
            return len(self.rows)
        return self.size


class BatchSource(RowSource):
    """Rows produced by the caller's own batching (``batches``) with the caller's count."""

    def __init__(self, batches: Callable[[], Iterator[list[Sequence]]], count: Callable[[], int]):
        self._batches = batches
        self._count = count

    def batches(self) -> Iterator[list[Sequence]]:
        return self._batches()

    def count(self, *, limit: int | None = None) -> int | None:
        return self._count()


@dataclass(frozen=True)
class _KeyPart:
    name: str
    attname: str
    descending: bool


class KeysetSource(RowSource):
    """A queryset read in batches, each continuing after the previous batch's last row.

    The key is the queryset's own ordering, made total by the primary key (``-reported_at, -id``;
    ``-enrolled_on, -id``; ``due_on, id``). Each batch is ``WHERE (key) < (the last row's key)
    ORDER BY key LIMIT n``: with an index on the key the plan is an index scan that starts at the
    last row and stops after n (shown by tests/test_exports_streaming.py). An ordering that cannot
    be a key (a nullable or related field, an expression) falls back to the primary key alone.

    ``size`` caps the rows read (the access trail's export stops at 50,000, as it always has).
    ``prepare(batch) -> batch`` runs once per batch (attach deadlines, load the changes of an
    audit page); ``row(item) -> cells`` makes one row. Nothing is kept from one batch to the next.
    """

    def __init__(
        self,
        queryset: QuerySet,
        *,
        row: Callable[[Any], Sequence] | None = None,
        prepare: Callable[[list], list] | None = None,
        size: int | None = None,
    ):
        if queryset._iterable_class not in (ModelIterable, ValuesListIterable):
            raise TypeError("KeysetSource reads model instances or values_list() tuples.")
        self.queryset = queryset
        self.row = row
        self.prepare = prepare
        self.size = size
        # Key columns sorted and compared on aliases equal to them (ScopedQuerySet.keyset_on).
        self.via: dict[str, str] = dict(getattr(queryset, "keyset_via", None) or {})
        self.key = self._key(queryset)

    @staticmethod
    def _key(queryset: QuerySet) -> tuple[_KeyPart, ...]:
        model = queryset.model
        meta = model._meta
        ordering = list(queryset.query.order_by or (meta.ordering if queryset.query.default_ordering else []))
        columns_of = {
            alias: column for column, alias in (getattr(queryset, "keyset_via", None) or {}).items()
        }
        parts: list[_KeyPart] = []
        for item in ordering:
            if not isinstance(item, str) or item == "?":
                parts = []
                break
            descending = item.startswith("-")
            name = item.lstrip("-+")
            name = columns_of.get(name, name)
            try:
                field = meta.pk if name == "pk" else meta.get_field(name)
            except FieldDoesNotExist:
                parts = []
                break
            if not getattr(field, "concrete", False) or field.is_relation or field.null:
                break  # what comes before is still an order; the primary key completes it
            parts.append(_KeyPart(field.name, field.attname, descending))
            if field.primary_key:
                return tuple(parts)
        descending = parts[-1].descending if parts else False
        parts.append(_KeyPart(meta.pk.name, meta.pk.attname, descending))
        return tuple(parts)

    def ordered(self) -> QuerySet:
        return self.queryset.order_by(*[("-" if k.descending else "") + k.name for k in self.key])

    def after(self, values: Sequence):
        """The rows that come after ``values`` on the key: a row comparison,
        ``(k1, k2) < (v1, v2)``, which PostgreSQL serves as one index condition on a composite
        index in the key's order; keys of mixed directions are spelled out instead."""
        directions = {part.descending for part in self.key}
        if len(directions) == 1:
            lookup = TupleLessThan if self.key[0].descending else TupleGreaterThan
            return lookup(Tuple(*[F(self._column(part)) for part in self.key]), list(values))
        alternatives = []
        for i, part in enumerate(self.key):
            equal = {self._column(k): v for k, v in zip(self.key[:i], values[:i], strict=True)}
            equal[f"{self._column(part)}__{'lt' if part.descending else 'gt'}"] = values[i]
            alternatives.append(Q(**equal))
        first = self.key[0]
        leading = Q(**{f"{self._column(first)}__{'lte' if first.descending else 'gte'}": values[0]})
        return leading & reduce(or_, alternatives)

    def _column(self, part: _KeyPart) -> str:
        """Where the key part is compared: its ``keyset_on`` alias, else the column."""
        return self.via.get(part.attname, self.via.get(part.name, part.name))

    def batch_queryset(self, last: Sequence | None, limit: int) -> QuerySet:
        queryset = self.ordered()
        if last is not None:
            queryset = queryset.filter(self.after(last))
        if queryset._iterable_class is ValuesListIterable:
            fields = list(queryset._fields)
            aliases = [f"export_key_{i}" for i in range(len(self.key))]
            queryset = queryset.annotate(
                **{alias: F(part.attname) for alias, part in zip(aliases, self.key, strict=True)}
            ).values_list(*fields, *aliases)
        return queryset[:limit]

    def items(self) -> Iterator[list]:
        """Batches of the queryset's items (instances or tuples), before ``prepare`` and ``row``."""
        size = batch_size()
        last = None
        width = len(self.key)
        left = self.size
        while True:
            limit = size if left is None else min(size, left)
            if limit <= 0:
                return
            fetched = list(self.batch_queryset(last, limit))
            if not fetched:
                return
            if left is not None:
                left -= len(fetched)
            if self.queryset._iterable_class is ValuesListIterable:
                last = fetched[-1][-width:]
                fetched = [item[:-width] for item in fetched]
            else:
                last = [getattr(fetched[-1], part.attname) for part in self.key]
            yield fetched
            if len(fetched) < limit:
                return

    def batches(self) -> Iterator[list[Sequence]]:
        for items in self.items():
            if self.prepare is not None:
                items = self.prepare(items)
            yield [self.row(item) for item in items] if self.row is not None else items

    def count(self, *, limit: int | None = None) -> int | None:
        queryset = self.queryset.order_by()
        if limit is not None:
            queryset = queryset[:limit]
        total = queryset.count()
        return min(total, self.size) if self.size is not None else total


# ---- how bytes are made ------------------------------------------------------------------------


class _Sink(io.RawIOBase):
    """Where the zip writer's output collects until the response takes it (cannot seek, so the
    zip entries carry data descriptors instead of sizes patched in afterwards)."""

    def __init__(self):
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class _StreamedExcelWriter(ExcelWriter):
    """openpyxl's workbook writer, for a worksheet whose entry was already streamed into the zip."""

    def write_worksheet(self, ws):
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        ws._rels = ws._writer._rels
        self.manifest.append(ws)


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


def xlsx_chunks(
    *,
    headers: Sequence,
    source: RowSource,
    sheet_title: str = "data",
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The XLSX file as it is made: a chunk after every batch of rows, then the closing parts."""
    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=safe_text(sheet_title)[:31] or "data")
    sheet._id = 1
    entry = archive.open(sheet.path[1:], "w")
    sheet._writer = WorksheetWriter(sheet, out=entry)
    sheet._writer.write_top()
    sheet.append(_xlsx_row(sheet, headers))
    yield sink.take()
    done = 0
    for batch in source.batches():
        for row in batch:
            sheet.append(_xlsx_row(sheet, row))
        done += len(batch)
        if progress is not None:
            progress(done)
        chunk = sink.take()
        if chunk:
            yield chunk
    sheet.close()
    entry.close()
    _StreamedExcelWriter(workbook, archive).write_data()
    archive.close()
    yield sink.take()


class _Echo:
    def write(self, value):
        return value


def csv_chunks(
    *, headers: Sequence, source: RowSource, progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """CSV, UTF-8 with a BOM (so that Excel reads the Chinese text as UTF-8), a chunk per batch."""
    writer = csv.writer(_Echo())
    yield ("\ufeff" + writer.writerow([safe_cell(v) for v in headers])).encode()
    done = 0
    for batch in source.batches():
        yield "".join(writer.writerow([safe_cell(v) for v in row]) for row in batch).encode()
        done += len(batch)
        if progress is not None:
            progress(done)


def chunks(export_format: str, **kwargs) -> Iterator[bytes]:
    return csv_chunks(**kwargs) if export_format == "csv" else xlsx_chunks(**kwargs)


# ---- responses ----------------------------------------------------------------------------------


class ExportResponse(StreamingHttpResponse):
    """A streamed export. ``content`` joins the stream for in-process readers (tests, the shell)."""

    @property
    def content(self) -> bytes:
        return b"".join(self.streaming_content)


def _in_language(language: str | None, produce: Iterator[bytes]) -> Iterator[bytes]:
    """The rows are made after the view has returned, outside the request's language: keep it."""
    with translation.override(language):
        yield from produce


def stream_response(*, export_format: str, filename: str, headers: Sequence, source: RowSource):
    response = ExportResponse(
        _in_language(translation.get_language(), chunks(export_format, headers=headers, source=source)),
        content_type=CSV_TYPE if export_format == "csv" else XLSX_TYPE,
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.{export_format}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def table_response(*, export_format: str, filename: str, headers: Sequence[str], rows: Iterable[Sequence]):
    """Rows at hand as a streamed file (``export_format`` "xlsx" or "csv")."""
    return stream_response(
        export_format="csv" if export_format == "csv" else "xlsx",
        filename=filename,
        headers=headers,
        source=rows if isinstance(rows, RowSource) else RowsSource(rows),
    )


# Retained for callers that build one format directly.
def xlsx_response(*, filename: str, headers: Sequence[str], rows: Iterable[Sequence]):
    return table_response(export_format="xlsx", filename=filename, headers=headers, rows=rows)


def csv_response(*, filename: str, headers: Sequence[str], rows: Iterable[Sequence]):
    return table_response(export_format="csv", filename=filename, headers=headers, rows=rows)


@dataclass
class PreparedExport:
    """What a door hands over: the file's name, its headers and where its rows come from.

    ``before_send(rows)`` runs once the number of rows is known and before the first row is read
    (the special-population exports write their access record there)."""

    export_format: str
    filename: str
    headers: list
    source: RowSource
    capability: str
    before_send: Callable[[int], Any] | None = None
    sheet_title: str = "data"


def has_nul(querydict) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in querydict.lists())


def export_response(
    request,
    *,
    capability: str,
    filename: str,
    headers: Sequence,
    source: RowSource,
    before_send: Callable[[int], Any] | None = None,
):
    """The one way a page answers ``?export=xlsx|csv``.

    ``capability`` is the one the page reads with; its export rule
    (``anshun.policy.authorize_export``) is asked first, for a file of any size. Up to
    ``EXPORT_INLINE_MAX_ROWS`` rows the file is streamed now; past it, an export job is
    started and the answer is a redirect to its progress page. Inside a job's run (the worker
    replays the page for its requester) the prepared export itself is returned.
    """
    export_format = request.GET.get("export")
    if export_format not in FORMATS:
        return HttpResponseBadRequest(_("Unknown export format."))
    prepared = PreparedExport(
        export_format=export_format,
        filename=filename,
        headers=[str(h) if isinstance(h, Promise) else h for h in headers],
        source=source,
        capability=capability,
        before_send=before_send,
    )
    authorize_export(actor=request.user, capability=capability)  # inline or job: one rule
    if getattr(request, "export_job", None) is not None:
        return prepared
    if has_nul(request.GET):
        return HttpResponseBadRequest(_("The filters contain a character that is not allowed."))
    threshold = inline_max_rows()
    total = source.count(limit=threshold + 1)
    if total is not None and total > threshold:
        from anshun.export_jobs import start_export

        return start_export(request=request, prepared=prepared)
    if before_send is not None:
        before_send(total if total is not None else source.count())
    return stream_response(export_format=export_format, filename=filename, headers=headers, source=source)
