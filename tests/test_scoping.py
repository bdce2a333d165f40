"""The access-scoping mechanism: a role × endpoint matrix where every cross-jurisdiction
read is denied, and the guards that stop a view from skipping the mechanism."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from accounts.roles import Role
from anshun.api.base import ScopedReadOnlyViewSet, ScopedViewSetMixin
from anshun.api.router import router
from anshun.scoping import assert_scoped
from grids import selectors
from grids.models import Grid, GridOffice, Region
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

# A township of 西秀区 (东关街道) and a county elsewhere (紫云) for "outside" probes.
HOME_TOWNSHIP = "520402005"
OTHER_COUNTY = "520425"

ENDPOINTS = {
    "regions": ("region", "code", lambda o: o.path),
    "grid-offices": ("grid-office", "code", lambda o: o.seat.path),
    "grids": ("grid", "code", lambda o: o.village.path),
}


def _objects(endpoint):
    if endpoint == "regions":
        return Region.objects.all()
    if endpoint == "grid-offices":
        return GridOffice.objects.select_related("seat")
    return Grid.objects.select_related("village", "office")


def _allowed(user, endpoint, obj) -> bool:
    """The rule stated independently of the implementation: who may see what."""
    if user.is_platform_admin:
        return True
    if user.grid_office_id:
        if endpoint == "regions":
            return Grid.objects.filter(office_id=user.grid_office_id, village=obj).exists()
        if endpoint == "grid-offices":
            return obj.pk == user.grid_office_id
        return obj.office_id == user.grid_office_id
    return ENDPOINTS[endpoint][2](obj).startswith(user.region.path)


def _probe_objects(endpoint, user):
    """Objects inside and outside the user's jurisdiction to request one by one."""
    objects = _objects(endpoint)
    inside = None
    if user.grid_office_id:
        office = user.grid_office
        inside = {
            "regions": lambda: office.seat,
            "grid-offices": lambda: office,
            "grids": lambda: office.grids.first(),
        }[endpoint]()
    elif not user.is_platform_admin:
        path_lookup = {"regions": "path", "grid-offices": "seat__path", "grids": "village__path"}
        inside = objects.filter(**{f"{path_lookup[endpoint]}__startswith": user.region.path}).last()
    far = {
        "regions": Region.objects.filter(code__startswith=OTHER_COUNTY).last(),
        "grid-offices": GridOffice.objects.filter(code__startswith=OTHER_COUNTY).last(),
        "grids": Grid.objects.filter(code__startswith=OTHER_COUNTY).last(),
    }[endpoint]
    near = {
        "regions": Region.objects.filter(code__startswith="520402")
        .exclude(code__startswith=HOME_TOWNSHIP)
        .exclude(code="520402")
        .first(),
        "grid-offices": GridOffice.objects.filter(code__startswith="520402")
        .exclude(code__startswith=HOME_TOWNSHIP)
        .first(),
        "grids": Grid.objects.filter(code__startswith=HOME_TOWNSHIP)
        .exclude(office_id=user.grid_office_id)
        .first(),
    }[endpoint]
    return [o for o in (inside, far, near) if o is not None]


ROLES = [r for r in Role]


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_role_endpoint_matrix(api_client, role, endpoint):
    user = user_for_role(role)
    api_client.force_authenticate(user)
    basename, lookup, _path = ENDPOINTS[endpoint]
    if not user.can("map.view"):
        # A role with no map (a functional department's staff) is refused the map's layers.
        assert api_client.get(reverse(f"{basename}-list")).status_code == 403
        return

    listed = set()
    url, params = reverse(f"{basename}-list"), {"page_size": 1000}
    while url:
        response = api_client.get(url, params)
        assert response.status_code == 200
        body = response.json()
        items = body.get("results", body.get("features"))
        listed |= {item.get("code") or item.get("id") for item in items}
        url, params = body.get("next"), None
    expected = {o.code for o in _objects(endpoint) if _allowed(user, endpoint, o)}
    assert listed == expected, f"{role} listed {len(listed)} {endpoint}, expected {len(expected)}"

    denied = allowed = 0
    for obj in _probe_objects(endpoint, user):
        detail = api_client.get(reverse(f"{basename}-detail", kwargs={lookup: obj.code}))
        if _allowed(user, endpoint, obj):
            assert detail.status_code == 200, obj.code
            allowed += 1
        else:
            assert detail.status_code == 404, f"{role} read {endpoint} {obj.code} outside its scope"
            denied += 1
    assert allowed >= 1 or user.is_platform_admin
    citywide = user.is_platform_admin or (user.region is not None and user.region.level == "city")
    assert denied >= 1 or citywide


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_anonymous_gets_nothing(client, endpoint):
    basename = ENDPOINTS[endpoint][0]
    assert client.get(reverse(f"{basename}-list")).status_code in (401, 403)


def test_children_of_a_region_outside_scope_are_hidden(api_client):
    user = user_for_role(Role.TOWNSHIP_OFFICIAL)
    api_client.force_authenticate(user)
    assert api_client.get(reverse("region-children", kwargs={"code": OTHER_COUNTY})).status_code == 404
    ok = api_client.get(reverse("region-children", kwargs={"code": HOME_TOWNSHIP}))
    assert ok.status_code == 200
    codes = {f["id"] for f in ok.json()["features"]}
    assert codes and all(c.startswith(HOME_TOWNSHIP) for c in codes)


def test_within_filter_cannot_widen_scope(api_client):
    user = user_for_role(Role.TOWNSHIP_OFFICIAL)
    api_client.force_authenticate(user)
    response = api_client.get(reverse("grid-list"), {"within": "5204", "page_size": 5000})
    codes = [f["id"] for f in response.json()["features"]]
    assert codes and all(code.startswith(HOME_TOWNSHIP) for code in codes)
    assert api_client.get(reverse("grid-list"), {"within": OTHER_COUNTY}).json()["features"] == []


def test_inactive_user_sees_nothing(api_client):
    user = user_for_role(Role.CITY_OFFICIAL)
    assert Grid.objects.visible_to(user).exists()
    user.is_active = False
    assert not Grid.objects.visible_to(user).exists()


def test_user_without_jurisdiction_sees_nothing():
    from accounts.models import User

    orphan = User(username="orphan", role=Role.CITY_OFFICIAL)
    orphan.save()
    assert not Region.objects.visible_to(orphan).exists()


def test_every_registered_viewset_is_scoped():
    assert router.registry
    for prefix, viewset, _basename in router.registry:
        assert issubclass(viewset, ScopedViewSetMixin), prefix


def test_a_viewset_cannot_override_get_queryset():
    with pytest.raises(ImproperlyConfigured):

        class Leaky(ScopedReadOnlyViewSet):  # noqa: F841
            def get_queryset(self):
                return Grid.objects.all()


def test_a_page_cannot_override_get_queryset():
    from django.views.generic import ListView

    from anshun.views import ScopedPageMixin

    with pytest.raises(ImproperlyConfigured):

        class LeakyPage(ScopedPageMixin, ListView):  # noqa: F841
            def get_queryset(self):
                return Grid.objects.all()


def test_unscoped_or_foreign_querysets_are_refused():
    official = user_for_role(Role.CITY_OFFICIAL)
    other = user_for_role(Role.TOWNSHIP_OFFICIAL)
    with pytest.raises(ImproperlyConfigured):
        assert_scoped(Grid.objects.all(), official)
    with pytest.raises(ImproperlyConfigured):
        assert_scoped(Grid.objects.visible_to(other), official)
    assert_scoped(selectors.grids_visible_to(actor=official).filter(is_demo=True), official)
