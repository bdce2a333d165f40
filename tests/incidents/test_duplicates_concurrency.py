"""Two dispatchers merging at once: rows are locked in id order, so crossed merges (A into B
while B goes into A) never deadlock and cannot both win, and a doubled merge is made once."""

import pytest

from accounts.roles import Role
from anshun.commands import Conflict
from grids.models import GridOffice
from incidents.models import Incident, IncidentCategory, IncidentEvent
from incidents.services.merge import merge_incident
from incidents.services.reporting import report_incident
from tests.factories import user_for_role
from tests.incidents.conftest import HOME_OFFICE_PREFIX, point_in
from tests.incidents.test_concurrency_and_worker import _race

pytestmark = pytest.mark.django_db(transaction=True)


def _pair():
    office = GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX).order_by("code").first()
    worker = user_for_role(Role.GRID_WORKER, office=office)
    rubbish = IncidentCategory.objects.get(code="exposed-rubbish")
    where = point_in(office.grids.order_by("code").first())
    return [
        report_incident(actor=worker, category=rubbish, description=text, location=where)[0]
        for text in ("垃圾甲", "垃圾乙")
    ]


def test_crossed_merges_do_not_deadlock_and_one_wins(incident_tree):
    a, b = _pair()
    one, two = user_for_role(Role.DISPATCHER), user_for_role(Role.DISPATCHER)
    outcomes = _race(
        lambda: merge_incident(actor=one, incident_id=a.pk, into=b),
        lambda: merge_incident(actor=two, incident_id=b.pk, into=a),
    )
    winners = [o for o in outcomes if isinstance(o, Incident)]
    losers = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    statuses = sorted(Incident.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True))
    assert statuses == ["merged", "reported"]


def test_the_same_merge_twice_at_once_is_made_once(incident_tree):
    a, b = _pair()
    one, two = user_for_role(Role.DISPATCHER), user_for_role(Role.DISPATCHER)
    outcomes = _race(
        lambda: merge_incident(actor=one, incident_id=a.pk, into=b),
        lambda: merge_incident(actor=two, incident_id=a.pk, into=b),
    )
    assert all(isinstance(o, Incident) and o.merged_into_id == b.pk for o in outcomes), outcomes
    assert IncidentEvent.objects.filter(incident=a, to_status="merged").count() == 1
    assert IncidentEvent.objects.filter(incident=b, changes__merged=a.pk).count() == 1
