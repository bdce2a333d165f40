"""Household visits (入户走访): a visit to a house or unit, its corrections, and an incident.

A visit is made on the phone, possibly without signal, and waits in the phone's outbox
(``static/js/visit_outbox.js``) with the identity (``client_uuid``) it got when it was made.
Retries send the same identity; as for incidents (``incidents.services.reporting``), a repeat of
the same visit answers with the first one (``created=False``), the same identity with another
visit is a ``Conflict`` (409), as is an identity used out of the worker's sight.

Everything a visit says is applied in one transaction, or nothing is: the residents confirmed,
those moved out, new residents, corrected phones, and an incident raised on the spot (through
the incidents' own ``report`` command, so its rules apply: capability, place, idempotency by an
identity derived from the visit's).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from anshun.commands import Conflict
from registry.models import House, HouseholdVisit, Resident, Unit
from registry.policy import POLICY
from registry.services.records import clean_phone, new_resident

MAX_CORRECTIONS = 50
INCIDENT_NAMESPACE = uuid.UUID("5204a017-0000-4000-8000-000000000017")


@dataclass
class VisitInput:
    """What the phone sends: ``moved_out`` resident ids, ``phones`` {resident id: new phone},
    ``new_residents`` [{name, id_number, kind, phone}], and an optional incident
    {category: IncidentCategory, description}."""

    visited_on: date
    note: str = ""
    moved_out: list[int] = field(default_factory=list)
    phones: dict[int, str] = field(default_factory=dict)
    new_residents: list[dict] = field(default_factory=list)
    incident: dict | None = None

    def digest(self) -> str:
        said = {
            "visited_on": self.visited_on.isoformat(),
            "note": self.note,
            "moved_out": sorted(self.moved_out),
            "phones": {str(k): v for k, v in sorted(self.phones.items())},
            "new": [
                {k: str(r.get(k) or "") for k in ("name", "id_number", "kind", "phone")}
                for r in self.new_residents
            ],
            "incident": (
                {
                    "category": self.incident["category"].code,
                    "description": self.incident.get("description", ""),
                }
                if self.incident
                else None
            ),
        }
        return hashlib.sha256(json.dumps(said, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _existing(*, actor, client_uuid, digest: str) -> HouseholdVisit | None:
    visit = HouseholdVisit.objects.filter(client_uuid=client_uuid).first()
    if visit is None:
        return None
    if (
        not HouseholdVisit.objects.visible_to(actor).filter(pk=visit.pk).exists()
        or visit.request_digest != digest
    ):
        raise Conflict(_("This client id is already used by another visit."), field_name="client_uuid")
    return visit


def _check_date(visited_on: date) -> None:
    today = timezone.localdate()
    if visited_on > today:
        raise ValidationError({"visited_on": _("This date is in the future.")})
    if visited_on < today - timedelta(days=366):
        raise ValidationError({"visited_on": _("A visit more than a year ago cannot be recorded now.")})


def _record(*, actor, house: House | None, unit: Unit | None, client_uuid, data: VisitInput):
    client_uuid = client_uuid or uuid.uuid4()
    digest = data.digest()
    existing = _existing(actor=actor, client_uuid=client_uuid, digest=digest)
    if existing is not None:
        return existing, False
    _check_date(data.visited_on)
    place = house or unit
    changes: dict = {}
    if house is not None:
        changes = _apply_corrections(actor=actor, house=house, data=data)
    elif data.moved_out or data.phones or data.new_residents:
        raise ValidationError({"residents": _("A unit has no residents to correct.")})
    incident = None
    if data.incident:
        from incidents.models import Incident
        from incidents.services.reporting import report_incident

        location = place.address.location
        incident, _created = report_incident(
            actor=actor,
            category=data.incident["category"],
            description=(data.incident.get("description") or "").strip(),
            location=location,
            grid=place.grid if location is None else None,
            client_uuid=uuid.uuid5(INCIDENT_NAMESPACE, str(client_uuid)),
            source=Incident.Source.GRID_WORKER,
            address=place.address.full_name,
        )
    visit = HouseholdVisit(
        client_uuid=client_uuid,
        house=house,
        unit=unit,
        village_id=place.village_id,
        grid_id=place.grid_id,
        by=actor,
        visited_on=data.visited_on,
        note=data.note.strip()[:2000],
        changes=changes,
        incident=incident,
        request_digest=digest,
    )
    try:
        with transaction.atomic():
            visit.save()
    except IntegrityError:
        existing = _existing(actor=actor, client_uuid=client_uuid, digest=digest)
        if existing is None:
            raise
        return existing, False
    type(place).objects.filter(pk=place.pk).update(
        last_visited_on=Greatest("last_visited_on", data.visited_on)
    )
    return visit, True


def _apply_corrections(*, actor, house: House, data: VisitInput) -> dict:
    """Moved out, phones corrected, new residents: only this house's current residents may be
    named (anything else is a field error, never a change elsewhere). Returns counts, no names."""
    if len(data.moved_out) + len(data.phones) + len(data.new_residents) > MAX_CORRECTIONS:
        raise ValidationError({"residents": _("Too many corrections in one visit.")})
    current = {
        r.pk: r for r in Resident.objects.select_for_update().filter(house=house, moved_out_on__isnull=True)
    }
    named = set(data.moved_out) | set(data.phones)
    if named - set(current):
        raise ValidationError({"residents": _("Name only people who live in this house.")})
    for pk, phone in data.phones.items():
        resident = current[pk]
        resident.phone = clean_phone(phone, f"phone_{pk}")
        resident.save(update_fields=["phone"])
    if data.moved_out:
        Resident.objects.filter(pk__in=data.moved_out).update(moved_out_on=data.visited_on)
        from registry.models import Tenancy

        Tenancy.objects.filter(tenant_id__in=data.moved_out, ends_on__isnull=True).update(
            ends_on=data.visited_on
        )
    added = []
    for index, row in enumerate(data.new_residents):
        resident = new_resident(
            actor=actor,
            address=house.address,
            name=row.get("name", ""),
            id_number=row.get("id_number", ""),
            kind=row.get("kind") or Resident.Kind.REGISTERED,
            phone=row.get("phone", ""),
            moved_in_on=data.visited_on,
            field_prefix=f"new_{index}_",
        )
        resident.full_clean()
        added.append(resident)
    Resident.objects.bulk_create(added)
    return {
        "confirmed": len(current) - len(data.moved_out),
        "moved_out": len(data.moved_out),
        "phones": len(data.phones),
        "new": len(added),
    }


@POLICY.command("house_visit")
@transaction.atomic
def house_visit(*, actor, house: House | int, data: VisitInput, client_uuid: uuid.UUID | None = None):
    """Record a visit to a house and apply its corrections; ``(visit, created)``."""
    house = House.objects.select_related("address").get(pk=getattr(house, "pk", house))
    return _record(actor=actor, house=house, unit=None, client_uuid=client_uuid, data=data)


@POLICY.command("unit_visit")
@transaction.atomic
def unit_visit(*, actor, unit: Unit | int, data: VisitInput, client_uuid: uuid.UUID | None = None):
    """Record a visit to a unit; ``(visit, created)``."""
    unit = Unit.objects.select_related("address").get(pk=getattr(unit, "pk", unit))
    return _record(actor=actor, house=None, unit=unit, client_uuid=client_uuid, data=data)
