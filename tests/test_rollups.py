"""The dashboard rollups equal a raw recount, for every role, after any mix of writes.

Writes below go through the ORM's bulk doors (create, queryset update, delete) on purpose:
the triggers queue them whatever door they come through. Each figure is compared with the
selector's raw recount (``raw=True`` or ``incident_metrics``) for several roles and regions.
"""

from __future__ import annotations

import datetime
import io
import itertools

import pytest
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from grids.models import Grid, Region
from incidents import selectors as incident_selectors
from incidents.models import Incident, IncidentCategory
from mediation import seed as mediation_seed
from mediation import selectors as mediation_selectors
from mediation.models import (
    CommitteeMembership,
    JudicialConfirmation,
    MediationAgreement,
    MediationCase,
    MediationCommittee,
)
from mediation.tiles import mediation_figures
from rollups.models import Entry, FoldState, Pending, Tally
from rollups.services import fold
from rollups.tasks import fold_rollups
from safety_cells import selectors as safety_selectors
from safety_cells.demo import ensure_cell_types
from safety_cells.models import Camera, SafetyCell
from tests.factories import user_for_role

XIXIU, DONGGUAN, PUDING = "520402", "520402005", "520422"


def _grids(prefix: str, n: int) -> list[Grid]:
    return list(Grid.objects.filter(village__code__startswith=prefix).order_by("code")[:n])


@pytest.fixture
def places(db):
    mediation_seed.ensure_professional_committees()
    mediation_seed.ensure_township_committees(within=XIXIU)
    other_township = (
        Region.objects.filter(parent__code=XIXIU, level="township")
        .exclude(code=DONGGUAN)
        .order_by("code")
        .first()
    )
    return {
        "dongguan": _grids(DONGGUAN, 3),
        "xixiu": _grids(other_township.code, 2),
        "puding": _grids(PUDING, 2),
        "category": IncidentCategory.objects.order_by("pk").first()
        or IncidentCategory.objects.create(code="t-rubbish", name="垃圾", duty="environment"),
    }


@pytest.fixture
def viewers(db, places):
    mediator = user_for_role(Role.MEDIATOR, region=Region.objects.get(code=XIXIU))
    committee = MediationCommittee.objects.order_by("pk").first()
    CommitteeMembership.objects.create(committee=committee, user=mediator, is_active=True)
    return {
        "city": user_for_role(Role.CITY_OFFICIAL),
        "county": user_for_role(Role.COUNTY_OFFICIAL),
        "township": user_for_role(Role.TOWNSHIP_OFFICIAL),
        "puding": user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code=PUDING)),
        "admin": user_for_role(Role.ADMIN),
        "mediator": mediator,
    }


def _regions(places) -> list[Region | None]:
    village = places["dongguan"][0].village
    return [None, *Region.objects.filter(code__in=["5204", XIXIU, DONGGUAN, PUDING]), village]


NOW = timezone.now()


def _make_incidents(places, count: int) -> None:
    grids = places["dongguan"] + places["xixiu"] + places["puding"]
    statuses = ["reported", "dispatched", "handling", "returned", "handled", "closed", "closed", "verified"]
    rows = []
    for i, (grid, status) in enumerate(zip(itertools.cycle(grids), itertools.cycle(statuses))):
        if i >= count:
            break
        due = None if i % 7 == 0 else NOW + datetime.timedelta(hours=(i % 11) - 6)
        closed = NOW + datetime.timedelta(hours=(i % 5) - 4) if status == "closed" else None
        rows.append(
            Incident(
                category=places["category"],
                description=f"测试事件 {i}",
                grid=grid,
                status=status,
                due_at=due,
                closed_at=closed,
            )
        )
    Incident.objects.bulk_create(rows)


def _make_cases(places, count: int) -> None:
    committees = list(MediationCommittee.objects.order_by("pk")[:3])
    places_ = [g.village for g in places["dongguan"] + places["puding"]] + [Region.objects.get(code=DONGGUAN)]
    statuses = ["in_mediation", "agreement", "agreement", "no_agreement", "withdrawn", "in_mediation"]
    today = timezone.localdate()
    for i in range(count):
        status = statuses[i % len(statuses)]
        case = MediationCase.objects.create(
            committee=committees[i % 3],
            region=places_[i % len(places_)],
            dispute_type="邻里纠纷",
            summary=f"测试纠纷 {i}",
            intake_date=today - datetime.timedelta(days=10 + 7 * (i % 6)),
            status=status,
            closed_on=None if status == "in_mediation" else today - datetime.timedelta(days=i % 9),
        )
        if status == "agreement" and i % 4:
            agreement = MediationAgreement.objects.create(
                case=case,
                terms="赔偿",
                signed_on=case.intake_date + datetime.timedelta(days=i % 13),
                effective_on=case.intake_date + datetime.timedelta(days=i % 13),
            )
            if i % 3 == 0:
                JudicialConfirmation.objects.create(
                    agreement=agreement,
                    court="西秀区人民法院",
                    applied_on=agreement.effective_on + datetime.timedelta(days=2),
                    decision="accepted" if i % 2 else "pending",
                    decided_on=agreement.effective_on + datetime.timedelta(days=3) if i % 2 else None,
                    outcome="confirmed" if i % 2 else "pending",
                )


def _make_safety(places, count: int) -> None:
    types = ensure_cell_types()
    cell_type = next(iter(types.values()))
    today = timezone.localdate()
    villages = [g.village for g in places["dongguan"] + places["puding"]]
    Camera.objects.bulk_create(
        Camera(
            code=f"T-CAM-{Camera.objects.count()}-{i}",
            location=Point(105.9 + i / 1000, 26.25, srid=4326),
            status="online" if i % 3 else "offline",
            phase=4,
            owner="公安",
            village=villages[i % len(villages)],
        )
        for i in range(count)
    )
    for i in range(max(1, count // 3)):
        SafetyCell.objects.create(
            name=f"测试细胞 {SafetyCell.objects.count()}-{i}",
            cell_type=cell_type,
            region=villages[i % len(villages)],
            is_demonstration_site=bool(i % 4),
            designated_on=today - datetime.timedelta(days=30 - 20 * (i % 3)),
            valid_until=None if i % 2 else today + datetime.timedelta(days=(i % 5) - 2),
        )


def _churn(places) -> None:
    """Transitions, soft and hard deletes, moves between grids and counties, in every door's way."""
    incidents = list(Incident.objects.order_by("pk"))
    Incident.objects.filter(pk__in=[i.pk for i in incidents[::5]]).update(status="closed", closed_at=NOW)
    Incident.objects.filter(pk__in=[i.pk for i in incidents[1::6]]).update(grid=places["puding"][0])
    Incident.objects.filter(pk__in=[i.pk for i in incidents[2::9]]).update(deleted_at=NOW)
    Incident.objects.filter(pk__in=[i.pk for i in incidents[3::8]]).delete()
    moved = incidents[4]
    moved.grid = places["xixiu"][1]
    moved.status = "handling"
    moved.save()
    cases = list(MediationCase.objects.order_by("pk"))
    MediationCase.objects.filter(pk__in=[c.pk for c in cases[::4]]).update(region=places["puding"][1].village)
    MediationCase.objects.filter(pk=cases[1].pk).update(status="withdrawn")
    JudicialConfirmation.objects.filter(outcome="pending").update(
        outcome="confirmed", decision="accepted", decided_on=timezone.localdate()
    )
    MediationAgreement.objects.filter(case__in=cases[5:9]).delete()
    Camera.objects.filter(pk__in=Camera.objects.order_by("pk").values("pk")[:3]).update(status="offline")
    Camera.objects.filter(pk__in=Camera.objects.order_by("-pk").values("pk")[:2]).delete()
    SafetyCell.objects.filter(pk__in=SafetyCell.objects.order_by("pk").values("pk")[:2]).update(
        is_demonstration_site=True, valid_until=timezone.localdate() - datetime.timedelta(days=1)
    )


def _assert_rollups_equal_recount(viewers, places) -> None:
    for (name, actor), region in itertools.product(viewers.items(), _regions(places)):
        label = f"{name} in {region.code if region else 'own jurisdiction'}"
        rolled = incident_selectors.incident_metrics_rolled_up(actor=actor, region=region, now=NOW)
        assert rolled == incident_selectors.incident_metrics(actor=actor, region=region, now=NOW), label
        year = timezone.localtime(NOW).year
        months = incident_selectors.monthly_incidents(actor=actor, region=region, year=year)
        assert months == incident_selectors.monthly_incidents(
            actor=actor, region=region, year=year, raw=True
        ), label
        assert mediation_figures(actor=actor, region=region) == mediation_figures(
            actor=actor, region=region, raw=True
        ), label
        rolled = safety_selectors.dashboard_figures(actor=actor, region=region)
        raw = safety_selectors.dashboard_figures(actor=actor, region=region, raw=True)
        assert (rolled["sites"], rolled["cameras"]) == (raw["sites"], raw["cameras"]), label
        assert mediation_selectors.committee_stats(actor=actor) == mediation_selectors.committee_stats(
            actor=actor, raw=True
        ), name


def _tallies() -> set:
    return set(
        Tally.objects.values_list("measure", "region_id", "dim_a", "dim_b", "dim_c", "bucket", "n", "amount")
    )


def test_rollups_equal_the_raw_recount_after_creates_transitions_deletes_and_moves(places, viewers):
    _make_incidents(places, 60)
    _make_cases(places, 30)
    _make_safety(places, 12)
    assert Pending.objects.exists()  # queued by the triggers, in the writers' transaction
    fold()
    assert not Pending.objects.exists()
    _assert_rollups_equal_recount(viewers, places)
    some = incident_selectors.incident_metrics_rolled_up(actor=viewers["county"], region=None, now=NOW)
    assert some["open"] > 0 and some["overdue"] > 0 and some["due"] > some["closed"] > 0
    months = incident_selectors.monthly_incidents(
        actor=viewers["county"], region=None, year=timezone.localtime(NOW).year
    )
    assert sum(m["reported"] for m in months) > sum(m["closed"] for m in months) > 0

    _churn(places)
    fold()
    _assert_rollups_equal_recount(viewers, places)

    # A retried fold (the beat job and an on-demand fold, or a redelivered task) changes nothing.
    before, entries = _tallies(), Entry.objects.count()
    Pending.objects.bulk_create(
        Pending(source="incident", source_id=i) for i in Incident.objects.values_list("pk", flat=True)
    )
    fold()
    fold()
    assert _tallies() == before and Entry.objects.count() == entries
    # The full rebuild counts exactly what the folds counted.
    fold(full=True)
    assert _tallies() == before and Entry.objects.count() == entries


def test_a_fold_that_dies_leaves_its_changes_queued(places, viewers):
    _make_incidents(places, 10)
    queued = Pending.objects.count()
    assert queued
    with pytest.raises(RuntimeError), transaction.atomic():
        fold()
        raise RuntimeError("worker killed before the commit")
    assert Pending.objects.count() == queued and not Tally.objects.filter(measure="incidents").exists()
    assert fold_rollups()["records"] == 10  # the beat job's task, run in the worker's way
    _assert_rollups_equal_recount(viewers, places)
    assert fold_rollups()["records"] == 0  # nothing queued: nothing refolded


def test_the_rebuild_command_recounts_from_the_records(places, viewers):
    _make_incidents(places, 12)
    fold()
    Tally.objects.filter(measure="incidents").update(n=999)  # however the tallies went wrong
    out = io.StringIO()
    call_command("rebuild_rollups", stdout=out)
    assert "records" in out.getvalue()
    _assert_rollups_equal_recount(viewers, places)
    assert FoldState.objects.get().rebuilt_at is not None


def test_figures_of_one_jurisdiction_never_include_another(places, viewers):
    _make_incidents(places, 30)
    fold()
    township = incident_selectors.incident_metrics_rolled_up(actor=viewers["township"], region=None, now=NOW)
    puding = incident_selectors.incident_metrics_rolled_up(actor=viewers["puding"], region=None, now=NOW)
    city = incident_selectors.incident_metrics_rolled_up(actor=viewers["city"], region=None, now=NOW)
    assert township["open"] > 0 and puding["open"] > 0
    assert township["open"] + puding["open"] < city["open"]
    # A township official asking for another county's region gets nothing, not that county.
    other = Region.objects.get(code=PUDING)
    nothing = incident_selectors.incident_metrics_rolled_up(actor=viewers["township"], region=other, now=NOW)
    assert nothing["open"] == 0 and nothing["due"] == 0
    # Asking for the city, he sees only his township.
    assert (
        incident_selectors.incident_metrics_rolled_up(
            actor=viewers["township"], region=Region.objects.get(code="5204"), now=NOW
        )
        == township
    )


def test_the_dashboard_says_how_fresh_its_figures_are(client, places, viewers):
    _make_incidents(places, 5)
    fold()
    folded = FoldState.objects.get().folded_at
    cache.clear()
    client.force_login(viewers["city"])
    page = client.get("/dashboard/")
    tiles = {t.key: t for t in page.context["tiles"]}
    assert tiles["incidents.open"].as_of == folded
    assert tiles["mediation.open_cases"].as_of == folded
    assert 'data-testid="as-of"' in page.content.decode()
    shown = timezone.localtime(folded).strftime("%Y-%m-%d %H:%M")
    for url in ("/dashboard/", "/mediation/committees/"):
        html = client.get(url).content.decode()
        assert 'data-testid="figures-as-of"' in html and shown in html, url
    client.force_login(viewers["admin"])
    html = client.get("/special-groups/dashboard/").content.decode()
    assert 'data-testid="figures-as-of"' in html and shown in html


def test_a_dashboard_opened_with_changes_queued_shows_them(client, places, viewers):
    from anshun.dashboard import collect_tiles

    fold()
    _make_incidents(places, 8)  # not folded yet: the dashboard folds them on opening
    tiles = {t.key: t for t in collect_tiles(actor=viewers["city"], region=Region.objects.get(code="5204"))}
    raw = incident_selectors.incident_metrics(actor=viewers["city"], region=None)
    assert tiles["incidents.open"].value == raw["open"] and not Pending.objects.exists()


def _make_people(count: int) -> None:
    from decimal import Decimal

    from special_groups.models import CaseTask, SubsidyPayment
    from tests.special_groups.helpers import enroll, person, village

    home = village()
    for i in range(count):
        released = timezone.localdate() - datetime.timedelta(days=3 * i)
        enroll("huigui", who=person(region=home), release_date=released, pickup_outcome="picked_up")
        patient = enroll("anning", who=person(region=home), enrolled_on=released)
        CaseTask.objects.create(enrollment=patient, kind="visit", due_on=released)
        SubsidyPayment.objects.create(enrollment=patient, amount=Decimal("100"), paid_on=released)


def _queries(client, url: str) -> int:
    cache.clear()  # a cold dashboard: no cached tile anywhere
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize("url", ["/dashboard/", "/mediation/committees/", "/special-groups/dashboard/"])
def test_a_cold_dashboard_costs_the_same_queries_at_any_data_size(client, places, viewers, url):
    client.force_login(viewers["admin"] if url == "/special-groups/dashboard/" else viewers["city"])
    _make_incidents(places, 20)
    _make_cases(places, 10)
    _make_safety(places, 6)
    _make_people(3)
    fold()
    _queries(client, url)  # the first request of a session settles its own writes
    small = _queries(client, url)
    _make_incidents(places, 400)
    _make_cases(places, 60)
    _make_safety(places, 60)
    _make_people(40)
    fold()
    large = _queries(client, url)
    print(f"\n{url}: {small} queries cold at the small size, {large} at the large size")
    assert large == small, (url, small, large)
    assert small <= 60, (url, small)


def test_passed_due_times_are_merged_and_every_figure_still_equals_the_recount(places, viewers):
    """A region's incident and mediation rows stay as many as the work ahead of its clock: rows
    whose due time passed long ago are merged into one per key, and the figures do not move."""
    from rollups.services import PASSED, PASSED_MARGIN, PASSED_MEASURES

    grids = places["dongguan"] + places["puding"]
    old = [
        Incident(
            category=places["category"],
            description=f"积案 {i}",
            grid=grids[i % len(grids)],
            status=("handling", "dispatched", "verified", "closed")[i % 4],
            due_at=NOW - datetime.timedelta(days=3 + i),
            closed_at=NOW - datetime.timedelta(days=2 + i) if i % 4 == 3 else None,
        )
        for i in range(40)
    ]
    Incident.objects.bulk_create(old)
    _make_incidents(places, 24)  # due around now: these keep their own rows
    _make_cases(places, 12)
    fold()

    def passed_rows() -> int:
        return Tally.objects.filter(
            measure__in=PASSED_MEASURES,
            bucket__gt=PASSED,
            bucket__lt=timezone.now() - PASSED_MARGIN,
        ).count()

    assert passed_rows() == 0
    city = Region.objects.get(code="5204")
    merged = Tally.objects.filter(measure="incidents", region=city, bucket=PASSED)
    # One row per status for the forty old incidents (their closed ones carry no due time).
    assert set(merged.values_list("dim_b", flat=True)) == {"handling", "dispatched", "verified"}
    assert sum(merged.values_list("n", flat=True)) == 30
    _assert_rollups_equal_recount(viewers, places)

    # Closing, moving and deleting merged incidents subtracts from the merged rows.
    Incident.objects.filter(pk__in=[i.pk for i in old[0:12]]).update(status="closed", closed_at=NOW)
    Incident.objects.filter(pk__in=[i.pk for i in old[12:20]]).update(grid=places["xixiu"][0])
    Incident.objects.filter(pk__in=[i.pk for i in old[20:26]]).delete()
    fold()
    assert passed_rows() == 0
    _assert_rollups_equal_recount(viewers, places)
    incremental = _tallies()
    fold(full=True)
    assert _tallies() == incremental
