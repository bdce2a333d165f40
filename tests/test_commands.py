"""The command boundary itself (anshun.commands) and the grids and surveys commands through every
door they have: the service, the API and the admin."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.test import RequestFactory
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from accounts.roles import Role
from anshun.commands import Conflict, Invalid, NotFound, NotPermitted, Policy, Rule
from anshun.middleware import CommandRefusedMiddleware
from grids.models import GridImport, Region
from grids.services.grid_import import start_grid_import
from surveys.demo import ensure_survey_setup
from surveys.models import CountingRule, EconomicIndicator, Item, RollupRun
from surveys.services.rollup import request_rollup
from surveys.services.setup import counting_rule_set, indicator_set
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

TOY = Policy(
    "toy",
    {
        "rename": Rule(capability="map.view", target="region"),
        "by_id": Rule(capability="map.view", target="region_id", target_model="grids.Region"),
        "refer": Rule(capability="map.view", refers=("other",)),
        "guarded": Rule(
            capability="map.view",
            condition=lambda actor, _t: "only admins" if not actor.is_superuser else None,
        ),
        "admins_only": Rule(capability="grids.import", target="region"),
    },
)


@TOY.command("rename")
def _rename(*, actor, region: Region) -> str:
    return region.code


@TOY.command("by_id")
def _by_id(*, actor, region_id: int) -> int:
    return region_id


@TOY.command("refer")
def _refer(*, actor, other: Region | None = None) -> str:
    return "done"


@TOY.command("guarded")
def _guarded(*, actor) -> str:
    return "done"


@TOY.command("admins_only")
def _admins_only(*, actor, region: Region) -> str:
    return "done"


def test_a_command_must_take_keyword_only_arguments_and_an_actor():
    with pytest.raises(ImproperlyConfigured):

        @TOY.command("rename")
        def positional(actor, region):  # pragma: no cover - refused at import
            return None

    with pytest.raises(ImproperlyConfigured):

        @TOY.command("rename")
        def no_actor(*, region):  # pragma: no cover - refused at import
            return None

    with pytest.raises(ImproperlyConfigured):
        TOY.command("no-such-rule")


def test_the_target_must_be_visible_and_hidden_is_the_same_as_missing():
    township = user_for_role(Role.TOWNSHIP_OFFICIAL)  # 520402005
    own = Region.objects.get(code="520402005")
    other = Region.objects.get(code="520422")  # 普定县
    assert _rename(actor=township, region=own) == "520402005"
    with pytest.raises(NotFound) as hidden:
        _rename(actor=township, region=other)
    with pytest.raises(NotFound) as missing:
        _by_id(actor=township, region_id=10**9)
    assert str(hidden.value) == str(missing.value)
    with pytest.raises(NotFound):
        _by_id(actor=township, region_id=other.pk)
    assert _by_id(actor=township, region_id=own.pk) == own.pk


def test_the_capability_is_checked_before_any_row_so_existence_never_shows():
    """A role without the capability gets the same 403 whether the target exists, is hidden or not."""
    township = user_for_role(Role.TOWNSHIP_OFFICIAL)
    answers = set()
    for region in (Region.objects.get(code="520402005"), Region.objects.get(code="520422"), Region(pk=10**9)):
        with pytest.raises(NotPermitted) as refused:
            _admins_only(actor=township, region=region)
        answers.add(str(refused.value))
    assert len(answers) == 1


def test_referred_objects_must_be_visible_and_the_error_names_only_the_field():
    township = user_for_role(Role.TOWNSHIP_OFFICIAL)
    assert _refer(actor=township, other=None) == "done"
    assert _refer(actor=township, other=Region.objects.get(code="520402005")) == "done"
    with pytest.raises(Invalid) as refused:
        _refer(actor=township, other=Region.objects.get(code="520422"))
    assert set(refused.value.message_dict) == {"other"}
    assert "520422" not in json.dumps(refused.value.message_dict, ensure_ascii=False)


def test_conditions_and_inactive_or_anonymous_actors():
    from django.contrib.auth.models import AnonymousUser

    township = user_for_role(Role.TOWNSHIP_OFFICIAL)
    with pytest.raises(NotPermitted, match="only admins"):
        _guarded(actor=township)
    assert _guarded(actor=user_for_role(Role.ADMIN)) == "done"
    township.is_active = False
    for actor in (township, AnonymousUser(), None):
        with pytest.raises(NotPermitted):
            _guarded(actor=actor)


class _Refusing(APIView):
    refusal = None

    def get(self, request):
        raise self.refusal


@pytest.mark.parametrize(
    ("refusal", "status", "key"),
    [
        (NotPermitted("no"), 403, "detail"),
        (NotFound(), 404, "detail"),
        (Conflict("key reused", field_name="client_uuid"), 409, "client_uuid"),
        (Invalid({"name": "bad"}), 400, "name"),
    ],
)
def test_the_api_renders_each_refusal_as_json(refusal, status, key):
    request = APIRequestFactory().get("/api/x/")
    from rest_framework.test import force_authenticate

    force_authenticate(request, user=user_for_role(Role.CITY_OFFICIAL))
    response = _Refusing.as_view(refusal=refusal)(request)
    assert response.status_code == status
    assert key in response.data


def test_pages_render_a_conflict_as_409(rf: RequestFactory):
    request = rf.get("/")
    request.user = user_for_role(Role.CITY_OFFICIAL)
    request.LANGUAGE_CODE = "zh-hans"
    response = CommandRefusedMiddleware(lambda r: None).process_exception(request, Conflict("已被他人修改"))
    assert response.status_code == 409
    assert "已被他人修改" in response.content.decode()


# ---- grids and surveys commands, through every door ------------------------------------------


def _geojson() -> ContentFile:
    return ContentFile(b'{"type": "FeatureCollection", "features": []}', name="grids.geojson")


def test_only_administrators_start_a_grid_import_by_service_and_admin(client):
    before = GridImport.objects.count()
    for role in (Role.CITY_OFFICIAL, Role.COUNTY_OFFICIAL, Role.DISPATCHER):
        with pytest.raises(NotPermitted):
            start_grid_import(actor=user_for_role(role), source=_geojson())
    assert GridImport.objects.count() == before
    admin = user_for_role(Role.ADMIN)
    created = start_grid_import(actor=admin, source=_geojson())
    assert created.created_by == admin


def test_the_survey_configuration_changes_only_through_its_commands(client):
    wave = ensure_survey_setup()
    item = Item.objects.get(code="satisfaction")
    county = user_for_role(Role.COUNTY_OFFICIAL)
    with pytest.raises(NotPermitted):
        counting_rule_set(actor=county, wave=wave, item=item, counted=[0], cant_say_in_denominator=False)
    with pytest.raises(NotPermitted):
        indicator_set(actor=county, region=county.region, year=2017, kind="gdp", growth_pct="99")
    with pytest.raises(NotPermitted):
        request_rollup(actor=county)
    assert CountingRule.objects.get(wave=wave, item=item).counted == [0, 1]
    assert not EconomicIndicator.objects.filter(growth_pct=99).exists()
    assert not RollupRun.objects.exists()

    # The admin's wave form saves its counting rules through the same command: the change is
    # validated there (a counted answer outside the scale is refused) and attributed to the admin.
    admin = user_for_role(Role.ADMIN)
    client.force_login(admin)
    rule = CountingRule.objects.get(wave=wave, item=item)
    rules = list(CountingRule.objects.filter(wave=wave).order_by("pk"))
    form = {
        "code": wave.code,
        "name": wave.name,
        "year": wave.year,
        "starts_on": wave.starts_on.isoformat(),
        "ends_on": wave.ends_on.isoformat(),
        "rules-TOTAL_FORMS": len(rules),
        "rules-INITIAL_FORMS": len(rules),
        "rules-MIN_NUM_FORMS": 0,
        "rules-MAX_NUM_FORMS": 1000,
    }
    prefix = _inline_prefix(client, wave)
    form = {k.replace("rules-", f"{prefix}-"): v for k, v in form.items()}
    for index, each in enumerate(rules):
        form[f"{prefix}-{index}-id"] = each.pk
        form[f"{prefix}-{index}-wave"] = wave.pk
        form[f"{prefix}-{index}-item"] = each.item_id
        form[f"{prefix}-{index}-counted"] = ",".join(str(c) for c in each.counted)
        if each.cant_say_in_denominator:
            form[f"{prefix}-{index}-cant_say_in_denominator"] = "on"
    index = rules.index(rule)
    form[f"{prefix}-{index}-counted"] = "0"
    response = client.post(f"/admin/surveys/wave/{wave.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert rule.counted == [0]
    latest = CountingRule.history.filter(id=rule.pk).order_by("-history_id").first()
    assert latest.history_user == admin
    # Deleting what published rates were built on is not offered at all.
    assert client.post(f"/admin/surveys/wave/{wave.pk}/delete/", {"post": "yes"}).status_code == 403


def _inline_prefix(client, wave) -> str:
    page = client.get(f"/admin/surveys/wave/{wave.pk}/change/").content.decode()
    marker = 'name="'
    start = page.index(marker, page.index("-TOTAL_FORMS") - 60) + len(marker)
    return page[start : page.index("-TOTAL_FORMS", start)]


def test_survey_uploads_need_the_import_capability_on_the_api():
    ensure_survey_setup()
    api = APIClient()
    api.force_authenticate(user_for_role(Role.COUNTY_OFFICIAL))
    from surveys.models import Response
    from tests.surveys.conftest import row, villages_in

    rows = [row(villages_in("520402", 1)[0])]
    response = api.post(
        "/api/survey-responses/bulk/", {"wave": "2017-annual", "responses": rows}, format="json"
    )
    assert response.status_code == 403
    assert not Response.objects.exists()
