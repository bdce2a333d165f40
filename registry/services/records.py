"""Writes to the registry: addresses, houses, residents, tenancies, units and revealing.

Each write is a command of ``registry.policy.POLICY`` (capability, target and places referred to
are checked by the wrapper before the body runs); the bodies check the domain only. The helpers
without a decorator (``new_address``, ``new_resident``...) are the bodies shared with the import
and the visit, which are themselves commands (or a system command re-authorising its requester).
"""

from __future__ import annotations

from datetime import date

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import Grid, Region
from incidents.services.reporting import grid_at
from registry.models import Address, AddressSequence, House, Resident, RevealRecord, Tenancy, Unit
from registry.policy import POLICY
from special_groups.crypto import is_valid_id_number, lookup_hash, normalise_id_number
from special_groups.services import require_purpose

LEVEL_ORDER = [Address.Level.ROAD, Address.Level.BUILDING, Address.Level.UNIT, Address.Level.ROOM]
PHONE_DIGITS = 11


# ---- address codes ------------------------------------------------------------------------------


def take_codes(*, village: Region, count: int = 1) -> list[str]:
    """``count`` new codes in ``village``: its 12-digit code and the next local numbers.

    One statement increments the village's counter under its row lock, so two writers never get
    the same number, and a number is never given again (not even after a rollback leaves a gap,
    which is harmless). A code is therefore stable: nothing recomputes it from names or position."""
    AddressSequence.objects.get_or_create(village=village)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registry_addresssequence SET last = last + %s WHERE village_id = %s RETURNING last",
            [count, village.pk],
        )
        last = cursor.fetchone()[0]
    if last > 999_999:
        raise ValidationError({"village": _("This village has used all its address numbers.")})
    return [f"{village.code}{n:06d}" for n in range(last - count + 1, last + 1)]


def place_in_grid(*, location: Point | None, village: Region, field: str = "location") -> Grid | None:
    """The grid containing ``location`` (PostGIS, as incidents are placed); it must lie in ``village``."""
    if location is None:
        return None
    if location.srid not in (None, 4326):
        location.transform(4326)
    location.srid = 4326
    if not (-180 <= location.x <= 180 and -90 <= location.y <= 90):
        raise ValidationError({field: _("Longitude and latitude are out of range.")})
    grid = grid_at(location=location)
    if grid is None:
        raise ValidationError({field: _("No grid covers this point yet.")})
    if grid.village_id != village.pk:
        raise ValidationError({field: _("This point lies in another village's grid.")})
    return grid


def check_level(*, level: str, parent: Address | None, village: Region) -> None:
    if level not in LEVEL_ORDER:
        raise ValidationError({"level": _("Choose road or group, building, unit or room.")})
    if parent is not None:
        if parent.village_id != village.pk:
            raise ValidationError({"parent": _("The parent address is in another village.")})
        if LEVEL_ORDER.index(level) <= LEVEL_ORDER.index(parent.level):
            raise ValidationError({"level": _("An address must be below its parent's level.")})


def full_name_of(*, village: Region, parent: Address | None, name: str) -> str:
    return f"{parent.full_name if parent else village.short_name}{name}"[:300]


def new_address(
    *, village: Region, level: str, name: str, parent: Address | None = None, location: Point | None = None,
    code: str | None = None,
) -> Address:  # fmt: skip
    """Build (unsaved) and check an address; its grid comes from its point, else its parent's."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the address a name.")})
    if village.level != Region.Level.VILLAGE:
        raise ValidationError({"village": _("Choose a village or community.")})
    check_level(level=level, parent=parent, village=village)
    grid = place_in_grid(location=location, village=village)
    if location is None and parent is not None:
        location, grid = parent.location, parent.grid
    address = Address(
        code=code or take_codes(village=village)[0],
        village=village,
        parent=parent,
        level=level,
        name=name[:60],
        full_name=full_name_of(village=village, parent=parent, name=name),
        location=location,
        grid=grid,
    )
    return address


@POLICY.command("address_create")
@transaction.atomic
def address_create(
    *,
    actor,
    village: Region,
    level: str,
    name: str,
    parent: Address | None = None,
    location: Point | None = None,
) -> Address:
    """A standard address below a village (or below a parent address), placed in its grid."""
    address = new_address(village=village, level=level, name=name, parent=parent, location=location)
    address.full_clean()
    address.save()
    return address


@POLICY.command("address_update")
@transaction.atomic
def address_update(
    *, actor, address: Address, name: str | None = None, location: Point | None = None
) -> Address:
    """Rename or re-place an address. Its code stays: codes are identities, not descriptions."""
    address = (
        Address.objects.select_for_update(of=("self",)).select_related("village", "parent").get(pk=address.pk)
    )
    if name is not None:
        name = name.strip()
        if not name:
            raise ValidationError({"name": _("Give the address a name.")})
        address.name = name[:60]
        address.full_name = full_name_of(village=address.village, parent=address.parent, name=name)
    if location is not None:
        address.grid = place_in_grid(location=location, village=address.village)
        address.location = location
        House.objects.filter(address=address).update(grid=address.grid)
        Unit.objects.filter(address=address).update(grid=address.grid)
    address.full_clean()
    address.save()
    return address


# ---- houses and tenancies -----------------------------------------------------------------------


def check_use(use: str) -> str:
    if use not in House.Use.values:
        raise ValidationError({"use": _("Choose owner-occupied, rented, vacant or business.")})
    return use


@POLICY.command("house_register")
@transaction.atomic
def house_register(
    *,
    actor,
    address: Address,
    use: str = House.Use.OWNER_OCCUPIED,
    owner: Resident | None = None,
    owner_name: str = "",
) -> House:
    """An actual house at an address (one house per address)."""
    if House.objects.filter(address=address).exists():
        raise ValidationError({"address": _("This address already has a house.")})
    house = House(
        address=address, village_id=address.village_id, grid_id=address.grid_id, use=check_use(use),
        owner=owner, owner_name=owner_name.strip(),
    )  # fmt: skip
    house.full_clean()
    house.save()
    Resident.objects.filter(address=address, house__isnull=True).update(house=house)
    return house


@POLICY.command("house_update")
@transaction.atomic
def house_update(
    *,
    actor,
    house: House,
    use: str | None = None,
    owner: Resident | None = None,
    owner_name: str | None = None,
) -> House:
    house = House.objects.select_for_update().get(pk=house.pk)
    if use is not None:
        house.use = check_use(use)
    if owner is not None:
        house.owner = owner
    if owner_name is not None:
        house.owner_name = owner_name.strip()
    house.full_clean()
    house.save()
    return house


@POLICY.command("tenancy_start")
@transaction.atomic
def tenancy_start(*, actor, house: House, tenant: Resident, starts_on: date) -> Tenancy:
    """A tenant moves into a rented house (the house is marked rented)."""
    if starts_on > timezone.localdate():
        raise ValidationError({"starts_on": _("This date is in the future.")})
    if Tenancy.objects.filter(house=house, tenant=tenant, ends_on__isnull=True).exists():
        raise ValidationError({"tenant": _("This tenant already rents this house.")})
    tenancy = Tenancy(house=house, tenant=tenant, starts_on=starts_on)
    tenancy.full_clean()
    tenancy.save()
    House.objects.filter(pk=house.pk).update(use=House.Use.RENTED)
    return tenancy


@POLICY.command("tenancy_end")
@transaction.atomic
def tenancy_end(*, actor, tenancy: Tenancy, ends_on: date) -> Tenancy:
    tenancy = Tenancy.objects.select_for_update().get(pk=tenancy.pk)
    if tenancy.ends_on is not None:
        raise ValidationError({"ends_on": _("This tenancy has already ended.")})
    if ends_on < tenancy.starts_on or ends_on > timezone.localdate():
        raise ValidationError({"ends_on": _("The end must fall between the start and today.")})
    tenancy.ends_on = ends_on
    tenancy.save(update_fields=["ends_on"])
    return tenancy


# ---- residents ----------------------------------------------------------------------------------


def clean_id_number(*, id_number: str, kind: str, field: str = "id_number") -> tuple[str, str]:
    """(normalised number, keyed hash): the special populations' rules, so one spelling is hashed.

    People from overseas may hold a passport instead: any number they give is normalised and hashed
    the same way, but only a citizen number is checked."""
    number = normalise_id_number(id_number or "")
    if not number:
        if kind == Resident.Kind.OVERSEAS:
            return "", ""
        raise ValidationError({field: _("Give the ID number.")})
    if len(number) > 24:
        raise ValidationError(
            {field: _("Not a valid 18-character ID number (the check character is wrong).")}
        )
    if kind != Resident.Kind.OVERSEAS and not is_valid_id_number(number):
        raise ValidationError(
            {field: _("Not a valid 18-character ID number (the check character is wrong).")}
        )
    return number, lookup_hash(number)


def clean_phone(phone: str, field: str = "phone") -> str:
    phone = normalise_id_number(phone or "")  # NFKC and no spaces: full-width digits fold too
    if phone and not (phone.isascii() and phone.isdigit() and 7 <= len(phone) <= 12):
        raise ValidationError({field: _("A phone number is 7 to 12 digits.")})
    return phone


def new_resident(
    *, actor, address: Address, name: str, id_number: str, kind: str = Resident.Kind.REGISTERED,
    phone: str = "", moved_in_on: date | None = None, field_prefix: str = "",
) -> Resident:  # fmt: skip
    """Build (unsaved) and check a resident. "Already registered" is said only when the number is
    a current resident the actor can see, so the answer never depends on what lies out of sight."""
    if kind not in Resident.Kind.values:
        raise ValidationError({f"{field_prefix}kind": _("Choose the kind of resident.")})
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise ValidationError({f"{field_prefix}name": _("Give the name (at most 60 characters).")})
    number, digest = clean_id_number(id_number=id_number, kind=kind, field=f"{field_prefix}id_number")
    if digest and (
        Resident.objects.visible_to(actor).filter(id_number_hash=digest, moved_out_on__isnull=True).exists()
    ):
        raise ValidationError(
            {f"{field_prefix}id_number": _("This person is already registered as living here.")}
        )
    house = House.objects.filter(address=address).first()
    return Resident(
        kind=kind, name=name, id_number=number, id_number_hash=digest,
        phone=clean_phone(phone, f"{field_prefix}phone"), address=address, house=house,
        village_id=address.village_id, moved_in_on=moved_in_on,
    )  # fmt: skip


@POLICY.command("resident_register")
@transaction.atomic
def resident_register(
    *, actor, address: Address, name: str, id_number: str, kind: str = Resident.Kind.REGISTERED,
    phone: str = "", moved_in_on: date | None = None,
) -> Resident:  # fmt: skip
    """A person living at an address (their personal data encrypted, the ID number hashed)."""
    if actor is not None:
        _lock_number(id_number)
    resident = new_resident(
        actor=actor,
        address=address,
        name=name,
        id_number=id_number,
        kind=kind,
        phone=phone,
        moved_in_on=moved_in_on,
    )
    resident.full_clean()
    resident.save()
    return resident


def _lock_number(id_number: str) -> None:
    """Serialise registrations of one number until the transaction ends (two workers at once)."""
    number = normalise_id_number(id_number or "")
    if number:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 17))", [lookup_hash(number)])


@POLICY.command("resident_update")
@transaction.atomic
def resident_update(
    *, actor, resident: Resident, phone: str | None = None, kind: str | None = None
) -> Resident:
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    if phone is not None:
        resident.phone = clean_phone(phone)
    if kind is not None:
        if kind not in Resident.Kind.values:
            raise ValidationError({"kind": _("Choose the kind of resident.")})
        resident.kind = kind
    resident.save(update_fields=["phone", "kind"])
    return resident


@POLICY.command("resident_move_out")
@transaction.atomic
def resident_move_out(*, actor, resident: Resident, on: date | None = None) -> Resident:
    on = on or timezone.localdate()
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    if resident.moved_out_on is not None:
        raise ValidationError({"resident": _("This resident has already moved out.")})
    resident.moved_out_on = on
    resident.save(update_fields=["moved_out_on"])
    Tenancy.objects.filter(tenant=resident, ends_on__isnull=True).update(ends_on=on)
    return resident


@POLICY.command("resident_reveal")
def resident_reveal(*, actor, resident: Resident, purpose: str) -> Resident:
    """Log a stated purpose (the special populations' rule) before full data is shown."""
    purpose = require_purpose(purpose)
    RevealRecord.objects.create(
        actor=actor, resident=resident, village_id=resident.village_id, purpose=purpose[:200]
    )
    return resident


# ---- units --------------------------------------------------------------------------------------


def new_unit(
    *,
    address: Address,
    kind: str,
    name: str,
    contact_name: str = "",
    contact_phone: str = "",
    campus_note: str = "",
) -> Unit:
    if kind not in Unit.Kind.values:
        raise ValidationError({"kind": _("Choose the kind of unit.")})
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the unit's name.")})
    if campus_note and kind != Unit.Kind.SCHOOL:
        raise ValidationError({"campus_note": _("Only schools have a campus-surroundings note.")})
    return Unit(
        kind=kind, name=name[:120], address=address, village_id=address.village_id, grid_id=address.grid_id,
        contact_name=(contact_name or "").strip()[:60],
        contact_phone=clean_phone(contact_phone, "contact_phone"), campus_note=(campus_note or "").strip(),
    )  # fmt: skip


@POLICY.command("unit_register")
@transaction.atomic
def unit_register(
    *, actor, address: Address, kind: str, name: str, contact_name: str = "", contact_phone: str = "",
    campus_note: str = "",
) -> Unit:  # fmt: skip
    """A unit (firm, social organisation, school, key place) at an address, with its contact."""
    unit = new_unit(
        address=address, kind=kind, name=name, contact_name=contact_name, contact_phone=contact_phone,
        campus_note=campus_note,
    )  # fmt: skip
    unit.full_clean()
    unit.save()
    return unit


@POLICY.command("unit_update")
@transaction.atomic
def unit_update(
    *, actor, unit: Unit, contact_name: str | None = None, contact_phone: str | None = None,
    campus_note: str | None = None,
) -> Unit:  # fmt: skip
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    if contact_name is not None:
        unit.contact_name = contact_name.strip()[:60]
    if contact_phone is not None:
        unit.contact_phone = clean_phone(contact_phone, "contact_phone")
    if campus_note is not None:
        if campus_note.strip() and unit.kind != Unit.Kind.SCHOOL:
            raise ValidationError({"campus_note": _("Only schools have a campus-surroundings note.")})
        unit.campus_note = campus_note.strip()
    unit.full_clean()
    unit.save()
    return unit
