"""Imports of addresses, houses, residents and units from CSV/XLSX, all or nothing.

The survey intake's shape (``surveys.services.intake``, whose file reading and row errors are
reused): every row is checked before anything is written and every bad row is reported with its
number and field, so the office fixes the whole file in one pass. Here the work runs in a Celery
worker with a progress bar: ``import_start`` (the uploader's command) reads the file and records
it; ``run_import`` (a system command) authorises the uploader again, checks that their
jurisdiction is the one recorded, checks every row (saving progress per batch), and writes all the
rows in one transaction only if none is bad.

Columns (header row; Chinese headers are accepted too):
- addresses: ``ref`` (optional, for later rows), ``village`` (12-digit code), ``parent`` (an
  address code, or the ``ref`` of an earlier row), ``level`` (road/building/unit/room),
  ``name``, ``longitude``, ``latitude``;
- houses: ``address`` (code), ``use`` (owner/rented/vacant/business), ``owner_name``;
- residents: ``address``, ``kind``, ``name``, ``id_number``, ``phone``, ``moved_in_on``;
- units: ``address``, ``kind``, ``name``, ``contact_name``, ``contact_phone``, ``campus_note``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from anshun.background import enqueue_on_commit
from anshun.commands import CommandRefused, system_command
from anshun.db import analyze
from anshun.export_jobs import scope_of
from grids.models import Region
from registry.models import Address, House, RegistryImport, Resident, Unit
from registry.policy import POLICY
from registry.services import records
from surveys.services.intake import RowError, _as_date, _non_ascii, read_upload

MAX_ROWS = 20_000
BATCH = 500

HEADERS = {
    "编号": "ref", "村居": "village", "村(居)": "village", "上级": "parent", "层级": "level", "名称": "name",
    "经度": "longitude", "纬度": "latitude", "地址": "address", "用途": "use", "房主": "owner_name",
    "类别": "kind", "姓名": "name", "身份证号": "id_number", "电话": "phone", "入住日期": "moved_in_on",
    "联系人": "contact_name", "联系电话": "contact_phone", "校园周边": "campus_note",
}  # fmt: skip


def _normal(row: dict) -> dict:
    return {HEADERS.get(k, k): ("" if v is None else v) for k, v in row.items()}


def _text(row: dict, key: str) -> str:
    return str(row.get(key) or "").strip()


def _first_message(error: ValidationError) -> tuple[str, str]:
    if hasattr(error, "error_dict"):
        name, messages = next(iter(error.message_dict.items()))
        return name.rsplit("_", 1)[-1] if name.startswith("new_") else name, messages[0]
    return "row", error.messages[0]


def _region_of(actor) -> Region:
    if getattr(actor, "grid_office_id", None):
        return actor.grid_office.seat
    if actor.region_id:
        return actor.region
    return Region.objects.get(parent__isnull=True)


@POLICY.command("import_start")
@transaction.atomic
def import_start(*, actor, kind: str, upload) -> RegistryImport:
    """Read the file now (a bad file is refused at once) and queue the rows for the worker."""
    from registry.tasks import run_import_task

    if kind not in RegistryImport.Kind.values:
        raise ValidationError({"kind": _("Choose what the file holds.")})
    rows = [_normal(r) for r in read_upload(upload)]
    if not rows:
        raise ValidationError({"file": [_("The upload holds no rows.")]})
    if len(rows) > MAX_ROWS:
        raise ValidationError({"file": [_("At most %(max)s rows per upload.") % {"max": MAX_ROWS}]})
    rows = [{k: (v if isinstance(v, int | float) else str(v)) for k, v in r.items()} for r in rows]
    bad = [n for n, r in enumerate(rows, start=1) if any("\x00" in f"{k}{v}" for k, v in r.items())]
    if bad:  # PostgreSQL cannot keep NUL in text: said now, for every such row
        raise ValidationError({"file": [str(RowError(n, "row", _("holds a NUL character"))) for n in bad]})
    job = RegistryImport.objects.create(
        kind=kind, requester=actor, region=_region_of(actor), scope=scope_of(actor),
        file_name=str(upload.name)[:200], rows=rows, rows_total=len(rows),
    )  # fmt: skip
    enqueue_on_commit(run_import_task, job.pk)
    return job


# ---- checking rows ------------------------------------------------------------------------------


class _Context:
    def __init__(self, actor, rows: list[dict], kind: str):
        self.actor = actor
        self.refs: dict[str, Address] = {}
        codes = {_text(r, "address") for r in rows} | {_text(r, "parent") for r in rows}
        self.addresses = {
            a.code: a
            for a in Address.objects.visible_to(actor).filter(code__in=codes - {""}).select_related("village")
        }
        self.villages = {
            v.code: v
            for v in Region.objects.visible_to(actor).filter(
                code__in={_text(r, "village") for r in rows} - {""}, level=Region.Level.VILLAGE
            )
        }
        self.houses_at = set(
            House.objects.filter(address__code__in=codes - {""}).values_list("address__code", flat=True)
        )
        self.numbers: set[str] = set()


def _check_address(ctx: _Context, row: dict) -> Address:
    village = ctx.villages.get(_text(row, "village"))
    if village is None:
        raise ValidationError({"village": _("unknown village or outside your jurisdiction")})
    parent_key = _text(row, "parent")
    parent = None
    if parent_key:
        parent = ctx.refs.get(parent_key) or ctx.addresses.get(parent_key)
        if parent is None:
            raise ValidationError({"parent": _("unknown address or outside your jurisdiction")})
    location = None
    lon, lat = _text(row, "longitude"), _text(row, "latitude")
    if lon or lat:
        try:
            location = Point(float(lon), float(lat), srid=4326)
        except ValueError as exc:
            raise ValidationError({"longitude": _("not a number")}) from exc
    address = records.new_address(
        village=village, level=_text(row, "level"), name=_text(row, "name"), parent=parent, location=location,
        code="pending",
    )  # fmt: skip
    ref = _text(row, "ref")
    if ref:
        if ref in ctx.refs:
            raise ValidationError({"ref": _("repeated in this upload")})
        ctx.refs[ref] = address
    return address


def _address_of(ctx: _Context, row: dict) -> Address:
    address = ctx.addresses.get(_text(row, "address"))
    if address is None:
        raise ValidationError({"address": _("unknown address or outside your jurisdiction")})
    return address


def _check_house(ctx: _Context, row: dict) -> House:
    address = _address_of(ctx, row)
    if address.code in ctx.houses_at:
        raise ValidationError({"address": _("This address already has a house.")})
    ctx.houses_at.add(address.code)
    use = _text(row, "use") or House.Use.OWNER_OCCUPIED
    use = {str(label): value for value, label in House.Use.choices}.get(use, use)
    return House(
        address=address, village_id=address.village_id, grid_id=address.grid_id, use=records.check_use(use),
        owner_name=_text(row, "owner_name"),
    )  # fmt: skip


def _check_resident(ctx: _Context, row: dict) -> Resident:
    address = _address_of(ctx, row)
    raw_date = row.get("moved_in_on")
    moved_in = None
    if raw_date not in (None, ""):
        moved_in = None if _non_ascii(raw_date) else _as_date(raw_date)
        if moved_in is None:
            raise ValidationError({"moved_in_on": _("not a date (YYYY-MM-DD)")})
    kind = _text(row, "kind") or Resident.Kind.REGISTERED
    kind = {str(label): value for value, label in Resident.Kind.choices}.get(kind, kind)
    resident = records.new_resident(
        actor=ctx.actor, address=address, name=_text(row, "name"), id_number=_text(row, "id_number"),
        kind=kind, phone=_text(row, "phone"), moved_in_on=moved_in,
    )  # fmt: skip
    if resident.id_number_hash:
        if resident.id_number_hash in ctx.numbers:
            raise ValidationError({"id_number": _("repeated in this upload")})
        ctx.numbers.add(resident.id_number_hash)
    return resident


def _check_unit(ctx: _Context, row: dict) -> Unit:
    address = _address_of(ctx, row)
    kind = _text(row, "kind")
    kind = {str(label): value for value, label in Unit.Kind.choices}.get(kind, kind)
    return records.new_unit(
        address=address, kind=kind, name=_text(row, "name"), contact_name=_text(row, "contact_name"),
        contact_phone=_text(row, "contact_phone"), campus_note=_text(row, "campus_note"),
    )  # fmt: skip


CHECKS: dict[str, Callable] = {
    RegistryImport.Kind.ADDRESSES: _check_address,
    RegistryImport.Kind.HOUSES: _check_house,
    RegistryImport.Kind.RESIDENTS: _check_resident,
    RegistryImport.Kind.UNITS: _check_unit,
}


def check_rows(*, actor, kind: str, rows: list[dict], progress: Callable[[int], None] | None = None):
    """Every row checked; (built objects, errors). Nothing is written."""
    ctx = _Context(actor, rows, kind)
    check = CHECKS[kind]
    built, errors = [], []
    for number, row in enumerate(rows, start=1):
        try:
            built.append(check(ctx, row))
        except ValidationError as error:
            field_name, message = _first_message(error)
            errors.append(RowError(number, field_name, message))
        if progress and number % BATCH == 0:
            progress(number)
    return built, errors


def _write(kind: str, built: list) -> int:
    if kind == RegistryImport.Kind.ADDRESSES:
        by_village: dict[int, list[Address]] = {}
        for address in built:
            by_village.setdefault(address.village_id, []).append(address)
        for addresses in by_village.values():
            codes = records.take_codes(village=addresses[0].village, count=len(addresses))
            for address, code in zip(addresses, codes, strict=True):
                address.code = code
        # One INSERT per level of the tree, not one per row: a row's parent is an address that
        # exists already or one of an earlier row of the file, so each round inserts the rows
        # whose parents now have their ids (PostgreSQL returns them), and the rounds are as many
        # as the tree is deep.
        waiting = list(built)
        while waiting:
            ready = [a for a in waiting if a.parent is None or a.parent.pk is not None]
            if not ready:  # every parent reference is checked to point back in the file
                raise RuntimeError("address import: parents that are never written")
            for address in ready:
                address.parent_id = address.parent.pk if address.parent else None
            Address.objects.bulk_create(ready, batch_size=1000)
            waiting = [a for a in waiting if a.pk is None]
        analyze(Address)
        return len(built)
    model = {RegistryImport.Kind.HOUSES: House, RegistryImport.Kind.RESIDENTS: Resident}.get(kind, Unit)
    model.objects.bulk_create(built, batch_size=1000)
    if kind == RegistryImport.Kind.HOUSES:
        # Residents already living at a new house's address move in: one statement, not one per house.
        house_at_address = House.objects.filter(address_id=OuterRef("address_id")).values("pk")[:1]
        Resident.objects.filter(address_id__in=[h.address_id for h in built], house__isnull=True).update(
            house_id=Subquery(house_at_address)
        )
        analyze(House, Resident)
    else:
        analyze(model)
    return len(built)


def _save(job_id: int, **fields) -> None:
    RegistryImport.objects.filter(pk=job_id).update(**fields)


@system_command("the Celery worker (registry.tasks.run_import_task) runs an import its requester started")
def run_import(*, import_id: int) -> str:
    """Check and write one import; idempotent (a finished import is left as it is)."""
    job = RegistryImport.objects.select_related("requester").filter(pk=import_id).first()
    if job is None or job.status in (RegistryImport.Status.DONE, RegistryImport.Status.REJECTED):
        return job.status if job else "missing"
    actor = job.requester
    try:
        POLICY.authorize("import_start", actor=actor, arguments={})
    except CommandRefused:
        _save(job.pk, status=RegistryImport.Status.REJECTED, errors=[_("You may no longer import.")],
              finished_at=timezone.now())  # fmt: skip
        return RegistryImport.Status.REJECTED
    if scope_of(actor) != job.scope:
        _save(job.pk, status=RegistryImport.Status.REJECTED, finished_at=timezone.now(),
              errors=[_("Your jurisdiction changed after the upload; upload the file again.")])  # fmt: skip
        return RegistryImport.Status.REJECTED
    _save(job.pk, status=RegistryImport.Status.RUNNING, rows_done=0)
    # Checking reads only, outside the transaction, so the page sees the progress as it moves.
    built, errors = check_rows(
        actor=actor, kind=job.kind, rows=job.rows, progress=lambda n: _save(job.pk, rows_done=n)
    )
    if not errors:
        try:
            with transaction.atomic():
                created = _write(job.kind, built)
        except (IntegrityError, ValidationError):
            errors = [_("The registry changed while the file was checked; upload it again.")]
    if errors:
        _save(job.pk, status=RegistryImport.Status.REJECTED, errors=[str(e) for e in errors],
              rows_done=job.rows_total, finished_at=timezone.now())  # fmt: skip
        return RegistryImport.Status.REJECTED
    _save(job.pk, status=RegistryImport.Status.DONE, created=created, rows_done=job.rows_total, rows=[],
          finished_at=timezone.now())  # fmt: skip
    return RegistryImport.Status.DONE
