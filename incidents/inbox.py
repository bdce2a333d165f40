"""The home page's inbox: the work waiting for this user, per what their role does.

Each section is a scoped read (``Incident.objects.visible_to``) narrowed to one kind of
hand-over, answered with a capped count and the few oldest items, so the home page costs a fixed
number of small queries whatever the history (two per section, one for the unread
notifications' count and one for the latest of them):

- dispatched to my unit: open shares (主办 or 协办) of the user's grid office or department
  on cases not yet taken (the partial indexes of open shares per unit);
- returned to me: cases my unit leads that came back to it (a failed verification, or a
  dissatisfied 回访 reopened it) and are still being handled;
- awaiting my verification: handled cases of my grid office (a grid head), or of the
  jurisdiction (the command centre);
- returned to the centre, and verified cases to close (the command centre);
- 延期 requests waiting for the centre's decision, and 挂账 cases whose review date has come
  (the command centre);
- unread notifications.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anshun.scoping import Jurisdiction
from incidents.models import (
    BacklogEntry,
    ExtensionRequest,
    Incident,
    IncidentAssignment,
    IncidentEvent,
    Notification,
)

S = Incident.Status
CAP = 99  # counts above this show as "99+"
SHOWN = 5


@dataclass
class Section:
    key: str
    title: str
    count: int
    items: list = field(default_factory=list)
    url: str = ""

    @property
    def count_display(self) -> str:
        return f"{CAP}+" if self.count > CAP else str(self.count)


def _live(actor) -> QuerySet[Incident]:
    return Incident.objects.visible_to(actor).filter(deleted_at__isnull=True)


def _unit_shares(actor, **filters) -> QuerySet[IncidentAssignment] | None:
    jurisdiction = Jurisdiction.of(actor)
    shares = IncidentAssignment.objects.filter(state=IncidentAssignment.State.OPEN, **filters)
    if jurisdiction.department_id is not None:
        return shares.filter(department_id=jurisdiction.department_id)
    if jurisdiction.grid_office_id is not None:
        return shares.filter(office_id=jurisdiction.grid_office_id)
    return None


def _section(key: str, title, incidents: QuerySet[Incident], url: str) -> Section:
    count = incidents.order_by()[: CAP + 1].count()
    items = (
        list(
            incidents.select_related("category")
            .only("pk", "status", "priority", "due_at", "reported_at", "category__code", "category__name")
            .order_by("reported_at", "pk")[:SHOWN]
        )
        if count
        else []
    )
    return Section(key=key, title=str(title), count=count, items=items, url=url)


def home_inbox(*, actor) -> list[Section]:
    """The sections that apply to ``actor``'s role, in the order the work comes to them."""
    sections: list[Section] = []
    unit_inbox = reverse("incidents:inbox")
    listing = reverse("incidents:list")
    if actor.can("incident.handle"):
        shares = _unit_shares(actor)
        if shares is not None:
            dispatched = _live(actor).filter(status=S.DISPATCHED, pk__in=shares.values("incident_id"))
            sections.append(_section("dispatched", _("Dispatched to my unit"), dispatched, unit_inbox))
            lead = _unit_shares(actor, part=IncidentAssignment.Part.LEAD)
            came_back = IncidentEvent.objects.filter(
                incident=OuterRef("pk"), to_status=S.HANDLING, from_status__in=(S.HANDLED, S.CLOSED)
            )
            returned = _live(actor).filter(
                Exists(came_back), status=S.HANDLING, pk__in=lead.values("incident_id")
            )
            sections.append(_section("returned", _("Returned to me"), returned, unit_inbox))
    if actor.can("incident.verify"):
        handled = _live(actor).filter(status=S.HANDLED)
        office_id = Jurisdiction.of(actor).grid_office_id
        if office_id is not None:
            handled = handled.filter(grid__office_id=office_id)
        sections.append(
            _section("verify", _("Awaiting my verification"), handled, f"{listing}?status={S.HANDLED}")
        )
    if actor.can("incident.dispatch"):
        back = _live(actor).filter(status=S.RETURNED)
        sections.append(
            _section("centre_returned", _("Returned by units"), back, f"{listing}?status={S.RETURNED}")
        )
        pending = ExtensionRequest.objects.filter(
            incident=OuterRef("pk"), state=ExtensionRequest.State.PENDING
        )
        sections.append(
            _section(
                "extensions",
                _("Extension requests to decide"),
                _live(actor).filter(Exists(pending)),
                reverse("incidents:extensions"),
            )
        )
        review = BacklogEntry.objects.filter(
            incident=OuterRef("pk"), state=BacklogEntry.State.ACTIVE, review_on__lte=timezone.localdate()
        )
        sections.append(
            _section(
                "backlog_review",
                _("Backlog reviews due"),
                _live(actor).filter(Exists(review)),
                reverse("incidents:backlog"),
            )
        )
    if actor.can("incident.close"):
        verified = _live(actor).filter(status=S.VERIFIED)
        sections.append(
            _section("close", _("Verified, awaiting closure"), verified, f"{listing}?status={S.VERIFIED}")
        )
    return sections


def unread_notifications(*, actor) -> tuple[int, list[Notification]]:
    """The capped count of the actor's unread notifications and the latest few of them."""
    unread = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    count = unread.order_by()[: CAP + 1].count()
    latest = list(unread.order_by("-created_at", "-id")[:SHOWN]) if count else []
    return count, latest
