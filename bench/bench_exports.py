"""The incident export as XLSX at 100,000 rows: time, peak memory, memory at twice the rows and
the time to the first byte.

Both sides write the same 12 columns of the same rows in the same order to an openpyxl write-only
workbook, every cell through ``safe_cell``:
- platform: the incident list page's export door (a streamed response, rows read in keyset
  batches, the zip sent as it is made), consumed chunk by chunk;
- baseline: one ``COPY (the page's own SELECT) TO STDOUT`` parsed line by line into an openpyxl
  write-only sheet saved to memory (no batching, no streaming, the file whole at the end).
Memory is Python's peak (tracemalloc) over one run of each; rows are 5 years of reports. With
``BENCH_SCALE=full`` the platform side also exports 1,000,000 rows: first byte, whole time and peak
memory against its own at 200,000.
Everything written is rolled back.
"""

from __future__ import annotations

import csv
import io
import time
import tracemalloc
import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import FloatField, Func
from django.test import RequestFactory, override_settings
from openpyxl import Workbook

from accounts.roles import Role
from anshun.exports import _xlsx_row
from bench.harness import compare
from bench.volume import volume_scale
from incidents.categories import seed_categories
from incidents.models import IncidentCategory
from incidents.views import IncidentListView

ROWS = 100_000
LARGE_ROWS = 1_000_000  # with BENCH_SCALE=full
FIVE_YEARS = 5 * 365 * 86400


class Rollback(Exception):
    pass


@dataclass(frozen=True)
class Figure:
    name: str
    text: str

    def line(self) -> str:
        return f"{self.name:<58} {self.text}"


def _fill(admin, n: int) -> None:
    """n incidents over every grid, spread over five years (the data, not the subject)."""
    category = IncidentCategory.objects.get(code="exposed-rubbish")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH g AS (SELECT id, office_id, ST_PointOnSurface(geometry) AS p,
                              row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS total
                       FROM grids_grid)
            INSERT INTO incidents_incident (client_uuid, category_id, description, location, address,
                grid_id, status, priority, source, reporter_id, reported_at, updated_at, due_at, version,
                escalation_level, request_digest)
            SELECT gen_random_uuid(), %s, '群众反映：路口垃圾堆放 ' || s, g.p, '', g.id,
                   (ARRAY['reported','registered','dispatched','handling','handled','closed'])[1 + s %% 6],
                   'normal', 'sync_client', %s,
                   now() - ((s::bigint * %s / %s) || ' seconds')::interval, now(),
                   now() + ((s %% 100 - 50) || ' hours')::interval, 1, 0, ''
            FROM generate_series(0, %s - 1) AS s JOIN g ON g.k = s %% g.total
            """,
            [category.pk, admin.pk, FIVE_YEARS, n, n],
        )
        cursor.execute(
            "INSERT INTO incidents_incident_offices (incident_id, gridoffice_id) "
            "SELECT i.id, g.office_id FROM incidents_incident i JOIN grids_grid g ON g.id = i.grid_id "
            "WHERE NOT EXISTS (SELECT 1 FROM incidents_incident_offices o WHERE o.incident_id = i.id)"
        )
        cursor.execute("ANALYZE incidents_incident; ANALYZE incidents_incident_offices")


def _platform(admin):
    """The page's export; returns (seconds to the first chunk holding rows, bytes)."""
    request = RequestFactory().get("/incidents/", {"export": "xlsx"})
    request.user = admin
    start = time.perf_counter()
    response = IncidentListView.as_view()(request)
    first_rows = None
    size = 0
    for n, chunk in enumerate(response.streaming_content):
        if n >= 1 and chunk and first_rows is None:
            first_rows = time.perf_counter() - start
        size += len(chunk)
    return first_rows, size


def _baseline(admin):
    """The same SELECT through COPY, into an openpyxl write-only workbook saved whole."""
    from incidents.models import Incident
    from incidents.views import EXPORT_HEADERS

    status_labels = {value: str(label) for value, label in Incident.Status.choices}
    priority_labels = {value: str(label) for value, label in Incident.Priority.choices}
    request = RequestFactory().get("/incidents/")
    request.user = admin
    view = IncidentListView()
    view.setup(request)
    view.filterset = None
    queryset = (
        view.get_queryset()
        .annotate(
            lon=Func("location", function="ST_X", output_field=FloatField()),
            lat=Func("location", function="ST_Y", output_field=FloatField()),
        )
        .values_list(
            "pk",
            "status",
            "category__name",
            "priority",
            "description",
            "grid__code",
            "handling_office__name",
            "handling_department__name",
            "reported_at",
            "due_at",
            "closed_at",
            "lon",
            "lat",
        )  # fmt: skip
        .order_by("-reported_at", "-id")
    )
    sql, params = queryset.query.sql_with_params()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append(_xlsx_row(sheet, [str(h) for h in EXPORT_HEADERS]))

    class Rows(io.RawIOBase):
        def __init__(self):
            self.tail = ""

        def writable(self):
            return True

        def write(self, data):
            text = self.tail + bytes(data).decode("utf-8")
            lines = text.split("\n")
            self.tail = lines.pop()
            for values in csv.reader(lines):
                values[1] = status_labels.get(values[1], values[1])
                values[3] = priority_labels.get(values[3], values[3])
                values[6] = values.pop(7) or values[6]  # the 主办 unit: a department, else the office
                sheet.append(_xlsx_row(sheet, values))
            return len(data)

    with connection.cursor() as cursor:
        copy = cursor.cursor.mogrify(sql, params).decode()
        cursor.cursor.copy_expert(f"COPY ({copy}) TO STDOUT WITH (FORMAT csv)", Rows())
    out = io.BytesIO()
    workbook.save(out)
    return out.tell()


def _peak(work) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def run():
    from tests.factories import user_for_role

    seed_categories()
    results = []

    def work():
        admin = user_for_role(Role.ADMIN, username=f"bench-exports-{uuid.uuid4().hex[:8]}")
        _fill(admin, ROWS)
        with override_settings(EXPORT_INLINE_MAX_ROWS=10 * ROWS):
            results.append(
                compare(
                    f"XLSX export, {ROWS:,} incidents (streamed door vs COPY into openpyxl)",
                    lambda: _platform(admin),
                    lambda: _baseline(admin),
                    repeat=3,
                    target=1.5,
                )
            )
            first_100k, _size = _platform(admin)
            memory_100k = _peak(lambda: _platform(admin))
            baseline_100k = _peak(lambda: _baseline(admin))
            _fill(admin, ROWS)  # twice the rows
            first_200k, _size = _platform(admin)
            memory_200k = _peak(lambda: _platform(admin))
            baseline_200k = _peak(lambda: _baseline(admin))
        if volume_scale()[0] == "full":
            # Five years of a city: 1,000,000 rows through the same door (platform side only; the
            # figures are its memory against its own at 200,000 and its time to the first byte).
            _fill(admin, LARGE_ROWS - 2 * ROWS)
            with override_settings(EXPORT_INLINE_MAX_ROWS=2 * LARGE_ROWS):
                started = time.perf_counter()
                first_large, size_large = _platform(admin)
                whole_large = time.perf_counter() - started
                memory_large = _peak(lambda: _platform(admin))
            results.append(
                Figure(
                    f"XLSX export, {LARGE_ROWS:,} rows (platform)",
                    f"first byte {first_large * 1000:,.0f} ms"
                    + ("  ok" if first_large < 2 else "  ABOVE 2 s")
                    + f"; whole file {whole_large:,.0f} s, {size_large / 1e6:,.0f} MB; "
                    f"peak memory {memory_large:.1f} MB vs {memory_200k:.1f} MB at {2 * ROWS:,} rows "
                    f"(×{memory_large / memory_200k:.2f}"
                    + (", flat)" if memory_large <= 1.2 * memory_200k else ", NOT FLAT)"),
                )
            )
        results.append(
            Figure(
                "XLSX export, peak Python memory (platform / baseline)",
                f"{ROWS:,} rows {memory_100k:6.1f} / {baseline_100k:6.1f} MB; "
                f"{2 * ROWS:,} rows {memory_200k:6.1f} / {baseline_200k:6.1f} MB; "
                f"platform growth ×{memory_200k / memory_100k:.2f}"
                + ("  ok" if memory_200k <= 1.2 * memory_100k else "  NOT FLAT"),
            )
        )
        results.append(
            Figure(
                "XLSX export, first chunk with rows (time to first byte)",
                f"{ROWS:,} rows {first_100k * 1000:7.1f} ms; {2 * ROWS:,} rows {first_200k * 1000:7.1f} ms"
                + ("  ok" if first_200k < 2 else "  ABOVE 2 s"),
            )
        )
        raise Rollback

    try:
        with transaction.atomic():
            work()
    except Rollback:
        pass
    return results
