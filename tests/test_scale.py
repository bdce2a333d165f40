"""`make scale`'s loader (scale/grow.py): the rows it writes are rows the platform could have written.

Grown at a two-thousandth of five years over the demo data, inside the test's transaction.
"""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from scale import grow as growing

SCALE = 0.0005


@pytest.fixture(scope="module")
def grown(django_db_setup, django_db_blocker):
    """Grown once for the module, in a transaction rolled back after its last test (each test's
    own transaction nests inside it)."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_anshun", demo=True, verbosity=0)
        first = growing.grow(scale=SCALE, share=0.5)
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(id) FROM incidents_incident")
            boundary = cursor.fetchone()[0]
            cursor.execute("ANALYZE")
        second = growing.grow(scale=SCALE, share=1.0)
        yield first, second, boundary
        transaction.set_rollback(True)


def _one(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def test_every_table_grows_to_its_share_of_five_years_and_no_further(grown, db):
    first, second, _boundary = grown
    for key, full in growing.FULL.items():
        target = round(full * SCALE)
        assert first.rows[key] == round(target * 0.5), key
        assert first.rows[key] + second.rows[key] == target, key
        assert growing._existing(key) == target, key
    again = growing.grow(scale=SCALE, share=1.0)
    assert sum(again.rows.values()) == 0


def test_incidents_lie_in_their_grids_with_a_timeline_to_their_status(grown, db):
    like = growing.MARKER + "%"
    outside, no_office, wrong_events, unplaced = _one(
        """
        SELECT count(*) FILTER (WHERE NOT ST_Intersects(g.geometry, i.location)),
               count(*) FILTER (WHERE NOT EXISTS (
                   SELECT 1 FROM incidents_incident_offices o
                   WHERE o.incident_id = i.id AND o.gridoffice_id = g.office_id)),
               count(*) FILTER (WHERE (
                   SELECT count(*) FROM incidents_incidentevent e WHERE e.incident_id = i.id
               ) <> array_position(ARRAY['reported', 'registered', 'dispatched', 'handling', 'handled',
                                         'verified', 'closed'], i.status::text)),
               count(*) FILTER (WHERE i.sync_seq = 0 OR i.sync_txid = 0)
        FROM incidents_incident i JOIN grids_grid g ON g.id = i.grid_id
        WHERE i.description LIKE %s
        """,
        [like],
    )
    assert (outside, no_office, wrong_events, unplaced) == (0, 0, 0, 0)
    # Each timeline runs forward from the report to the incident's status, closed ones end closed.
    backwards, wrong_end = _one(
        """
        SELECT count(*) FILTER (WHERE e.at < i.reported_at OR e.at > now()),
               count(*) FILTER (WHERE e.to_status = i.status AND i.status = 'closed' AND e.at <> i.closed_at)
        FROM incidents_incidentevent e JOIN incidents_incident i ON i.id = e.incident_id
        WHERE i.description LIKE %s
        """,
        [like],
    )
    assert (backwards, wrong_end) == (0, 0)
    oldest, newest = _one(
        "SELECT min(reported_at), max(reported_at) FROM incidents_incident WHERE description LIKE %s", [like]
    )
    now = timezone.now()
    assert newest <= now and oldest >= now - timedelta(days=5 * 366)


def test_growing_adds_older_history_behind_the_recent_months(grown, db):
    _first, _second, boundary = grown
    like = growing.MARKER + "%"
    (recent_oldest,) = _one(
        "SELECT min(reported_at) FROM incidents_incident WHERE id <= %s AND description LIKE %s",
        [boundary, like],
    )
    (history_newest,) = _one(
        "SELECT max(reported_at) FROM incidents_incident WHERE id > %s AND description LIKE %s",
        [boundary, like],
    )
    # Rows of one day get their hour independently, so the two sets may share a day, no more.
    assert history_newest <= recent_oldest + timedelta(days=1)


def test_special_population_persons_are_encrypted_and_found_by_their_keyed_hash(grown, db):
    from special_groups.crypto import lookup_hash
    from special_groups.models import Enrollment, Person

    hashes = _one("SELECT array_agg(id_number_hash) FROM scale_identity")[0]
    people = Person.objects.filter(id_number_hash__in=hashes)
    assert people.count() == round(growing.FULL["special_persons"] * SCALE)
    raw_name, raw_id = _one(
        "SELECT name, id_number FROM special_groups_person WHERE id = %s", [people.order_by("pk").first().pk]
    )
    assert raw_name.startswith("gAAAA") and raw_id.startswith("gAAAA")  # Fernet tokens at rest
    for person in people.order_by("?")[:50]:
        assert len(person.id_number) == 18
        assert lookup_hash(person.id_number) == person.id_number_hash
        assert person.name and person.phone
        enrollment = Enrollment.objects.get(person=person)
        assert enrollment.project == person.project
    found = Person.objects.filter(id_number_hash=lookup_hash(people.first().id_number))
    assert people.first() in found


def test_the_survey_rollup_counts_every_generated_answer(grown, db):
    from surveys.models import Item, RegionMetric, Response, Wave
    from surveys.services.rollup import run_rollup

    run_rollup(full=True)
    security = Item.objects.get(code="security_sense")
    waves = Wave.objects.filter(code__startswith="scale-")
    assert waves.count() == growing.SURVEY_WAVES
    for wave in waves:
        responses = Response.objects.filter(wave=wave).count()
        if not responses:
            continue
        city = RegionMetric.objects.get(wave=wave, item=security, level="city", month=None)
        assert city.n == responses


def test_mediation_cases_sit_in_their_committees_townships(grown, db):
    like = growing.MARKER + "%"
    misplaced, closed_wrongly = _one(
        """
        SELECT count(*) FILTER (WHERE v.parent_id <> c.region_id),
               count(*) FILTER (WHERE (m.status = 'in_mediation') <> (m.closed_on IS NULL)
                                      OR m.closed_on < m.intake_date)
        FROM mediation_mediationcase m
        JOIN mediation_mediationcommittee c ON c.id = m.committee_id
        JOIN grids_region v ON v.id = m.region_id
        WHERE m.summary LIKE %s
        """,
        [like],
    )
    assert (misplaced, closed_wrongly) == (0, 0)


def test_cameras_and_patrols_are_placed_in_the_tree(grown, db):
    (stray_cameras,) = _one(
        """
        SELECT count(*) FROM safety_cells_camera c JOIN grids_grid g ON g.id = c.grid_id
        WHERE c.code LIKE 'SC%%' AND (g.village_id <> c.village_id
              OR NOT ST_DWithin(g.geometry::geography, c.location, 300))
        """
    )
    assert stray_cameras == 0
    (bad_patrols,) = _one(
        "SELECT count(*) FROM safety_cells_patrollog "
        "WHERE observations LIKE %s AND NOT ended_at > started_at",
        [growing.MARKER + "%"],
    )
    assert bad_patrols == 0


def test_a_clone_names_only_columns_the_model_has():
    from incidents.models import Incident

    with pytest.raises(ValueError, match="no column"):
        growing.clone_sql(Incident, {"no_such_column": "1"}, "FROM incidents_incident t")
    sql = growing.clone_sql(Incident, {"status": "'closed'"}, "FROM incidents_incident t")
    assert "'closed'" in sql and 't."grid_id"' in sql and '"id"' not in sql.split("SELECT")[0]


def test_the_report_judges_growth_by_the_median_and_lists_p95_stalls_apart():
    """A row is met on p95 < 500 ms at full volume and p50 growth ≤ 1.5. A row whose median grew
    fails even with a steady p95; one slow request that moves only the p95 leaves the row met and
    is named under the table; a layer whose answer changed size shows both sizes."""
    from types import SimpleNamespace

    from scale import run, timing

    def result(size, *ms):
        return timing.Result(200, size, [m / 1000 for m in ms])

    steady = [10] * 19
    dashboard, cameras, queue = timing.PAGES[1].label, timing.PAGES[6].label, timing.PAGES[-3].label
    small = {
        "name": "100,000 incidents",
        "results": {
            (dashboard, "city"): result(1000, *steady, 12),
            (cameras, "township"): result(4000, *steady, 12),
            (queue, "dispatcher"): result(1000, *steady, 30),
        },
    }
    big = {
        "name": "3,000,000 incidents",
        "results": {
            (dashboard, "city"): result(1000, *[11] * 18, 90, 95),  # two stalls: p95 only
            (cameras, "township"): result(9000, *[16] * 19, 17),  # the median grew 1.6
            (queue, "dispatcher"): result(1000, *[12] * 18, 600, 600),  # slow at full volume
        },
    }
    for stage in (small, big):
        stage.update(volumes={"incidents": 1}, grow_seconds=0, analyze_seconds=0, precompute={}, load="0")
    text = run.report([small, big], SimpleNamespace(scale=1.0, repeat=20, skip_timing=False))
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| `")}
    assert rows[dashboard].endswith("| yes |")
    assert rows[cameras].endswith("| **no** |") and "| 4 / 9 |" in rows[cameras]
    unmet = next(line for line in text.splitlines() if line.startswith("Rows that missed"))
    assert f"{cameras} (township)" in unmet and f"{queue} (dispatcher)" in unmet
    assert f"{dashboard} (city)" not in unmet
    stalls = next(line for line in text.splitlines() if line.startswith("Met, with a p95 growth"))
    assert f"{dashboard} (city): p95 10 → 90 ms, p50 10 → 11 ms" in stalls
    # Nearest rank: of 20 requests the p95 is the second slowest, of 5 the slowest.
    assert result(0, *range(1, 21)).p95 == 0.019 and result(0, 1, 2, 3, 4, 5).p95 == 0.005
