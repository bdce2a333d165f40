"""Intake of survey responses: REST bulk upload and CSV/XLSX import, all or nothing.

Every row is checked before anything is written and every problem is reported with
its row number, so the survey office fixes the whole file in one pass. A row's
``client_id`` is its idempotency key: uploading the same file twice adds nothing.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from anshun.db import analyze
from anshun.uploads import TEXT, XLSX, max_import_bytes, upload_problem
from grids.models import Grid, Region
from surveys.models import Answer, Item, Response, Wave
from surveys.policy import POLICY

PLACE_FIELDS = ("community", "grid")
MAX_ROWS = 200_000
# An import this large changes the tables' statistics: ANALYZE them before the rollup reads them.
ANALYZE_AFTER_ROWS = 1_000


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return _("row %(row)s, %(field)s: %(reason)s") % {
            "row": self.row,
            "field": self.field,
            "reason": self.reason,
        }


class ResponsesRejected(ValidationError):
    """Every bad row of an upload; nothing was written."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__({"rows": [str(e) for e in errors]})


@dataclass(frozen=True)
class IntakeResult:
    created: int
    already_present: int


def _channel_lookup() -> dict[str, str]:
    lookup = {}
    for value, label in Response.Channel.choices:
        lookup[value] = value
        lookup[str(label)] = value
    lookup.update({"电话": "phone", "入户": "door", "网络": "online"})
    return lookup


def _answer(item: Item, raw) -> int | None:
    text = str(raw).strip() if raw is not None else ""
    if text in item.scale:
        return item.scale.index(text)
    if text.isascii() and text.isdigit() and int(text) < len(item.scale):  # "１" is not a code
        return int(text)
    return None


def _non_ascii(raw) -> bool:
    """Text with anything but ASCII in it: ``parse_date`` reads full-width and other Unicode
    digits (``２０１７-11-15``) as a date, so the intake refuses them before parsing."""
    return isinstance(raw, str) and not raw.strip().isascii()


def _as_date(raw) -> date | None:
    if isinstance(raw, date):
        return raw if not hasattr(raw, "date") else raw.date()
    try:
        return parse_date(str(raw).strip()) if raw not in (None, "") else None
    except ValueError:
        return None


def _place_index(rows: list[dict], actor) -> tuple[dict, dict, dict]:
    village_codes = {str(r.get("community") or "").strip() for r in rows} - {""}
    grid_codes = {str(r.get("grid") or "").strip() for r in rows} - {""}
    villages = {
        v.code: v
        for v in Region.objects.visible_to(actor)
        .filter(code__in=village_codes, level=Region.Level.VILLAGE)
        .only("id", "code", "path")
    }
    grids = {
        g.code: g
        for g in Grid.objects.visible_to(actor)
        .filter(code__in=grid_codes)
        .only("id", "code", "village_id", "office_id")
    }
    # A community-only answer belongs to a grid office when one office serves the whole community.
    needed = {v.id for v in villages.values()}
    offices: dict[int, set[int]] = {}
    for village_id, office_id in Grid.objects.filter(village_id__in=needed).values_list(
        "village_id", "office_id"
    ):
        offices.setdefault(village_id, set()).add(office_id)
    sole_office = {vid: next(iter(ids)) for vid, ids in offices.items() if len(ids) == 1}
    return villages, grids, sole_office


def _check_rows(rows: list[dict], *, wave: Wave, items: list[Item], actor):
    errors: list[RowError] = []
    channels = _channel_lookup()
    villages, grids, sole_office = _place_index(rows, actor)
    seen: set[uuid.UUID] = set()
    checked = []
    for number, row in enumerate(rows, start=1):
        row_errors: list[RowError] = []
        raw_id = str(row.get("client_id") or "").strip()
        try:
            client_uuid = (
                uuid.UUID(raw_id) if raw_id else uuid.uuid5(uuid.NAMESPACE_OID, f"{wave.code}:{number}:{row}")
            )
        except ValueError:
            row_errors.append(RowError(number, "client_id", _("not a UUID")))
            client_uuid = None
        if client_uuid in seen:
            row_errors.append(RowError(number, "client_id", _("repeated in this upload")))
        seen.add(client_uuid)
        grid_code = str(row.get("grid") or "").strip()
        village_code = str(row.get("community") or "").strip()
        grid = village_id = office_id = None
        if grid_code:
            grid = grids.get(grid_code)
            if grid is None:
                row_errors.append(RowError(number, "grid", _("unknown grid or outside your jurisdiction")))
            else:
                village_id, office_id = grid.village_id, grid.office_id
                if village_code and villages.get(village_code) and villages[village_code].id != village_id:
                    row_errors.append(RowError(number, "community", _("the grid lies in another community")))
        elif village_code:
            village = villages.get(village_code)
            if village is None:
                row_errors.append(
                    RowError(number, "community", _("unknown community or outside your jurisdiction"))
                )
            else:
                village_id, office_id = village.id, sole_office.get(village.id)
        else:
            row_errors.append(RowError(number, "community", _("give the community or the grid")))
        channel = channels.get(str(row.get("channel") or "").strip())
        if channel is None:
            row_errors.append(RowError(number, "channel", _("not one of phone, door, online")))
        raw_date = row.get("answered_on")
        answered_on = None if _non_ascii(raw_date) else _as_date(raw_date)
        if answered_on is None and _non_ascii(raw_date):
            row_errors.append(
                RowError(number, "answered_on", _("type the date in half-width digits, as YYYY-MM-DD"))
            )
        elif answered_on is None:
            row_errors.append(RowError(number, "answered_on", _("not a date (YYYY-MM-DD)")))
        elif not wave.starts_on <= answered_on <= wave.ends_on:
            row_errors.append(RowError(number, "answered_on", _("outside the wave's fieldwork")))
        answers = {}
        for item in items:
            choice = _answer(item, row.get(item.code))
            if choice is None:
                row_errors.append(
                    RowError(number, item.code, _("answer must be one of: %s") % " / ".join(item.scale))
                )
            answers[item.pk] = choice
        errors.extend(row_errors)
        if not row_errors:
            checked.append((client_uuid, village_id, grid, office_id, channel, answered_on, answers))
    return checked, errors


@POLICY.command("responses_import")
@transaction.atomic
def import_responses(*, actor, wave: Wave, rows: list[dict]) -> IntakeResult:
    """Validate every row, then write them all (or raise ``ResponsesRejected`` and write nothing)."""
    if len(rows) > MAX_ROWS:
        raise ValidationError({"rows": [_("At most %(max)s rows per upload.") % {"max": MAX_ROWS}]})
    if not rows:
        raise ValidationError({"rows": [_("The upload holds no rows.")]})
    items = list(Item.objects.filter(rules__wave=wave).order_by("metric"))
    if not items:
        raise ValidationError({"wave": [_("This wave has no counting rules yet.")]})
    checked, errors = _check_rows(rows, wave=wave, items=items, actor=actor)
    if errors:
        raise ResponsesRejected(errors)
    existing = set(
        Response.objects.filter(client_uuid__in=[c[0] for c in checked]).values_list("client_uuid", flat=True)
    )
    new = [c for c in checked if c[0] not in existing]
    responses = Response.objects.bulk_create(
        [
            Response(
                client_uuid=client_uuid,
                wave=wave,
                village_id=village_id,
                grid=grid,
                grid_office_id=office_id,
                channel=channel,
                answered_on=answered_on,
            )
            for client_uuid, village_id, grid, office_id, channel, answered_on, _answers in new
        ],
        batch_size=2000,
    )
    Answer.objects.bulk_create(
        [
            Answer(
                response_id=response.pk,
                item_id=item_id,
                choice=choice,
                wave=wave,
                village_id=response.village_id,
                grid_office_id=response.grid_office_id,
                month=response.answered_on.replace(day=1),
            )
            for response, spec in zip(responses, new, strict=True)
            for item_id, choice in spec[6].items()
        ],
        batch_size=5000,
    )
    if len(responses) >= ANALYZE_AFTER_ROWS:
        analyze(Response, Answer)
    return IntakeResult(created=len(responses), already_present=len(existing))


def read_upload(upload) -> list[dict]:
    """Rows of an uploaded CSV or XLSX whose bytes are what its name says, within the size limit."""
    problem = upload_problem(upload, allowed={TEXT, XLSX}, max_bytes=max_import_bytes(), by_name=True)
    if problem:
        raise ValidationError({"file": [problem]})
    upload.seek(0)
    return read_table(name=upload.name, content=upload.read())


def read_table(*, name: str, content: bytes) -> list[dict]:
    """Rows of a CSV or XLSX file as dicts keyed by the header row."""
    if name.lower().endswith(".xlsx"):
        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is one error for the user
            raise ValidationError({"file": [_("Not a readable XLSX file.")]}) from exc
        values: Iterable = workbook.active.iter_rows(values_only=True)
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError({"file": [_("CSV files must be UTF-8.")]}) from exc
        values = csv.reader(io.StringIO(text))
    iterator = iter(values)
    header = next(iterator, None)
    if not header:
        raise ValidationError({"file": [_("The file is empty.")]})
    keys = [str(h or "").strip() for h in header]
    return [dict(zip(keys, row, strict=False)) for row in iterator if any(v not in (None, "") for v in row)]
