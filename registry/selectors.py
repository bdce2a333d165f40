"""Reads of the basic registry, always through ``visible_to``.

Personal data leaves here masked (``special_groups.crypto`` masks). The "needs attention" mark on
a resident says only that some special-population record refers to them and is active: it is an
``Exists`` over ``special_groups.Person.registry_person`` read deliberately past the visitor's
sight (they may not see any project), and it carries neither the project nor anything else of
that record, so a grid worker knows to take care without learning why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from grids.models import Grid, Region
from registry.models import House, HouseholdVisit, RegistryImport, Resident, Unit
from special_groups.crypto import lookup_hash, mask_id_number, mask_name, mask_phone, normalise_id_number


def period_start(today: date | None = None) -> date:
    """The visit period is the calendar quarter (grid workers visit every household each quarter)."""
    today = today or timezone.localdate()
    return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)


def needs_attention():
    """True when an active special-population record refers to the resident (nothing more)."""
    from special_groups.models import Enrollment

    return Exists(
        Enrollment.objects.filter(person__registry_person=OuterRef("pk"), status=Enrollment.Status.ACTIVE)
    )


def houses_visible_to(
    *, actor, village_code: str | None = None, grid_code: str | None = None
) -> QuerySet[House]:
    houses = House.objects.visible_to(actor).select_related("address", "grid")
    if village_code:
        houses = houses.filter(village__code=village_code)
    if grid_code:
        houses = houses.filter(grid__code=grid_code)
    return houses.order_by("address__code")


def house_for(*, actor, pk: int) -> House | None:
    return houses_visible_to(actor=actor).select_related("address__village").filter(pk=pk).first()


@dataclass(frozen=True)
class ResidentRow:
    id: int
    kind: str
    name: str
    id_number: str
    phone: str
    needs_attention: bool


def residents_of(*, actor, house: House) -> list[ResidentRow]:
    """The current residents of a house, masked, with the neutral mark."""
    residents = (
        Resident.objects.visible_to(actor)
        .filter(house=house, moved_out_on__isnull=True)
        .annotate(attention=needs_attention())
        .order_by("id")
    )
    return [
        ResidentRow(
            id=r.pk,
            kind=r.get_kind_display(),
            name=mask_name(r.name),
            id_number=mask_id_number(r.id_number),
            phone=mask_phone(r.phone),
            needs_attention=r.attention,
        )
        for r in residents
    ]


def resident_of(*, actor, house: House, pk: int | None) -> Resident | None:
    """One current or former resident of a house the actor sees (for revealing their data)."""
    if pk is None:
        return None
    return Resident.objects.visible_to(actor).filter(pk=pk, house=house).first()


def resident_by_id_number(*, actor, id_number: str) -> QuerySet[Resident]:
    """Residents with this ID number (any spelling: the same NFKC normalisation and keyed hash)."""
    number = normalise_id_number(id_number or "")
    if not number:
        return Resident.objects.visible_to(actor).none()
    return (
        Resident.objects.visible_to(actor)
        .filter(id_number_hash=lookup_hash(number))
        .select_related("address")
    )


def units_visible_to(*, actor, village_code: str | None = None) -> QuerySet[Unit]:
    units = Unit.objects.visible_to(actor).select_related("address")
    if village_code:
        units = units.filter(village__code=village_code)
    return units.order_by("name", "id")


def visit_plan(*, actor, grid_code: str | None = None, today: date | None = None) -> QuerySet[House]:
    """Houses due a visit this period in the actor's grids: never visited or last visited before the
    period began, the longest unvisited first."""
    start = period_start(today)
    houses = House.objects.visible_to(actor).filter(
        Q(last_visited_on__isnull=True) | Q(last_visited_on__lt=start)
    )
    if grid_code:
        houses = houses.filter(grid__code=grid_code)
    return houses.select_related("address", "grid").order_by("last_visited_on", "address__code")


def grids_for_plan(*, actor) -> QuerySet[Grid]:
    return Grid.objects.visible_to(actor).only("id", "code", "name").order_by("code")


def visits_visible_to(*, actor) -> QuerySet[HouseholdVisit]:
    return HouseholdVisit.objects.visible_to(actor).order_by("-visited_on", "-id")


def imports_for(*, actor) -> QuerySet[RegistryImport]:
    return RegistryImport.objects.visible_to(actor).defer("rows").order_by("-created_at", "-id")


# ---- coverage -----------------------------------------------------------------------------------

LEVELS = {
    # level: (the house's key, the model named by it)
    "grid": ("grid_id", Grid),
    "office": ("grid__office_id", "grids.GridOffice"),
    "township": ("village__parent_id", Region),
}


@dataclass(frozen=True)
class CoverageRow:
    key: int | None
    code: str
    name: str
    houses: int
    visited: int

    @property
    def rate(self) -> float:
        return round(100 * self.visited / self.houses, 1) if self.houses else 0.0


def coverage(*, actor, level: str = "township", today: date | None = None) -> list[CoverageRow]:
    """Houses visited in the period / houses, per grid, grid office or township (one grouped scan
    of the actor's houses: each house carries its last visit date, kept by the visit command)."""
    key, model = LEVELS[level]
    if isinstance(model, str):
        from django.apps import apps

        model = apps.get_model(model)
    start = period_start(today)
    # Grouped on one integer key (the names are read after, for the few groups), so the scan
    # hashes an id per house rather than its group's code and name.
    counts = (
        House.objects.visible_to(actor)
        .values(key)
        .annotate(houses=Count("id"), visited=Count("id", filter=Q(last_visited_on__gte=start)))
        .order_by()
    )
    counts = list(counts)
    names = {
        pk: (code, name)
        for pk, code, name in model.objects.filter(pk__in=[r[key] for r in counts if r[key]]).values_list(
            "pk", "code", "name"
        )
    }
    rows = [
        CoverageRow(
            key=r[key], code=names.get(r[key], ("", ""))[0], name=names.get(r[key], ("", ""))[1],
            houses=r["houses"], visited=r["visited"],
        )
        for r in counts
    ]  # fmt: skip
    return sorted(rows, key=lambda row: row.code)


def coverage_points(*, actor, today: date | None = None) -> list[dict]:
    """Coverage per grid office with the office's point, for the map."""
    from grids.models import GridOffice

    rows = {r.key: r for r in coverage(actor=actor, level="office", today=today) if r.key}
    offices = GridOffice.objects.filter(pk__in=list(rows), location__isnull=False).only("id", "location")
    return [
        {"code": rows[o.pk].code, "name": rows[o.pk].name, "lon": round(o.location.x, 5),
         "lat": round(o.location.y, 5), "houses": rows[o.pk].houses, "rate": rows[o.pk].rate}
        for o in offices
    ]  # fmt: skip


def reveals_visible_to(*, actor) -> QuerySet:
    """The purpose-logged reveals of residents' data (``RevealRecord``), newest first: auditors
    only, in their jurisdiction (the model's scope rule)."""
    from registry.models import RevealRecord

    return (
        RevealRecord.objects.visible_to(actor)
        .select_related("actor", "village")
        .defer("village__boundary")
        .order_by("-at", "-id")
    )
