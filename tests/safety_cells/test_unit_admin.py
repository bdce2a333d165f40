"""The prevention-unit admin adds units and members through ``prevention_unit_create`` and
``unit_member_add``: the commands' field errors land on the admin form, a policy refusal is an
admin error (not a 403 page, never a 500), and a refused add writes nothing. A unit, once set up,
is not changed or deleted here."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from accounts.roles import Role
from grids.models import Region
from safety_cells.models import PreventionUnit, UnitMember
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

ADD_UNIT = reverse("admin:safety_cells_preventionunit_add")
ADD_MEMBER = reverse("admin:safety_cells_unitmember_add")
TOWNSHIP, FAR_TOWNSHIP = "520402005", "520425101"


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return gettext(message)


def counts():
    return PreventionUnit.objects.count(), UnitMember.objects.count()


def unit_form(region: Region, **overrides) -> dict:
    data = {
        "name": "后台巡防队",
        "level": "township",
        "kind": "patrol_team",
        "region": region.pk,
        "is_active": "on",
    }
    data.update(overrides)
    return data


def staff(role, **kwargs):
    """A staff account of a narrower role, given the Django model permissions: the admin's own
    permission checks pass, so only the command's policy stands in the way."""
    user = user_for_role(role, **kwargs)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="safety_cells",
            codename__in=["add_preventionunit", "add_unitmember", "view_preventionunit", "view_unitmember"],
        )
    )
    return user


def test_the_admin_sets_up_a_unit_and_adds_a_member(client):
    client.force_login(user_for_role(Role.ADMIN))
    township = Region.objects.get(code=TOWNSHIP)
    created = client.post(ADD_UNIT, unit_form(township))
    assert created.status_code == 302, created.context["adminform"].form.errors
    unit = PreventionUnit.objects.get(name="后台巡防队")
    assert (unit.level, unit.region, unit.is_active) == ("township", township, True)
    member = client.post(
        ADD_MEMBER, {"unit": unit.pk, "name": " 张队员 ", "phone": "13800000000", "duty": "队长"}
    )
    assert member.status_code == 302, member.context["adminform"].form.errors
    assert list(unit.members.values_list("name", "duty")) == [("张队员", "队长")]
    # Set up, it is not changed or deleted here.
    change = reverse("admin:safety_cells_preventionunit_change", args=[unit.pk])
    assert client.post(change, unit_form(township, name="改名")).status_code == 403
    delete = reverse("admin:safety_cells_preventionunit_delete", args=[unit.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert PreventionUnit.objects.get(pk=unit.pk).name == "后台巡防队"


def test_the_commands_rules_are_form_errors_and_write_nothing(client):
    client.force_login(user_for_role(Role.ADMIN))
    before = counts()
    village = Region.objects.filter(level="village", code__startswith=TOWNSHIP).first()
    wrong_level = client.post(ADD_UNIT, unit_form(village))  # a township unit in a village
    assert wrong_level.status_code == 200
    assert "level" in wrong_level.context["adminform"].form.errors
    committee = client.post(ADD_UNIT, unit_form(Region.objects.get(code=TOWNSHIP), kind="security_committee"))
    assert "kind" in committee.context["adminform"].form.errors
    no_name = client.post(ADD_MEMBER, {"unit": "", "name": "", "phone": "", "duty": ""})
    assert no_name.status_code == 200 and no_name.context["adminform"].form.errors
    assert counts() == before


def test_an_official_out_of_scope_gets_the_field_error_of_a_missing_region(client):
    client.force_login(staff(Role.TOWNSHIP_OFFICIAL))
    before = counts()
    refused = client.post(ADD_UNIT, unit_form(Region.objects.get(code=FAR_TOWNSHIP)))
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["region"] == [zh("Not found in your jurisdiction.")]
    far_unit = PreventionUnit.objects.create(
        name="远方巡防队", level="township", kind="patrol_team", region=Region.objects.get(code=FAR_TOWNSHIP)
    )
    member = client.post(ADD_MEMBER, {"unit": far_unit.pk, "name": "越权", "phone": "", "duty": ""})
    assert member.status_code == 200 and member.context["adminform"].form.errors
    assert counts() == (before[0] + 1, before[1])


def test_a_role_without_the_capability_gets_an_admin_error_not_a_500(client):
    client.force_login(staff(Role.GRID_WORKER))  # patrols, does not manage units
    before = counts()
    refused = client.post(ADD_UNIT, unit_form(Region.objects.get(code=TOWNSHIP)))
    assert refused.status_code == 200
    assert refused.context["adminform"].form.non_field_errors()
    unit = PreventionUnit.objects.create(
        name="本镇巡防队", level="township", kind="patrol_team", region=Region.objects.get(code=TOWNSHIP)
    )
    before = counts()
    member = client.post(ADD_MEMBER, {"unit": unit.pk, "name": "无权", "phone": "", "duty": ""})
    assert member.status_code == 200 and member.context["adminform"].form.non_field_errors()
    assert counts() == before
