"""A change as the auditor sees it: who, when, what kind, and each field's old → new value.

Values read as the record's own page would show them: choices by their labels, a foreign key by
the related object's name, a point as its rounded coordinates beside the grid it lay in.
Names are looked up for the whole page at once, one query per related model that appears on it
(through that model's ``visible_to(viewer)``), so a page costs a bounded number of queries
whatever its size. A related object the viewer may not see (out of their jurisdiction, deleted,
or holding personal data such as a special-population person) is shown by a neutral label,
its kind and number, never its name. Bookkeeping fields (``updated_at``, ``version``,
``created_at``, the sync ``client_uuid``) are not listed: the change's own time and type say it.
Sensitive fields (the encrypted personal data and its lookup hash) are never rendered: the
change says "changed" and nothing else, on screen, in the API and in exports alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import FieldDoesNotExist
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
# Stamps every save moves (and the sync client's idempotency key): the change's own time, type
# and object already say what they would.
BOOKKEEPING = frozenset({"updated_at", "version", "created_at", "client_uuid"})
# Related objects named with other fields loaded alongside (their ``__str__`` reads them).
LABEL_JOINS = {"incidents.incident": ("category",)}


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


@dataclass
class _Pending:
    """A value rendered once the page's related names are known."""

    model_field: models.Field
    value: object
    record: models.Model | None


def _field_changes(record, previous) -> list[FieldChange]:
    sensitive = getattr(type(record), "sensitive_fields", frozenset())
    tracked = {f.name for f in type(record).tracked_fields}
    changes = []
    for model_field in record.instance_type._meta.fields:
        if model_field.name not in tracked or model_field.name in BOOKKEEPING:
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
                old="" if masked else ("—" if previous is None else _Pending(model_field, old, previous)),
                new="" if masked else _Pending(model_field, new, record),
                masked=masked,
            )
        )
    return changes


def _is_personal(model: type[models.Model]) -> bool:
    """Records of people under special care (encrypted fields): never named in a diff."""
    from special_groups.crypto import EncryptedTextField

    return any(isinstance(f, EncryptedTextField) for f in model._meta.fields)


def neutral_label(model: type[models.Model], pk) -> str:
    return f"{model._meta.verbose_name} #{pk}"


def _related_labels(wanted: dict[type[models.Model], set], actor) -> dict[tuple[type, object], str]:
    """Names of the related objects on a page, one query per related model, each through
    ``visible_to(actor)`` where the model is scoped (and none at all without a viewer)."""
    labels = {}
    for model, ids in wanted.items():
        ids.discard(None)
        if not ids or _is_personal(model):
            continue
        manager = model._default_manager
        if hasattr(manager, "visible_to"):
            if actor is None:
                continue
            queryset = manager.visible_to(actor)
        else:
            queryset = manager.all()
        joins = LABEL_JOINS.get(model._meta.label_lower, ())
        for obj in queryset.filter(pk__in=ids).select_related(*joins):
            labels[(model, obj.pk)] = str(obj)
    return labels


def _point_text(point: GEOSGeometry) -> str:
    """About 10 m: enough to find the place, no finer than a report's own accuracy."""
    return f"{point.y:.4f}, {point.x:.4f}"


def _render(pending, labels) -> str:
    if not isinstance(pending, _Pending):
        return pending
    model_field, value, record = pending.model_field, pending.value, pending.record
    if value is None or value == "":
        return "—"
    if model_field.is_relation:
        model = model_field.related_model
        return labels.get((model, value)) or neutral_label(model, value)
    if isinstance(value, GEOSGeometry) and value.geom_type == "Point":
        text = _point_text(value)
        grid_field = _grid_field(type(record))
        if grid_field is not None:
            grid_id = getattr(record, grid_field.attname)
            place = labels.get((grid_field.related_model, grid_id))
            if place:
                return f"{place} ({text})"
        return text
    return render_value(model_field, value)


def _grid_field(history_model) -> models.Field | None:
    """The grid a point lies in, when the record carries one (an incident's grid)."""
    try:
        field_ = history_model.instance_type._meta.get_field("grid")
    except FieldDoesNotExist:
        return None
    return field_ if field_.is_relation else None


def _resolve(changes: list[Change], actor) -> None:
    wanted: dict[type[models.Model], set] = defaultdict(set)
    for change in changes:
        for fc in change.fields:
            for pending in (fc.old, fc.new):
                if not isinstance(pending, _Pending) or pending.value in (None, ""):
                    continue
                if pending.model_field.is_relation:
                    wanted[pending.model_field.related_model].add(pending.value)
                elif isinstance(pending.value, GEOSGeometry):
                    grid_field = _grid_field(type(pending.record))
                    if grid_field is not None:
                        wanted[grid_field.related_model].add(getattr(pending.record, grid_field.attname))
    labels = _related_labels(wanted, actor)
    for change in changes:
        for fc in change.fields:
            fc.old = _render(fc.old, labels)
            fc.new = _render(fc.new, labels)


def build_changes(records: Sequence[tuple[str, models.Model]], previous: dict, *, actor=None) -> list[Change]:
    """``records``: (model key, historical row with ``prev_id``); ``previous``: rows by (key, id).
    ``actor`` is the viewer: related objects are named only where they may see them."""
    changes = []
    for key, record in records:
        before = previous.get((key, record.prev_id)) if record.prev_id else None
        changes.append(
            Change(model_key=key, record=record, previous=before, fields=_field_changes(record, before))
        )
    _resolve(changes, actor)
    return changes


def load_previous(key: str, records: Iterable[models.Model]) -> dict:
    """The previous rows of ``records`` (one model), in one query."""
    ids = [r.prev_id for r in records if r.prev_id]
    if not ids:
        return {}
    history_model = audited_models()[key]
    return {(key, row.history_id): row for row in history_model.objects.filter(history_id__in=ids)}


def changes_for_model(key: str, records: Sequence[models.Model], *, actor=None) -> list[Change]:
    """A page of one model's historical rows (each with ``prev_id``) as changes: one query more,
    plus one per related model named on the page."""
    return build_changes([(key, r) for r in records], load_previous(key, records), actor=actor)


def load_changes(rows: Iterable[dict], *, actor=None) -> list[Change]:
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
    return build_changes(records, loaded, actor=actor)


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
