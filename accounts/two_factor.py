"""Two-factor sign-in: TOTP authenticator apps (django-otp) with single-use backup codes.

Every person may enrol (capability ``account.two_factor``, held by every human role); an operator
makes it mandatory for roles listed in ``TWO_FACTOR_REQUIRED_ROLES`` (in production: case
officers, auditors and admins by default). Whoever holds a confirmed device must give a code after
the password, whatever their role is today, so that a role change never silently drops the second
factor. A person's API token also needs a code (accounts.tokens); turning two-factor off revokes
the person's tokens. Service accounts (sync clients) have no password and no devices.

Keys and codes are protected at rest: the TOTP key is encrypted, backup codes are stored only as
digests (accounts.models.AuthenticatorDevice, BackupCodeDevice).

Every write happens here; the views only translate requests. django-otp throttles wrong codes
per device (1, 2, 4 … seconds); the login step also counts them toward the django-axes lock-out.
"""

from __future__ import annotations

import io
import os
import time
from base64 import b32encode
from dataclasses import dataclass

import segno
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp import device_classes, devices_for_user
from django_otp.models import Device

from accounts.crypto import digest
from accounts.models import (
    ApiToken,
    AuthenticatorDevice,
    BackupCode,
    BackupCodeDevice,
    User,
    normalise_code,
)

CAPABILITY = "account.two_factor"
BACKUP_CODE_COUNT = 10
# The password step has passed; the user waits for the code page. Kept in the (anonymous) session.
PENDING_SESSION_KEY = "two_factor_pending"
PENDING_MAX_AGE = 5 * 60

INVALID_CODE = _("That code is not valid. Check your authenticator app and try again.")
THROTTLED = _("Too many wrong codes. Wait a little before trying again.")


def is_required(user: User) -> bool:
    """Whether the operator made two-factor sign-in mandatory for this user's role."""
    return user.role in settings.TWO_FACTOR_REQUIRED_ROLES


def may_enrol(user: User) -> bool:
    return not user.is_service_account and (user.can(CAPABILITY) or is_required(user))


def has_confirmed_device(user: User) -> bool:
    """Whether the user holds a confirmed device of any kind django-otp knows, in one query
    (``TwoFactorMiddleware`` asks it on every signed-in request; django-otp's
    ``user_has_device`` asks each device table in turn)."""
    if user.is_anonymous:
        return False
    checks = [Exists(model.objects.devices_for_user(user, confirmed=True)) for model in device_classes()]
    if not checks:
        return False
    any_device = checks[0]
    for check in checks[1:]:
        any_device |= check
    return User.objects.filter(pk=user.pk).filter(any_device).exists()


def totp_device(user: User) -> AuthenticatorDevice | None:
    return AuthenticatorDevice.objects.filter(user=user, confirmed=True).first()


def unconfirmed_totp_device(user: User) -> AuthenticatorDevice | None:
    """The device being set up; its key is shown only until the first code confirms it."""
    return AuthenticatorDevice.objects.filter(user=user, confirmed=False).first()


def backup_codes_left(user: User) -> int:
    return BackupCode.objects.filter(device__user=user, device__confirmed=True).count()


def _normalise(token: str) -> str:
    return normalise_code(token)


def new_backup_code() -> str:
    """16 base32 characters (80 random bits), shown in groups of four: xxxx-xxxx-xxxx-xxxx."""
    code = b32encode(os.urandom(10)).decode().lower()
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


@dataclass(frozen=True)
class _Outcome:
    device: Device | None
    throttled: bool

    def raise_unless_verified(self) -> Device:
        """Raised outside the transaction, so that django-otp's failure count is kept."""
        if self.device is None:
            raise ValidationError({"code": THROTTLED if self.throttled else INVALID_CODE})
        return self.device


def _try_devices(devices, token: str) -> _Outcome:
    throttled = False
    for device in devices:
        if not device.verify_is_allowed()[0]:
            throttled = True
            continue
        if device.verify_token(token):
            return _Outcome(device, False)
    return _Outcome(None, throttled)


def second_factor_verify(*, user: User, token: str) -> Device:
    """Check a code against the user's confirmed devices: six digits go to the authenticator,
    anything else is taken as a backup code (which is then used up)."""
    token = _normalise(token)
    model = AuthenticatorDevice if token.isdigit() and len(token) == 6 else BackupCodeDevice
    with transaction.atomic():
        devices = model.objects.devices_for_user(user, confirmed=True).select_for_update()
        outcome = _try_devices(devices, token)
    return outcome.raise_unless_verified()


@transaction.atomic
def totp_enrolment_start(*, user: User) -> AuthenticatorDevice:
    """The unconfirmed device whose key the QR code shows; reused until it is confirmed."""
    if not may_enrol(user):
        raise PermissionDenied
    if totp_device(user) is not None:
        raise ValidationError(_("Two-factor sign-in is already on for this account."))
    device = AuthenticatorDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None:
        device = AuthenticatorDevice(user=user, name=str(_("Authenticator app")), confirmed=False)
        device.full_clean()
        device.save()
    return device


def totp_enrolment_confirm(*, user: User, token: str) -> tuple[AuthenticatorDevice, list[str]]:
    """Turn two-factor on once the first code proves the app holds the key; returns the
    backup codes, which are shown once and replace any earlier ones."""
    with transaction.atomic():
        device = AuthenticatorDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None:
            raise ValidationError(_("Start the set-up again: no authenticator is waiting for a code."))
        outcome = _try_devices([device], _normalise(token))
        codes: list[str] = []
        if outcome.device is not None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            BackupCodeDevice.objects.filter(user=user).delete()
            backup = BackupCodeDevice(user=user, name=str(_("Backup codes")), confirmed=True)
            backup.full_clean()
            backup.save()
            codes = [new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
            BackupCode.objects.bulk_create(
                BackupCode(device=backup, code_digest=digest(normalise_code(code))) for code in codes
            )
    outcome.raise_unless_verified()
    return device, codes


def two_factor_disable(*, user: User, token: str) -> None:
    """Turn two-factor off after a fresh code (authenticator or backup code). The person's API
    tokens end with it: they were granted on the strength of the second factor."""
    if is_required(user):
        raise ValidationError(_("Two-factor sign-in is mandatory for your role and cannot be turned off."))
    second_factor_verify(user=user, token=token)
    with transaction.atomic():
        for device in list(devices_for_user(user, confirmed=None, for_verify=True)):
            device.delete()
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def qr_svg(device: AuthenticatorDevice) -> bytes:
    """The provisioning URI as an SVG QR code, drawn here so no third party sees the secret."""
    buffer = io.BytesIO()
    segno.make(device.config_url, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False)
    return buffer.getvalue()


def secret_for_manual_entry(device: AuthenticatorDevice) -> str:
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# The pending step between password and code.


def pending_begin(request, user: User) -> None:
    request.session[PENDING_SESSION_KEY] = {"user": user.pk, "backend": user.backend, "since": time.time()}


def pending_user(request) -> User | None:
    pending = request.session.get(PENDING_SESSION_KEY)
    if not pending or time.time() - pending["since"] > PENDING_MAX_AGE:
        return None
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is not None:
        user.backend = pending["backend"]
    return user


def pending_clear(request) -> None:
    request.session.pop(PENDING_SESSION_KEY, None)
