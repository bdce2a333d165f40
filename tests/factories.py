"""Factories for tests. Regions, offices and grids come from the real Anshun load;
users are made per role with a jurisdiction picked from it."""

from datetime import timedelta

import factory

from accounts.models import User
from accounts.roles import ROLE_JURISDICTION, JurisdictionKind, Role, SpecialProject
from grids.models import GridOffice, Region

TEST_PASSWORD = "test-password-123"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.CITY_OFFICIAL
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def validate(obj, create, extracted, **kwargs):
        obj.full_clean()
        if create:
            obj.save()


def user_for_role(
    role: str,
    *,
    region: Region | None = None,
    office: GridOffice | None = None,
    project: str = "",
    department=None,
    **extra,
) -> User:
    """A valid user of ``role``, defaulting to a jurisdiction inside 西秀区 (520402)."""
    kind, levels = ROLE_JURISDICTION[Role(role)]
    if kind == JurisdictionKind.DEPARTMENT and department is None:
        department = department_in(Region.objects.get(code="520402"), "police")
    if kind == JurisdictionKind.GRID_OFFICE and office is None:
        office = GridOffice.objects.filter(seat__code__startswith="520402005").order_by("code").first()
    if kind == JurisdictionKind.REGION and region is None:
        default_codes = {"city": "5204", "county": "520402", "township": "520402005"}
        level = next(lv for lv in ("township", "county", "city") if lv in levels)
        region = Region.objects.get(code=default_codes[level])
    if role == Role.CASE_OFFICER and not project:
        project = SpecialProject.HUIGUI
    return UserFactory(
        role=role,
        region=region,
        grid_office=office,
        special_project=project,
        department=department,
        is_superuser=(role == Role.ADMIN),
        is_staff=(role == Role.ADMIN),
        **extra,
    )


def department_in(region: Region, kind: str = "police"):
    """The functional department of ``kind`` in ``region`` (made as the demo loader names it)."""
    from incidents.demo_units import TITLES, department_code
    from incidents.models import Department

    department, _created = Department.objects.get_or_create(
        code=department_code(region, kind),
        defaults={"name": f"{region.name}{TITLES[region.level][kind]}", "kind": kind, "region": region},
    )
    return department


def api_token_for(user: User, *, name: str = "test client") -> str:
    """A live API key for ``user``, stored as the services store it, without their checks (a
    service account's admin issue, a person's password-and-code exchange), which
    tests/accounts/test_tokens.py tries as an attacker would."""
    from accounts.tokens import _mint

    return _mint(user=user, name=name, lifetime=timedelta(hours=12), created_by=None)[1]
