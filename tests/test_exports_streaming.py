"""Exports stream end to end: rows are read in keyset batches whose plan is an index scan (no
sort, nothing materialised), the first bytes leave before the rows are all read, each batch costs
the same number of queries, the XLSX opens and holds every row, CSV streams too, and a NUL byte in
a filter is a 400 at every door."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from accounts.roles import Role, SpecialProject
from anshun.exports import KeysetSource, RowsSource, xlsx_chunks
from grids.models import Region
from incidents import selectors as incident_selectors
from incidents.models import Incident, IncidentCategory
from tests.factories import user_for_role
from tests.special_groups.helpers import enroll, person

pytestmark = pytest.mark.django_db

BATCH_SELECT = re.compile(r'FROM "incidents_incident".*ORDER BY .*LIMIT (\d+)', re.S)


def fill_incidents(n: int, *, county: str = "520402", reporter=None) -> None:
    """``n`` incidents over the county's grids, one minute apart, written by SQL (the data is
    not the subject), then analysed, as every bulk loader does."""
    from incidents.categories import seed_categories

    seed_categories()
    category = IncidentCategory.objects.get(code="exposed-rubbish")
    reporter = reporter or user_for_role(Role.ADMIN)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH g AS (SELECT id, office_id, ST_PointOnSurface(geometry) AS p,
                              row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS total
                       FROM grids_grid WHERE code LIKE %s)
            INSERT INTO incidents_incident (client_uuid, category_id, description, location, address,
                grid_id, status, priority, source, reporter_id, reported_at, updated_at, due_at, version,
                escalation_level, request_digest)
            SELECT gen_random_uuid(), %s,
                   CASE WHEN s %% 1000 = 0 THEN '=HYPERLINK("http://evil.example")' ELSE 'row ' || s END,
                   g.p, '', g.id, 'reported', 'normal', 'sync_client', %s,
                   now() - (s || ' minutes')::interval, now(), now() + interval '3 days', 1, 0, ''
            FROM generate_series(0, %s - 1) AS s JOIN g ON g.k = s %% g.total
            """,
            [county + "%", category.pk, reporter.pk, n],
        )
        cursor.execute(
            "INSERT INTO incidents_incident_offices (incident_id, gridoffice_id) "
            "SELECT i.id, g.office_id FROM incidents_incident i JOIN grids_grid g ON g.id = i.grid_id "
            "WHERE NOT EXISTS (SELECT 1 FROM incidents_incident_offices o WHERE o.incident_id = i.id)"
        )
        # The tree loaded for the session may not have been analysed yet: the plans depend on it.
        cursor.execute(
            "ANALYZE incidents_incident; ANALYZE incidents_incident_offices; ANALYZE grids_grid; "
            "ANALYZE grids_region"
        )


def _export_source(actor) -> KeysetSource:
    """The incident export's own source, as the list page builds it."""
    queryset = (
        incident_selectors.incidents_visible_to(actor=actor)
        .values_list("pk", "description", "reported_at")
        .order_by("-reported_at", "-id")
    )
    return KeysetSource(queryset)


FULL_SORT = re.compile(r"(?<!Incremental )Sort  \(")
INCIDENT_SCAN = re.compile(
    r"Index Scan Backward using (incidents_live_reported|incidents_incident_reported_at\w*)"
    r" on incidents_incident"
    r" .*\(actual time=[\d.]+\.\.[\d.]+ rows=(\d+) loops=1\)"
)


def test_each_batch_is_an_index_scan_that_reads_only_its_rows():
    """EXPLAIN ANALYZE of a batch of 500, first and in the middle, over 30,000 analysed rows across
    the city, for the city and for a county official: incidents are read by walking an index on
    reported_at backwards from the last row sent (its key is the index condition), and the walk
    stops after the batch. No full Sort: nothing is materialised before the first row, and a
    batch at row 15,000 costs what the first one does."""
    fill_incidents(30_000, county="5204")
    middle = list(Incident.objects.order_by("-reported_at", "-id").values_list("reported_at", "id")[15_000])
    for official in (
        user_for_role(Role.CITY_OFFICIAL, region=Region.objects.get(code="5204")),
        user_for_role(Role.COUNTY_OFFICIAL),
    ):
        source = _export_source(official)
        for last in (None, middle):
            plan = source.batch_queryset(last, 500).explain(analyze=True)
            assert plan.lstrip().startswith("Limit"), plan
            assert not FULL_SORT.search(plan), plan
            scan = INCIDENT_SCAN.search(plan)
            assert scan, plan
            # The county holds about a quarter of the rows: the walk reads about 4 x 500 of them.
            assert int(scan.group(2)) <= (600 if official.role == Role.CITY_OFFICIAL else 4_000), plan
            if last is not None:
                assert re.search(r"Index Cond: \((reported_at <=|ROW\(reported_at, id\) <)", plan), plan


def test_the_key_is_the_querysets_own_order_made_total():
    official = user_for_role(Role.COUNTY_OFFICIAL)
    assert [(k.name, k.descending) for k in _export_source(official).key] == [
        ("reported_at", True),
        ("id", True),
    ]
    from special_groups import selectors as sg

    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING)
    key = KeysetSource(sg.tasks_visible_to(actor=officer)).key
    assert [(k.name, k.descending) for k in key] == [("due_on", False), ("id", False)]


def test_keyset_batches_return_every_row_once_in_order(settings):
    settings.EXPORT_BATCH_SIZE = 333
    fill_incidents(2_000)
    # Equal reported_at values across a batch boundary must neither repeat nor lose a row.
    Incident.objects.filter(pk__in=Incident.objects.order_by("id").values("pk")[:700]).update(
        reported_at=Incident.objects.order_by("id").first().reported_at
    )
    official = user_for_role(Role.COUNTY_OFFICIAL)
    source = _export_source(official)
    rows = [row for batch in source.batches() for row in batch]
    expected = list(
        incident_selectors.incidents_visible_to(actor=official)
        .order_by("-reported_at", "-id")
        .values_list("pk", "description", "reported_at")
    )
    assert rows == expected and len(rows) == 2_000


def test_the_first_bytes_leave_before_the_rows_are_read(client, settings):
    """Through the incident list's door: when the first chunk is sent no batch has been read;
    when the first chunk holding rows is sent at most two batches have, of ten."""
    settings.EXPORT_BATCH_SIZE = 500
    fill_incidents(5_000)
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("incidents:list"), {"export": "xlsx"})
        assert response.status_code == 200 and response.streaming

        def batches_read() -> int:
            return sum(1 for q in queries.captured_queries if BATCH_SELECT.search(q["sql"]))

        stream = iter(response.streaming_content)
        first = next(stream)
        assert first.startswith(b"PK\x03\x04")  # a zip's first entry, on its way
        assert batches_read() == 0
        for chunk in stream:
            if chunk:
                break
        assert 1 <= batches_read() <= 2
        rest = b"".join(stream)
        assert batches_read() == 11  # ten full batches and the empty one that ends it
    body = first + chunk + rest
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 5_001
    ids = {row[0] for row in rows[1:]}
    assert len(ids) == 5_000
    formulas = [row[4] for row in rows[1:] if "HYPERLINK" in str(row[4])]
    assert formulas and all(text.startswith("'=") for text in formulas)  # safe_cell still guards


def test_csv_streams_in_batches_and_holds_every_row(client, settings):
    settings.EXPORT_BATCH_SIZE = 400
    fill_incidents(2_000)
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    response = client.get(reverse("incidents:list"), {"export": "csv"})
    assert response.status_code == 200 and response.streaming
    parts = list(response.streaming_content)
    assert len(parts) >= 6  # the header, then a chunk per batch
    rows = list(csv.reader(io.StringIO(b"".join(parts).decode("utf-8").lstrip("\ufeff"))))
    assert len(rows) == 2_001
    assert all(not r[4].startswith("=") for r in rows[1:])


def _caseload_queries(client, officer, export_format="csv") -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("special_groups:caseload"), {"export": export_format})
        assert response.status_code == 200
        b"".join(response.streaming_content)
    return len(queries.captured_queries)


def test_caseload_export_reads_and_decrypts_batch_by_batch_at_a_constant_cost(client, settings):
    """The special-population caseload: one query per batch however many rows (the person and
    place come with it), so twice the rows cost exactly the extra batches; names stay masked and
    the export is logged once with its row count."""
    from special_groups.models import AccessRecord

    settings.EXPORT_BATCH_SIZE = 25
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING)
    client.force_login(officer)
    for n in range(50):
        enroll(SpecialProject.ANNING, who=person(name=f"王小{n:02d}"), risk_grade=1)
    small = _caseload_queries(client, officer)
    for n in range(50, 100):
        enroll(SpecialProject.ANNING, who=person(name=f"王小{n:02d}"), risk_grade=1)
    large = _caseload_queries(client, officer)
    assert large - small == 2  # 50 more rows = two more batches of 25, nothing else
    response = client.get(reverse("special_groups:caseload"), {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    names = [row[1] for row in list(sheet.iter_rows(values_only=True))[1:]]
    assert len(names) == 100 and all(name.startswith("王") and "小" not in name for name in names)
    exports = AccessRecord.objects.filter(actor=officer, action=AccessRecord.Action.EXPORT)
    assert exports.count() == 3 and set(exports.values_list("row_count", flat=True)) == {50, 100}


def test_a_batch_source_yields_a_chunk_per_batch_of_rows(settings):
    settings.EXPORT_BATCH_SIZE = 10
    pulled = []

    def rows():
        for n in range(100):
            pulled.append(n)
            yield [n, f"={n}"]

    produce = xlsx_chunks(headers=["n", "text"], source=RowsSource(rows()))
    first = next(produce)
    assert pulled == []  # the header chunk leaves before any row is asked for
    body = first + b"".join(produce)
    assert len(pulled) == 100
    values = list(load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))
    assert values[0] == ("n", "text") and values[-1] == (99, "'=99") and len(values) == 101


@pytest.mark.parametrize(
    "name, params",
    [
        ("incidents:list", {"status": "\x00"}),
        ("incidents:list", {"q\x00": "1"}),
        ("mediation:caseload", {"status": "open\x00"}),
        ("safety_cells:patrols", {"page": "\x00"}),
        ("audit:changes", {"model": "\x00"}),
    ],
)
def test_a_nul_byte_in_the_filters_is_a_400_not_a_500(client, name, params):
    client.force_login(user_for_role(Role.ADMIN))
    for export_format in ("xlsx", "csv"):
        response = client.get(reverse(name), {**params, "export": export_format})
        assert response.status_code == 400, (name, params, response.status_code)


def test_every_door_streams(client):
    """Every export door answers with a stream (no file built before its first byte)."""
    admin = user_for_role(Role.ADMIN)
    official = user_for_role(Role.CITY_OFFICIAL, region=Region.objects.get(code="5204"))
    auditor = user_for_role(Role.AUDITOR)
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING)
    doors = [
        (admin, "incidents:list", {}),
        (admin, "incidents:queue", {}),
        (admin, "mediation:caseload", {}),
        (admin, "mediation:dashboard", {}),
        (official, "surveys:dashboard", {}),
        (official, "safety_cells:registry", {}),
        (official, "safety_cells:patrols", {}),
        (official, "safety_cells:coverage", {}),
        (official, "safety_cells:coverage", {"table": "grids"}),
        (auditor, "audit:changes", {}),
        (auditor, "special_groups:access-log", {}),
        (officer, "special_groups:caseload", {}),
        (officer, "special_groups:tasks", {}),
    ]
    for user, name, params in doors:
        client.force_login(user)
        for export_format in ("xlsx", "csv"):
            response = client.get(reverse(name), {**params, "export": export_format})
            assert response.status_code == 200 and response.streaming, (name, response.status_code)
            body = b"".join(response.streaming_content)
            if export_format == "xlsx":
                load_workbook(io.BytesIO(body))
