"""Synthetic demo caseloads for the six projects (`manage.py load_anshun --demo`).

Every person is generated and visibly synthetic (names like 张某00042, flagged
``is_demo``); the figures of the source article are not stored anywhere, they come out
of ``selectors.metrics`` computed over these records: 2 special schools with 800+
students, 1299 of 1368 must-pick-up people picked up (95%), 9006 patients each with a
guardian, 8 specialist clinics, ¥21.6M+ paid, protection centres in 88 townships and
1007 villages, 260+ rural kindergartens; ¥18M+ invested in 育新, ¥800M+ in 雨露 and 1M+ m² of
boarding-school dormitories and canteens, summed from the facilities' own amounts. The
counts and amounts per person and facility (e.g. ¥2,400 a year per patient) are demo choices.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.roles import Role, SpecialProject
from anshun.commands import system_command
from anshun.db import analyze
from anshun.provenance import record_demo
from grids.models import Region
from special_groups.crypto import id_check_character, lookup_hash
from special_groups.models import (
    CaseTask,
    CheckIn,
    Enrollment,
    Guardian,
    Person,
    ServiceFacility,
    SubsidyPayment,
    Visit,
)
from special_groups.projects import PROJECTS
from special_groups.projects import project as project_entry

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)

# How many synthetic people each project gets (the counts the article's figures rest on).
SCHOOL_STUDENTS = (417, 395)  # two special schools
PICKUP_TARGETS, PICKED_UP = 1368, 1299
PATIENTS = 9006
SUBSIDY_PER_PATIENT = Decimal("2400.00")  # ¥200 a month in 2017
LEFT_BEHIND_CHILDREN, DRUG_USERS, HIV_PATIENTS = 320, 240, 60
# 回归's must-pick-up people are 刑释解戒 (the article's words): about one in five of the demo's
# 1368 is released from compulsory drug rehabilitation (解戒), a demo choice; the 1299 and 95%
# count both kinds.
REHAB_SHARE = 0.2
# 社区矫正: a demo caseload (the article gives no figure), weighted as caseloads usually are
# (mostly probation), each reporting monthly through their term.
UNDER_CORRECTION = 180
CORRECTION_WEIGHTS = {"huanxing": 70, "jiashi": 15, "jianwai": 10, "guanzhi": 5}
TOWNSHIPS_WITH_CENTRE, VILLAGES_WITH_CENTRE, RURAL_KINDERGARTENS = 88, 1007, 263
DEMO_YEAR = 2017
# What each facility cost and built (demo amounts; the article gives only the totals, which
# come out of the sums: 育新 ¥18.25M, 雨露 about ¥836M and about 1.06M m² of dormitories and
# canteens in 400 boarding schools).
SCHOOL_INVESTMENT = (Decimal("9600000"), Decimal("8650000"))
BOARDING_SCHOOLS = 400
DORMITORY_YUAN_PER_M2 = Decimal("650")
KINDERGARTEN_INVESTMENT = Decimal("480000")
TOWNSHIP_CENTRE_INVESTMENT, VILLAGE_CENTRE_INVESTMENT = Decimal("150000"), Decimal("10000")


def dormitory_area(index: int) -> Decimal:
    """Floor area of the dormitories and canteens built at the ``index``-th boarding school."""
    return Decimal(2200 + (index % 9) * 110)


@dataclass(frozen=True)
class DemoSummary:
    persons: int
    enrollments: int
    facilities: int
    skipped: bool

    def __str__(self) -> str:
        state = "already present, left unchanged" if self.skipped else "generated (synthetic people)"
        return f"{self.persons} people, {self.enrollments} enrolments, {self.facilities} facilities — {state}"


class _People:
    """Synthetic identities: unique, checksum-valid ID numbers in the person's own county."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.serial = 0

    def id_number(self, county_code: str, born: date) -> str:
        self.serial += 1
        first17 = f"{county_code}{born:%Y%m%d}{self.serial % 1000:03d}"
        return first17 + id_check_character(first17)

    def make(self, village: Region, *, project: str, age: tuple[int, int]) -> Person:
        born = date(DEMO_YEAR, 1, 1) - timedelta(days=365 * self.rng.randint(*age) + self.serial % 365)
        id_number = self.id_number(village.code[:6], born)
        return Person(
            project=project,
            name=f"{self.rng.choice(SURNAMES)}某{self.serial:05d}",
            id_number=id_number,
            id_number_hash=lookup_hash(id_number),
            phone=f"199{self.serial:08d}",
            address=f"{village.short_name} 演示地址{self.serial}号",
            region=village,
            is_demo=True,
        )


def _copy_for(person: Person, project: str) -> Person:
    """The same synthetic human as another project records them."""
    return Person(
        project=project,
        name=person.name,
        id_number=person.id_number,
        id_number_hash=person.id_number_hash,
        phone=person.phone,
        address=person.address,
        region=person.region,
        is_demo=True,
    )


def _spread(regions: list[Region], n: int) -> list[Region]:
    """``n`` of ``regions``, evenly spread over the list (so over every county), deterministic."""
    return [regions[i * len(regions) // n] for i in range(n)]


def _facilities(
    townships: list[Region], villages: list[Region], counties: list[Region]
) -> list[ServiceFacility]:
    rural = [v for v in villages if not v.is_community]
    yuxin, yulu, anning = SpecialProject.YUXIN, SpecialProject.YULU, SpecialProject.ANNING
    kind = ServiceFacility.Kind
    specs = [
        (yuxin, kind.SPECIAL_SCHOOL, "安顺市育新学校（演示）", townships[0], SCHOOL_INVESTMENT[0], None),
        (yuxin, kind.SPECIAL_SCHOOL, "安顺市第二育新学校（演示）", townships[40], SCHOOL_INVESTMENT[1], None),
    ]
    specs += [
        (anning, kind.PSYCHIATRIC_CLINIC, f"{c.name}精神专科门诊（演示）", c, None, None) for c in counties
    ]
    specs += [
        (
            yulu,
            kind.PROTECTION_CENTRE,
            f"{t.name}留守儿童救助保护中心（演示）",
            t,
            TOWNSHIP_CENTRE_INVESTMENT,
            None,
        )
        for t in _spread(townships, TOWNSHIPS_WITH_CENTRE)
    ]
    specs += [
        (
            yulu,
            kind.PROTECTION_CENTRE,
            f"{v.short_name}儿童关爱之家（演示）",
            v,
            VILLAGE_CENTRE_INVESTMENT,
            None,
        )
        for v in _spread(villages, VILLAGES_WITH_CENTRE)
    ]
    specs += [
        (yulu, kind.RURAL_KINDERGARTEN, f"{v.short_name}幼儿园（演示）", v, KINDERGARTEN_INVESTMENT, None)
        for v in _spread(rural, RURAL_KINDERGARTENS)
    ]
    specs += [
        (
            yulu,
            kind.BOARDING_SCHOOL,
            f"{t.name}寄宿制学校{i + 1}号学生宿舍、食堂（演示）",
            t,
            dormitory_area(i) * DORMITORY_YUAN_PER_M2,
            dormitory_area(i),
        )
        for i, t in enumerate(_spread(townships, BOARDING_SCHOOLS))
    ]
    rows = [
        ServiceFacility(
            project=project,
            kind=k,
            name=name,
            region=region,
            investment=investment,
            floor_area=area,
            is_demo=True,
        )
        for project, k, name, region, investment, area in specs
    ]
    return ServiceFacility.objects.bulk_create(rows)


def _backfill_facility_amounts() -> None:
    """A demo loaded before facilities had amounts: give its facilities theirs (idempotent)."""
    kind = ServiceFacility.Kind
    demo = ServiceFacility.objects.filter(is_demo=True, investment__isnull=True)
    for school, amount in zip(
        demo.filter(kind=kind.SPECIAL_SCHOOL).order_by("pk"), SCHOOL_INVESTMENT, strict=False
    ):
        ServiceFacility.objects.filter(pk=school.pk).update(investment=amount)
    demo.filter(kind=kind.RURAL_KINDERGARTEN).update(investment=KINDERGARTEN_INVESTMENT)
    demo.filter(kind=kind.PROTECTION_CENTRE, region__level=Region.Level.TOWNSHIP).update(
        investment=TOWNSHIP_CENTRE_INVESTMENT
    )
    demo.filter(kind=kind.PROTECTION_CENTRE, region__level=Region.Level.VILLAGE).update(
        investment=VILLAGE_CENTRE_INVESTMENT
    )
    if not ServiceFacility.objects.filter(is_demo=True, kind=kind.BOARDING_SCHOOL).exists():
        townships = list(
            Region.objects.filter(level=Region.Level.TOWNSHIP).defer("boundary").order_by("code")
        )
        ServiceFacility.objects.bulk_create(
            ServiceFacility(
                project=SpecialProject.YULU,
                kind=kind.BOARDING_SCHOOL,
                name=f"{t.name}寄宿制学校{i + 1}号学生宿舍、食堂（演示）",
                region=t,
                investment=dormitory_area(i) * DORMITORY_YUAN_PER_M2,
                floor_area=dormitory_area(i),
                is_demo=True,
            )
            for i, t in enumerate(_spread(townships, BOARDING_SCHOOLS))
        )


def _day(rng: random.Random, year: int = DEMO_YEAR) -> date:
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


@system_command(
    "load_anshun --demo: synthetic people and enrolments in bulk, no actor; never run on real data "
    "(it stops when demo people exist)."
)
@transaction.atomic
def load_demo_special_groups() -> DemoSummary:
    record_demo(app_label="special_groups")
    if Person.objects.filter(is_demo=True).exists():
        _backfill_facility_amounts()
        # A project added after the demo was loaded gets its own demo caseload now (and only it).
        have = set(Person.objects.filter(is_demo=True).values_list("project", flat=True).distinct())
        missing = [entry for entry in PROJECTS if entry.code not in have]
        if missing:
            _generate(
                missing, facilities=list(ServiceFacility.objects.filter(is_demo=True).defer("location"))
            )
        return DemoSummary(
            Person.objects.filter(is_demo=True).count(),
            Enrollment.objects.filter(person__is_demo=True).count(),
            ServiceFacility.objects.filter(is_demo=True).count(),
            skipped=not missing,
        )
    regions = list(Region.objects.defer("boundary").order_by("code"))
    counties = [r for r in regions if r.level == Region.Level.COUNTY]
    townships = [r for r in regions if r.level == Region.Level.TOWNSHIP]
    villages = [r for r in regions if r.level == Region.Level.VILLAGE]
    facilities = _facilities(townships, villages, counties)
    persons, enrollments = _generate(PROJECTS, facilities=facilities)
    return DemoSummary(persons, enrollments, len(facilities), skipped=False)


def _generate(entries, *, facilities: list[ServiceFacility]) -> tuple[int, int]:
    """The demo caseloads of ``entries`` (each project's own demo, named by its entry)."""
    rng = random.Random(20170319)
    regions = list(Region.objects.defer("boundary").order_by("code"))
    townships = [r for r in regions if r.level == Region.Level.TOWNSHIP]
    villages = [r for r in regions if r.level == Region.Level.VILLAGE]
    people = _People(rng)
    # Serials continue after the demo people already there, so ID numbers stay unique.
    people.serial = Person.objects.filter(is_demo=True).count()
    demo = DemoContext(
        rng=rng,
        people=people,
        villages=villages,
        schools=[f for f in facilities if f.kind == ServiceFacility.Kind.SPECIAL_SCHOOL],
        clinics={f.region_id: f for f in facilities if f.kind == ServiceFacility.Kind.PSYCHIATRIC_CLINIC},
        township_parent={t.pk: t.parent_id for t in townships},
        officers=_demo_officers(),
    )
    # Each project's entry names its demo (special_groups.projects): it adds its people and
    # says how each enrolment's facts are made.
    for entry in entries:
        entry.demo_loader()(demo)

    Person.objects.bulk_create(list({id(p): p for p, _make in demo.plan}.values()), batch_size=2000)
    enrollments: list[Enrollment] = []
    for index, (person, make) in enumerate(demo.plan):
        project = person.project
        enrollment = Enrollment(
            person=person,
            project=project,
            enrolled_on=_day(rng),
            case_officer=demo.officers.get(project)
            if person.region.path.startswith("5204/520402/")
            else None,
        )
        make(enrollment, index)
        enrollments.append(enrollment)
    Enrollment.objects.bulk_create(enrollments, batch_size=2000)
    _guardians_visits_payments(rng, demo.people, enrollments)
    for after in demo.after:
        after(enrollments)
    analyze(Person, Enrollment, ServiceFacility, Guardian, CaseTask, Visit, SubsidyPayment, CheckIn)
    return len({id(p) for p, _ in demo.plan}), len(enrollments)


@dataclass
class DemoContext:
    """What the projects' demos share: one random stream, one ID-number serial, the places, the
    facilities and the demo officers; ``plan`` collects (person, fn(enrollment, index)) in order,
    ``after`` what a project writes once its enrolments exist (check-ins...)."""

    rng: random.Random
    people: _People
    villages: list
    schools: list
    clinics: dict
    township_parent: dict
    officers: dict
    plan: list = field(default_factory=list)
    after: list = field(default_factory=list)

    def add(self, project: str, n: int, age: tuple[int, int], make=None) -> list[Person]:
        made = [self.people.make(self.rng.choice(self.villages), project=project, age=age) for _ in range(n)]
        self.plan.extend((p, make or _no_facts) for p in made)
        return made


def _no_facts(enrollment: Enrollment, index: int) -> None:
    return None


# ---- each project's demo (named by its entry in special_groups.projects) --------------------


def demo_yuxin(demo: DemoContext) -> None:
    """育新: the students of the two special schools (the article's 800+)."""
    for school, size in zip(demo.schools, SCHOOL_STUDENTS, strict=True):

        def make(enrollment, index, school=school):
            enrollment.facility = school
            enrollment.enrolled_on = _day(demo.rng, DEMO_YEAR - 1)

        demo.add(SpecialProject.YUXIN, size, (12, 17), make)


def demo_yulu(demo: DemoContext) -> None:
    """雨露: left-behind children, each with a carer (``_guardians_visits_payments``)."""
    demo.add(SpecialProject.YULU, LEFT_BEHIND_CHILDREN, (3, 15))


def demo_yangguang(demo: DemoContext) -> None:
    """阳光: drug users placed centrally or in the community (the article's two forms)."""

    def make(enrollment, index):
        enrollment.placement = demo.rng.choice(Enrollment.Placement.values)
        enrollment.relapse_flag = demo.rng.random() < 0.08

    demo.add(SpecialProject.YANGGUANG, DRUG_USERS, (18, 55), make)


def demo_huigui(demo: DemoContext) -> None:
    """回归: 1368 must-pick-up people released in 2017, 1299 of them picked up (95%)."""
    picked = set(demo.rng.sample(range(PICKUP_TARGETS), PICKED_UP))
    order = iter(range(PICKUP_TARGETS))

    def make(enrollment, index):
        n = next(order)
        enrollment.release_date = _day(demo.rng)
        enrollment.enrolled_on = enrollment.release_date - timedelta(days=30)
        if n in picked:
            enrollment.pickup_outcome = Enrollment.PickupOutcome.PICKED_UP
            enrollment.picked_up_on = enrollment.release_date
        else:
            enrollment.pickup_outcome = Enrollment.PickupOutcome.NOT_PICKED_UP
        enrollment.resettled = n in picked and n % 3 != 0
        rehab = demo.rng.random() < REHAB_SHARE
        enrollment.release_kind = (
            Enrollment.ReleaseKind.REHABILITATION if rehab else Enrollment.ReleaseKind.PRISON
        )

    returned = demo.add(SpecialProject.HUIGUI, PICKUP_TARGETS, (20, 60), make)
    # Some released people are also drug users: one human, two projects, two officers, and two
    # records (each project holds what its own officer recorded; nothing is shared).
    demo.plan.extend((_copy_for(p, SpecialProject.YANGGUANG), _no_facts) for p in returned[:15])


def demo_anning(demo: DemoContext) -> None:
    """安宁: 9006 registered patients at their county's clinic, one visit due each in 2017."""
    order = iter(range(PATIENTS))

    def make(enrollment, index):
        n = next(order)
        enrollment.risk_grade = demo.rng.choices(range(6), weights=(60, 20, 10, 6, 3, 1))[0]
        county_id = demo.township_parent.get(enrollment.person.region.parent_id)
        enrollment.facility = demo.clinics.get(county_id)
        # One visit due each patient in the demo year; about 96% are made on time.
        due = date(DEMO_YEAR, 1 + n % 12, 15)
        late = demo.rng.random() >= 0.96
        enrollment.last_visit_on = (
            due + timedelta(days=demo.rng.randint(3, 20))
            if late
            else due - timedelta(days=demo.rng.randint(0, 10))
        )
        enrollment.demo_visit_due = due

    demo.add(SpecialProject.ANNING, PATIENTS, (18, 80), make)


def demo_jiaozheng(demo: DemoContext) -> None:
    """社区矫正: people under correction whose terms run through today, with their monthly
    check-ins (报到) so far: the expected check-ins as done or missed tasks, and the check-ins
    made, in person, by phone or electronically (most on time, some late, a few missed)."""
    today = timezone.localdate()
    kinds, weights = zip(*CORRECTION_WEIGHTS.items(), strict=True)

    def make(enrollment, index):
        enrollment.correction_kind = demo.rng.choices(kinds, weights=weights)[0]
        enrollment.term_start = today - timedelta(days=demo.rng.randint(35, 330))
        enrollment.term_end = enrollment.term_start + timedelta(days=30 * demo.rng.randint(12, 36))
        enrollment.enrolled_on = enrollment.term_start

    demo.add(SpecialProject.JIAOZHENG, UNDER_CORRECTION, (18, 65), make)
    demo.after.append(lambda enrollments: _check_ins(demo.rng, enrollments, today))


def _check_ins(rng: random.Random, enrollments: list[Enrollment], today: date) -> None:
    tasks, check_ins = [], []
    ways = (CheckIn.Way.IN_PERSON, CheckIn.Way.PHONE, CheckIn.Way.ELECTRONIC)
    for enrollment in enrollments:
        if enrollment.project != SpecialProject.JIAOZHENG:
            continue
        due = enrollment.term_start + timedelta(days=30)
        while due < today:
            roll = rng.random()
            if roll < 0.04:  # did not report: the expected check-in stays open, and is overdue
                check_ins.append(
                    CheckIn(
                        enrollment=enrollment, checked_in_on=due, way=ways[0], outcome=CheckIn.Outcome.MISSED
                    )
                )
                tasks.append(
                    CaseTask(
                        enrollment=enrollment, kind=CaseTask.Kind.CHECK_IN, due_on=due, overdue_since=due
                    )
                )
                break
            late = roll < 0.12
            on = due + timedelta(days=rng.randint(1, 6)) if late else due - timedelta(days=rng.randint(0, 3))
            on = min(on, today)
            outcome = CheckIn.Outcome.LATE if late else CheckIn.Outcome.REPORTED
            check_ins.append(
                CheckIn(
                    enrollment=enrollment,
                    checked_in_on=on,
                    way=rng.choices(ways, (60, 25, 15))[0],
                    outcome=outcome,
                )
            )
            tasks.append(CaseTask(enrollment=enrollment, kind=CaseTask.Kind.CHECK_IN, due_on=due, done_on=on))
            due = on + timedelta(days=30)
    CaseTask.objects.bulk_create(tasks, batch_size=5000)
    CheckIn.objects.bulk_create(check_ins, batch_size=5000)


def demo_hongsidai(demo: DemoContext) -> None:
    """红丝带: a small caseload (the article gives no figure), seen by its officers only."""
    demo.add(SpecialProject.HONGSIDAI, HIV_PATIENTS, (18, 70))


def _guardians_visits_payments(rng: random.Random, people: _People, enrollments: list[Enrollment]) -> None:
    guardians, tasks, visits, payments = [], [], [], []
    for index, enrollment in enumerate(enrollments):
        if not project_entry(enrollment.project).guardian:
            continue
        county = enrollment.person.region.code[:6]
        guardian_id = people.id_number(county, date(1950 + index % 30, 1 + index % 12, 1 + index % 28))
        guardians.append(
            Guardian(
                enrollment=enrollment,
                name=f"{rng.choice(SURNAMES)}某监{index:05d}",
                id_number_hash=lookup_hash(guardian_id),
                phone=f"198{index:08d}",
                relation="祖父母"
                if enrollment.project == SpecialProject.YULU
                else rng.choice(("配偶", "父母", "子女")),
            )
        )
        if enrollment.project != SpecialProject.ANNING:
            continue
        done = enrollment.last_visit_on
        tasks.append(
            CaseTask(
                enrollment=enrollment,
                kind=CaseTask.Kind.VISIT,
                due_on=enrollment.demo_visit_due,
                done_on=done,
            )
        )
        visits.append(Visit(enrollment=enrollment, kind=Visit.Kind.VISIT, visited_on=done))
        payments.append(SubsidyPayment(enrollment=enrollment, paid_on=_day(rng), amount=SUBSIDY_PER_PATIENT))
    Guardian.objects.bulk_create(guardians, batch_size=2000)
    CaseTask.objects.bulk_create(tasks, batch_size=5000)
    Visit.objects.bulk_create(visits, batch_size=5000)
    SubsidyPayment.objects.bulk_create(payments, batch_size=5000)


def _demo_officers() -> dict[str, object]:
    """One demo case officer per project in 西秀区 (the accounts demo has the 回归 one)."""
    from accounts.demo import DEMO_PASSWORD
    from accounts.models import User
    from accounts.services import user_create

    xixiu = Region.objects.filter(code="520402").first()
    officers = {}
    for project in (entry.code for entry in PROJECTS):
        user = User.objects.filter(role=Role.CASE_OFFICER, special_project=project, region=xixiu).first()
        if user is None and xixiu is not None:
            user = user_create(
                username=f"caseofficer-{project}",
                password=DEMO_PASSWORD,
                role=Role.CASE_OFFICER,
                region=xixiu,
                special_project=project,
                display_name=f"{SpecialProject(project).label} 演示专干",
            )
        officers[project] = user
    return officers
