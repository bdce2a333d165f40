"""Demo records for `make run`: committees, centres, mediators, disputes at every stage and the
lawyers' duty roster. Idempotent; every figure on the pages is computed from these rows."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_create
from anshun.commands import system_command
from anshun.db import analyze
from anshun.provenance import record_demo
from grids.models import Region
from mediation import seed, services
from mediation.models import (
    CaseEvent,
    CommitteeMembership,
    DutyShift,
    JudicialConfirmation,
    LegalServiceCentre,
    LitigationRepresentation,
    MediationAgreement,
    MediationCase,
    MediationCommittee,
    MediationSession,
    Party,
    ReceptionDay,
)

DEMO_PASSWORD = "anshun-demo-2026"  # noqa: S105 - published demo credential, dev only
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗"


def _demo_user(username: str, role: str, region: Region, display_name: str) -> User:
    user = User.objects.filter(username=username).first()
    return user or user_create(
        username=username, password=DEMO_PASSWORD, role=role, region=region, display_name=display_name
    )


@system_command(
    "make run's demo loader: writes committees, seats, dated cases at every stage and the roster in "
    "bulk, with no person behind them (the dates lie in the past, which no command would accept)"
)
@transaction.atomic
def load_demo() -> str:
    record_demo(app_label="mediation")
    seed.ensure_professional_committees()
    seed.ensure_township_committees()
    seed.ensure_legal_centres()
    xixiu = Region.objects.get(code="520402")
    pingba = Region.objects.get(code="520403")
    dongguan = Region.objects.get(code="520402005")
    for village in Region.objects.filter(parent=dongguan).order_by("code")[:3]:
        MediationCommittee.objects.get_or_create(
            region=village,
            name=f"{village.short_name}人民调解委员会",
            defaults={"kind": MediationCommittee.Kind.VILLAGE},
        )
    mediators = [
        _demo_user("mediator", Role.MEDIATOR, xixiu, "调解员 演示"),
        _demo_user("mediator2", Role.MEDIATOR, xixiu, "调解员 二"),
        _demo_user("mediator3", Role.MEDIATOR, dongguan, "调解员 三"),
    ]
    lawyers = [
        _demo_user("lawyer", Role.LAWYER, xixiu, "值班律师 演示"),
        _demo_user("lawyer2", Role.LAWYER, pingba, "值班律师 二"),
    ]
    committees = list(
        MediationCommittee.objects.filter(kind=MediationCommittee.Kind.PROFESSIONAL).order_by("pk")
    ) + list(MediationCommittee.objects.filter(region__path__startswith=dongguan.path).order_by("pk"))
    for index, committee in enumerate(committees):
        for mediator in mediators[: 2 + index % 2]:
            CommitteeMembership.objects.get_or_create(
                committee=committee, user=mediator, defaults={"speciality": committee.dispute_type}
            )
    _demo_roster(xixiu=xixiu, pingba=pingba, lawyers=lawyers)
    _demo_representations(lawyers=lawyers)
    if MediationCase.objects.exists():
        return "already present, left unchanged"
    created = _demo_cases(committees=committees, mediators=mediators, township=dongguan)
    return f"{len(committees)} committees with mediators, {created} demo cases, duty roster"


def _demo_roster(*, xixiu: Region, pingba: Region, lawyers: list[User]) -> None:
    """Reception days on weekdays this month and next in 西秀 and 平坝, each with a lawyer on duty,
    except one uncovered day so the clash list has something to show."""
    today = timezone.localdate()
    start = today.replace(day=1)
    centres = {
        xixiu.pk: LegalServiceCentre.objects.get(region=xixiu),
        pingba.pk: LegalServiceCentre.objects.get(region=pingba),
    }
    receptions, shifts = [], []
    for offset in range(62):
        day = start + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for index, centre in enumerate(centres.values()):
            receptions.append(ReceptionDay(centre=centre, date=day, leader="区领导"))
            if not (index == 1 and day.day == 15):
                shifts.append(DutyShift(centre=centre, date=day, lawyer=lawyers[index]))
    ReceptionDay.objects.bulk_create(receptions, ignore_conflicts=True)
    DutyShift.objects.bulk_create(shifts, ignore_conflicts=True)


# Litigation representation (代理诉讼) by the centres' lawyers: demo records, invented causes.
REPRESENTATION_CAUSES = (
    "民间借贷纠纷",
    "劳动争议",
    "机动车交通事故责任纠纷",
    "婚姻家庭纠纷",
    "土地承包经营权纠纷",
)


def _demo_representations(*, lawyers: list[User]) -> int:
    """A few lawsuits per county centre in 2017, each represented by a centre lawyer (demo)."""
    if LitigationRepresentation.objects.filter(is_demo=True).exists():
        return 0
    rng = random.Random(2017)
    centres = list(
        LegalServiceCentre.objects.filter(region__level=Region.Level.COUNTY).order_by("region__code")
    )
    rows = []
    for index, centre in enumerate(centres):
        for number in range(3 + index % 3):
            accepted = timezone.datetime(2017, 1 + (number * 4 + index) % 12, 1 + rng.randrange(28)).date()
            concluded = number % 2 == 0
            rows.append(
                LitigationRepresentation(
                    centre=centre,
                    client_name=rng.choice(SURNAMES) + "某",
                    cause=REPRESENTATION_CAUSES[(index + number) % len(REPRESENTATION_CAUSES)],
                    court=f"{centre.region.name}人民法院",
                    lawyer=lawyers[index % len(lawyers)],
                    accepted_on=accepted,
                    status=LitigationRepresentation.Status.CONCLUDED
                    if concluded
                    else LitigationRepresentation.Status.ONGOING,
                    concluded_on=accepted + timedelta(days=60 + rng.randrange(60)) if concluded else None,
                    is_demo=True,
                )
            )
    LitigationRepresentation.objects.bulk_create(rows)
    return len(rows)


def _demo_cases(*, committees, mediators, township: Region) -> int:
    rng = random.Random(5204)
    villages = list(Region.objects.filter(parent=township).order_by("code"))
    today = timezone.localdate()
    cases = []
    for number in range(60):
        committee = committees[number % len(committees)]
        intake = today - timedelta(days=rng.randint(2, 150))
        roll = rng.random()
        status = MediationCase.Status.IN_MEDIATION
        if (today - intake).days > 10:
            status = (
                MediationCase.Status.AGREEMENT
                if roll < 0.7
                else rng.choice(
                    [
                        MediationCase.Status.NO_AGREEMENT,
                        MediationCase.Status.WITHDRAWN,
                        MediationCase.Status.REFERRED_ON,
                    ]
                )
            )
        closed_on = (
            intake + timedelta(days=rng.randint(3, min(40, (today - intake).days)))
            if status != "in_mediation"
            else None
        )
        cases.append(
            MediationCase(
                committee=committee,
                region=rng.choice(villages),
                source=rng.choice(MediationCase.Source.values),
                dispute_type=committee.dispute_type or "邻里纠纷",
                summary=f"{committee.dispute_type or '邻里'}纠纷（演示数据）",
                amount_in_dispute=rng.choice([None, 2000, 15000, 86000]),
                mediator=mediators[number % 2],
                intake_date=intake,
                status=status,
                closed_on=closed_on,
            )
        )
    MediationCase.objects.bulk_create(cases)
    parties, sessions, agreements, events = [], [], [], []
    for case in cases:
        for side in (Party.Side.APPLICANT, Party.Side.RESPONDENT):
            parties.append(
                Party(
                    case=case,
                    side=side,
                    name=rng.choice(SURNAMES) + "某",
                    phone="1380000" + str(rng.randint(1000, 9999)),
                )
            )
        held = timezone.make_aware(
            timezone.datetime.combine(
                case.intake_date + timedelta(days=1), timezone.datetime.min.time().replace(hour=9)
            )
        )
        sessions.append(MediationSession(case=case, held_at=held, place="调解室", attendees="双方当事人"))
        events.append(
            CaseEvent(case=case, kind="opened", at=held - timedelta(days=1), note=case.get_source_display())
        )
        if case.status == MediationCase.Status.AGREEMENT:
            agreements.append(
                MediationAgreement(
                    case=case,
                    terms="被申请人赔偿申请人损失，分两期付清。",
                    signed_on=case.closed_on,
                    effective_on=case.closed_on,
                )
            )
    Party.objects.bulk_create(parties)
    MediationSession.objects.bulk_create(sessions)
    CaseEvent.objects.bulk_create(events)
    MediationAgreement.objects.bulk_create(agreements)
    confirmations = []
    for agreement in agreements:
        if rng.random() < 0.6:
            applied = agreement.effective_on + timedelta(days=rng.randint(1, 35))
            if applied > today:
                continue
            decided = applied + timedelta(days=rng.randint(1, 3))
            ruled = decided + timedelta(days=rng.randint(3, 15))
            done = ruled <= today
            confirmations.append(
                JudicialConfirmation(
                    agreement=agreement,
                    court="安顺市西秀区人民法院",
                    applied_on=applied,
                    applied_late=applied > agreement.effective_on + timedelta(days=30),
                    decision=JudicialConfirmation.Decision.ACCEPTED
                    if decided <= today
                    else JudicialConfirmation.Decision.PENDING,
                    decided_on=decided if decided <= today else None,
                    ruled_on=ruled if done else None,
                    ruling_number=f"（{ruled:%Y}）黔0402民特{rng.randint(100, 999)}号" if done else "",
                    outcome=JudicialConfirmation.Outcome.CONFIRMED
                    if done
                    else JudicialConfirmation.Outcome.PENDING,
                )
            )
    JudicialConfirmation.objects.bulk_create(confirmations)
    # Inserted in bulk, past the services: put the cases on the deadline job's queue.
    services.deadline_queue_rebuild(cases=MediationCase.objects.filter(pk__in=[c.pk for c in cases]))
    analyze(MediationCase, Party, MediationSession, CaseEvent, MediationAgreement, JudicialConfirmation)
    return len(cases)
