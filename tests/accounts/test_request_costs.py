"""What a signed-in request costs in the two-factor check, and that making it cheaper kept it safe."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import two_factor
from accounts.models import AuthenticatorDevice, BackupCodeDevice
from accounts.roles import Role
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def test_a_confirmed_device_of_either_kind_is_found_in_one_query():
    user = user_for_role(Role.CITY_OFFICIAL)
    with CaptureQueriesContext(connection) as queries:
        assert two_factor.has_confirmed_device(user) is False
    assert len(queries) == 1
    AuthenticatorDevice.objects.create(user=user, name="unconfirmed", confirmed=False)
    BackupCodeDevice.objects.create(user=user, name="unconfirmed codes", confirmed=False)
    assert two_factor.has_confirmed_device(user) is False  # being set up is not holding one
    BackupCodeDevice.objects.filter(user=user).update(confirmed=True)
    assert two_factor.has_confirmed_device(user) is True  # backup codes alone count
    BackupCodeDevice.objects.filter(user=user).delete()
    AuthenticatorDevice.objects.filter(user=user).update(confirmed=True)
    with CaptureQueriesContext(connection) as queries:
        assert two_factor.has_confirmed_device(user) is True
    assert len(queries) == 1
    other = user_for_role(Role.CITY_OFFICIAL)
    assert two_factor.has_confirmed_device(other) is False  # someone else's device is not theirs


def test_a_session_from_before_the_device_is_still_signed_out(client, enrolled):
    """A device added by another path (another browser) ends sessions that never passed the code."""
    user = user_for_role(Role.COUNTY_OFFICIAL)
    client.force_login(user)
    assert client.get(reverse("home")).status_code == 200
    enrolled(user)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert "_auth_user_id" not in client.session
