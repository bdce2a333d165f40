"""A change as the auditor sees it: who, when, what kind, and each field's old → new value.

Values are rendered without touching the database (choices show their labels, foreign keys
their ids), so a page of changes costs the same number of queries whatever it shows.
Sensitive fields (the encrypted personal data and its lookup hash) are never rendered: the
change says "changed" and nothing else, on screen, in the API and in exports alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.contrib.gis.geos import GEOSGeometry
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from audit.selectors import audited_models

CHANGE_TYPES = {
    "+": pgettext_lazy("audit trail", "Created"),
    "~": pgettext_lazy("audit trail", "Changed"),
    "-": pgettext_lazy("audit trail", "Deleted"),
}
MASKED = _("changed (not shown)")


@dataclass
class FieldChange:
    name: str
    label: str
    old: str
    new: str
    masked: bool = False

    def as_dict(self) -> dict:
        return {
            "field": self.name,
            "label": str(self.label),
            "old": None if self.masked else self.old,
            "new": None if self.masked else self.new,
            "masked": self.masked,
        }


@dataclass
class Change:
    model_key: str
    record: models.Model
    previous: models.Model | None = None
    fields: list[FieldChange] = field(default_factory=list)

    @property
    def history_id(self) -> int:
        return self.record.history_id

    @property
    def object_id(self) -> int:
        return self.record.id

    @property
    def model_label(self) -> str:
        return str(self.record.instance_type._meta.verbose_name)

    @property
    def object_label(self) -> str:
        return f"{self.model_label} #{self.object_id}"

    @property
    def user(self):
        return self.record.history_user

    @property
    def at(self) -> datetime:
        return self.record.history_date

    @property
    def change_type(self) -> str:
        return self.record.history_type

    @property
    def change_type_label(self) -> str:
        return str(CHANGE_TYPES.get(self.record.history_type, self.record.history_type))

    @property
    def reason(self) -> str:
        return self.record.history_change_reason or ""

    def summary(self) -> str:
        """One line for tables and exports: ``field: old → new; …``."""
        return "; ".join(
            f"{c.label}: {MASKED}" if c.masked else f"{c.label}: {c.old} → {c.new}" for c in self.fields
        )


def render_value(model_field: models.Field, value) -> str:
    if value is None or value == "":
        return "—"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, datetime):
        return (
            timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
            if timezone.is_aware(value)
            else str(value)
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, GEOSGeometry):
        return value.wkt
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _field_changes(record, previous) -> list[FieldChange]:
    sensitive = getattr(type(record), "sensitive_fields", frozenset())
    changes = []
    for model_field in record.instance_type._meta.fields:
        if model_field.name not in {f.name for f in type(record).tracked_fields}:
            continue
        if model_field.primary_key:
            continue
        new = getattr(record, model_field.attname)
        if record.history_type == "-":
            break
        if previous is None:
            if new is None or new == "" or record.history_type != "+":
                continue
            old = None
        else:
            old = getattr(previous, model_field.attname)
            if old == new:
                continue
        masked = model_field.name in sensitive
        changes.append(
            FieldChange(
                name=model_field.name,
                label=model_field.verbose_name,
                old="" if masked else ("—" if previous is None else render_value(model_field, old)),
                new="" if masked else render_value(model_field, new),
                masked=masked,
            )
        )
    return changes


def build_changes(records: Sequence[tuple[str, models.Model]], previous: dict) -> list[Change]:
    """``records``: (model key, historical row with ``prev_id``); ``previous``: rows by (key, id)."""
    changes = []
    for key, record in records:
        before = previous.get((key, record.prev_id)) if record.prev_id else None
        changes.append(
            Change(model_key=key, record=record, previous=before, fields=_field_changes(record, before))
        )
    return changes


def load_previous(key: str, records: Iterable[models.Model]) -> dict:
    """The previous rows of ``records`` (one model), in one query."""
    ids = [r.prev_id for r in records if r.prev_id]
    if not ids:
        return {}
    history_model = audited_models()[key]
    return {(key, row.history_id): row for row in history_model.objects.filter(history_id__in=ids)}


def changes_for_model(key: str, records: Sequence[models.Model]) -> list[Change]:
    """A page of one model's historical rows (each with ``prev_id``) as changes: one query more."""
    return build_changes([(key, r) for r in records], load_previous(key, records))


def load_changes(rows: Iterable[dict]) -> list[Change]:
    """A page of ``changes_visible_to`` rows as full changes: one query per audited model on the
    page, loading its changed rows and their previous rows together, never one per change."""
    rows = list(rows)
    wanted: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        wanted[row["model_key"]].add(row["history_id"])
        if row["prev_id"]:
            wanted[row["model_key"]].add(row["prev_id"])
    loaded: dict[tuple[str, int], models.Model] = {}
    for key, ids in wanted.items():
        history_model = audited_models()[key]
        for record in history_model.objects.filter(history_id__in=ids).select_related("history_user"):
            loaded[(key, record.history_id)] = record
    records = []
    for row in rows:
        record = loaded[(row["model_key"], row["history_id"])]
        record.prev_id = row["prev_id"]
        records.append((row["model_key"], record))
    return build_changes(records, loaded)


EXPORT_HEADERS = (
    _("When"),
    pgettext_lazy("audit trail", "Record"),
    pgettext_lazy("audit trail", "Object"),
    pgettext_lazy("audit trail", "Change"),
    _("By"),
    _("Changes"),
    _("Reason"),
)


def export_row(change: Change) -> list:
    return [
        change.at,
        change.model_label,
        change.object_id,
        change.change_type_label,
        change.user.username if change.user else "",
        change.summary(),
        change.reason,
    ]
