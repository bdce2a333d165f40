"""Seeding helpers for the special-groups tests: people made through the ORM (so that past
release dates and closed enrolments can be set up), each with a checksum-valid ID number."""

from __future__ import annotations

from datetime import date
from itertools import count

from grids.models import Region
from special_groups.crypto import id_check_character, lookup_hash
from special_groups.models import Enrollment, Person

_serial = count(1)

XIXIU_VILLAGE = "520402005"  # the first village of 东关街道, where test case officers work
OTHER_COUNTY_VILLAGE_PREFIX = "520425"  # 紫云


def id_number(county: str = "520402", born: str = "19800101") -> str:
    first17 = f"{county}{born}{next(_serial) % 1000:03d}"
    return first17 + id_check_character(first17)


def village(code_prefix: str = XIXIU_VILLAGE) -> Region:
    return Region.objects.filter(level="village", code__startswith=code_prefix).order_by("code").first()


def person(
    *, name: str = "测试人甲", region: Region | None = None, number: str | None = None, project: str = ""
) -> Person:
    """A person record; ``enroll`` gives it its project when it has none yet."""
    region = region or village()
    number = number or id_number(region.code[:6])
    return Person.objects.create(
        project=project,
        name=name,
        id_number=number,
        id_number_hash=lookup_hash(number),
        phone="13812345678",
        address="塔山社区测试路1号",
        region=region,
    )


def enroll(project: str, *, who: Person | None = None, **facts) -> Enrollment:
    """Enrol ``who`` in ``project``. A person record belongs to one project: the same human
    enrolled in a second project gets a second record (a copy, as that project's officer would
    have typed it), never a link to the first."""
    facts.setdefault("enrolled_on", date(2026, 1, 5))
    who = who or person()
    if not who.project:
        who.project = project
        who.save(update_fields=["project"])
    elif who.project != project:
        who = Person.objects.create(
            project=project,
            name=who.name,
            id_number=who.id_number,
            id_number_hash=who.id_number_hash,
            phone=who.phone,
            address=who.address,
            region=who.region,
        )
    return Enrollment.objects.create(person=who, project=project, **facts)
