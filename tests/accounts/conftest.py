"""Two-factor helpers: codes are computed from the device's key, as an authenticator app would."""

import time

import pytest
from django_otp.oath import TOTP

from accounts.models import AuthenticatorDevice


def next_code(device: AuthenticatorDevice) -> str:
    """The code for the current time step, or the next unused one (a code is accepted only once)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    now = time.time()
    totp.time = now
    if totp.t() <= device.last_t:
        totp.time = now + (device.last_t + 1 - totp.t()) * device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def enrolled():
    """Turn two-factor on for a user through the services; returns (device, backup codes)."""
    from accounts import two_factor

    def enrol(user):
        device = two_factor.totp_enrolment_start(user=user)
        return two_factor.totp_enrolment_confirm(user=user, token=next_code(device))

    return enrol
