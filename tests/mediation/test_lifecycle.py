"""A dispute from intake (or a grid incident's referral) to the court's ruling, and the bad input
that must be refused with nothing written."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from accounts.roles import Role
from grids.models import Region
from incidents.models import Duty, IncidentCategory, IncidentEvent
from mediation import selectors, services
from mediation.models import (
    CaseEvent,
    CaseReferral,
    JudicialConfirmation,
    MediationAgreement,
    MediationCase,
    MediationCommittee,
    Party,
)
from mediation.seed import PROFESSIONAL_COMMITTEES, ensure_professional_committees
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def test_nine_professional_committees_are_seeded_once(committees):
    professional = MediationCommittee.objects.filter(kind=MediationCommittee.Kind.PROFESSIONAL)
    assert professional.count() == len(PROFESSIONAL_COMMITTEES) == 9
    assert {"道路交通事故", "医患纠纷", "景区旅游纠纷", "征地拆迁"} <= set(
        professional.values_list("dispute_type", flat=True)
    )
    assert ensure_professional_committees() == 0
    assert MediationCommittee.objects.filter(kind="township", region__code__startswith="520402").count() == (
        Region.objects.filter(level="township", code__startswith="520402").count()
    )


def test_full_life_cycle_on_one_timeline(open_case, mediator):
    case = open_case(intake=date(2026, 3, 1), amount_in_dispute=8000)
    services.session_record(
        actor=mediator,
        case=case,
        held_at=_at(date(2026, 3, 3)),
        place="调解室",
        attendees="双方",
        next_step="再谈",
    )
    services.session_record(
        actor=mediator, case=case, held_at=_at(date(2026, 3, 10)), place="调解室", attendees="双方"
    )
    services.agreement_record(actor=mediator, case=case, terms="赔偿5000元", signed_on=date(2026, 3, 10))
    services.confirmation_apply(
        actor=mediator, case=case, court="西秀区人民法院", applied_on=date(2026, 3, 15)
    )
    services.confirmation_decide(actor=mediator, case=case, accepted=True, decided_on=date(2026, 3, 16))
    services.ruling_record(
        actor=mediator,
        case=case,
        ruled_on=date(2026, 3, 25),
        ruling_number="（2026）黔0402民特7号",
        confirmed=True,
    )
    services.performance_record(
        actor=mediator, case=case, performance="performed", checked_on=date(2026, 4, 10)
    )
    case.refresh_from_db()
    assert (case.status, case.closed_on) == (MediationCase.Status.AGREEMENT, date(2026, 3, 10))
    assert case.sessions.count() == 2 and case.parties.count() == 2
    kinds = [entry.kind for entry in selectors.case_timeline(case=case)]
    assert kinds == [
        "opened",
        "assigned",
        "session",
        "session",
        "agreement",
        "confirmation_applied",
        "confirmation_decided",
        "ruling",
        "performance",
    ]


def test_the_case_can_end_without_agreement(open_case, mediator):
    case = open_case()
    services.case_close(
        actor=mediator, case=case, status="no_agreement", closed_on=date(2026, 3, 20), note="差距大"
    )
    with pytest.raises(ValidationError):
        services.agreement_record(actor=mediator, case=case, terms="t", signed_on=date(2026, 3, 21))
    assert not MediationAgreement.objects.filter(case=case).exists()


def _counts():
    return (MediationCase.objects.count(), Party.objects.count(), CaseEvent.objects.count())


def test_a_party_without_a_name_is_refused_and_nothing_written(traffic, mediator, dongguan_village):
    before = _counts()
    with pytest.raises(ValidationError) as error:
        services.case_open(
            actor=mediator,
            committee=traffic,
            region=dongguan_village,
            dispute_type="x",
            summary="y",
            intake_date=date(2026, 3, 1),
            parties=[services.PartyInput(name="张三"), services.PartyInput(name="  ")],
        )
    assert "parties" in error.value.message_dict
    assert _counts() == before


def test_a_mediator_outside_the_committee_is_refused(committees, mediator, dongguan_village):
    medical = MediationCommittee.objects.get(dispute_type="医患纠纷")
    before = _counts()
    with pytest.raises(ValidationError) as error:
        services.case_open(
            actor=mediator,
            committee=medical,
            region=dongguan_village,
            dispute_type="医患纠纷",
            summary="y",
            intake_date=date(2026, 3, 1),
            parties=[services.PartyInput(name="张三")],
            mediator=mediator,
        )
    assert "mediator" in error.value.message_dict
    assert _counts() == before


def test_dates_out_of_order_are_refused(open_case, mediator):
    case = open_case(intake=date(2026, 3, 10))
    with pytest.raises(ValidationError) as error:
        services.agreement_record(actor=mediator, case=case, terms="t", signed_on=date(2026, 3, 9))
    assert "signed_on" in error.value.message_dict
    case.refresh_from_db()
    assert case.status == MediationCase.Status.IN_MEDIATION and not hasattr(case, "agreement")
    with pytest.raises(ValidationError):
        services.session_record(
            actor=mediator, case=case, held_at=_at(date(2026, 3, 1)), place="p", attendees="a"
        )
    services.agreement_record(actor=mediator, case=case, terms="t", signed_on=date(2026, 3, 12))
    with pytest.raises(ValidationError) as error:
        services.confirmation_apply(actor=mediator, case=case, court="法院", applied_on=date(2026, 3, 11))
    assert "applied_on" in error.value.message_dict
    services.confirmation_apply(actor=mediator, case=case, court="法院", applied_on=date(2026, 3, 20))
    with pytest.raises(ValidationError):
        services.confirmation_decide(actor=mediator, case=case, accepted=True, decided_on=date(2026, 3, 19))
    services.confirmation_decide(actor=mediator, case=case, accepted=True, decided_on=date(2026, 3, 21))
    with pytest.raises(ValidationError) as error:
        services.ruling_record(
            actor=mediator, case=case, ruled_on=date(2026, 3, 18), ruling_number="n", confirmed=True
        )
    assert "ruled_on" in error.value.message_dict
    confirmation = JudicialConfirmation.objects.get(agreement__case=case)
    assert (confirmation.ruled_on, confirmation.outcome) == (None, "pending")


def test_an_extension_needs_a_reason(open_case, mediator):
    case = open_case()
    with pytest.raises(ValidationError):
        services.mediation_extend(actor=mediator, case=case, days=10, reason="")
    case.refresh_from_db()
    assert case.extension_days == 0


def test_a_dispute_incident_is_referred_once_and_its_events_join_the_timeline(
    traffic, mediator, make_incident
):
    incident = make_incident()
    IncidentEvent.objects.create(
        incident=incident, from_status="reported", to_status="registered", note="立案"
    )
    official = user_for_role(Role.TOWNSHIP_OFFICIAL)
    case = services.incident_refer(actor=official, incident=incident, committee=traffic, mediator=mediator)
    again = services.incident_refer(actor=official, incident=incident, committee=traffic)
    assert again.pk == case.pk
    assert CaseReferral.objects.filter(incident=incident).count() == 1
    assert (case.source, case.source_incident_id, case.region_id) == (
        "grid_incident",
        incident.pk,
        incident.grid.village_id,
    )
    sources = [(e.source, e.kind) for e in selectors.case_timeline(case=case)]
    assert sources[:2] == [("incident", "reported"), ("incident", "registered")]
    assert ("mediation", "opened") in sources


def test_only_conflict_incidents_are_referred(traffic, make_incident):
    other, _ = IncidentCategory.objects.get_or_create(
        code="exposed-rubbish", defaults={"name": "暴露垃圾", "duty": Duty.ENVIRONMENT}
    )
    incident = make_incident(category=other)
    with pytest.raises(ValidationError):
        services.incident_refer(
            actor=user_for_role(Role.TOWNSHIP_OFFICIAL), incident=incident, committee=traffic
        )
    assert not MediationCase.objects.filter(source_incident=incident).exists()


def test_mediators_are_suggested_by_speciality_then_workload(traffic, mediator, open_case):
    xixiu = Region.objects.get(code="520402")
    generalist = user_for_role(Role.MEDIATOR, region=xixiu)
    busy_specialist = user_for_role(Role.MEDIATOR, region=xixiu)
    services.membership_add(
        actor=user_for_role(Role.ADMIN), committee=traffic, user=generalist, speciality=""
    )
    services.membership_add(
        actor=user_for_role(Role.ADMIN), committee=traffic, user=busy_specialist, speciality="道路交通事故"
    )
    open_case()  # two open cases for `mediator`, none for the others
    open_case()
    suggestions = selectors.suggest_mediators(committee=traffic, dispute_type="道路交通事故")
    assert [s.membership.user for s in suggestions] == [busy_specialist, mediator, generalist]
    assert [s.open_cases for s in suggestions] == [0, 2, 0]


def test_only_mediators_sit_on_committees(traffic):
    with pytest.raises(ValidationError):
        services.membership_add(
            actor=user_for_role(Role.ADMIN), committee=traffic, user=user_for_role(Role.LAWYER)
        )
