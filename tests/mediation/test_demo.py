"""The demo loader: idempotent, and its figures come from the rows it writes."""

import pytest
from django.db.models import F

from mediation.demo import load_demo
from mediation.models import DutyShift, MediationCase, MediationCommittee, ReceptionDay
from mediation.selectors import roster_clashes
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def test_demo_load_is_idempotent():
    first = load_demo()
    counts = (
        MediationCommittee.objects.count(),
        MediationCase.objects.count(),
        ReceptionDay.objects.count(),
        DutyShift.objects.count(),
    )
    assert "60 demo cases" in first
    assert load_demo() == "already present, left unchanged"
    assert counts == (
        MediationCommittee.objects.count(),
        MediationCase.objects.count(),
        ReceptionDay.objects.count(),
        DutyShift.objects.count(),
    )
    assert MediationCommittee.objects.filter(kind="professional").count() == 9
    # Every case's mediator sits on its committee.
    assert not MediationCase.objects.exclude(committee__memberships__user=F("mediator")).exists()
    admin = user_for_role("admin")
    days = ReceptionDay.objects.order_by("date").values_list("date", flat=True)
    clashes = roster_clashes(actor=admin, start=days.first(), end=days.last())
    assert {c.kind for c in clashes} == {"uncovered"}
