import hmac
import os
import time
from base64 import b32encode
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from accounts.crypto import decrypt_secret, digest, encrypt_secret
from accounts.roles import ROLE_JURISDICTION, JurisdictionKind, Role, SpecialProject, role_can

# Roles a machine may never hold: their people must sign in with two factors, and a token that
# cannot answer a code would undo that (administration, audit, special-population caseloads).
SERVICE_ACCOUNT_FORBIDDEN_ROLES = frozenset({Role.ADMIN, Role.AUDITOR, Role.CASE_OFFICER})


class User(AbstractUser):
    """A platform user: one role, one jurisdiction (a region or a grid office)."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.GRID_WORKER)
    region = models.ForeignKey(
        "grids.Region",
        verbose_name=_("jurisdiction region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    grid_office = models.ForeignKey(
        "grids.GridOffice",
        verbose_name=_("grid office"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
    )
    department = models.ForeignKey(
        "incidents.Department",
        verbose_name=_("functional department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        help_text=_("Only for functional-department officers: the department whose work they handle."),
    )
    special_project = models.CharField(
        _("special-population project"),
        max_length=16,
        choices=SpecialProject.choices,
        blank=True,
        help_text=_("Required for case officers: the one project whose caseload they serve."),
    )
    is_service_account = models.BooleanField(
        _("service account"),
        default=False,
        help_text=_(
            "A sync client (a system, not a person). It never signs in with a password; "
            "an administrator issues its API tokens."
        ),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_platform_admin(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN

    def can(self, capability: str) -> bool:
        return self.is_active and (self.is_superuser or role_can(self.role, capability))

    def save(self, *args, **kwargs):
        if self.is_service_account and self.has_usable_password():
            self.set_unusable_password()  # whatever path made it, a machine has no password
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        if self.is_service_account and (self.is_superuser or self.is_staff):
            raise ValidationError(
                {"is_service_account": _("A service account cannot be staff or a superuser.")}
            )
        if self.is_service_account and self.role in SERVICE_ACCOUNT_FORBIDDEN_ROLES:
            raise ValidationError(
                {"role": _("Service accounts cannot hold this role; its people sign in with two factors.")}
            )
        if self.is_superuser:
            return
        kind, levels = ROLE_JURISDICTION[Role(self.role)]
        errors: dict[str, str] = {}
        if kind == JurisdictionKind.GRID_OFFICE:
            if self.grid_office_id is None:
                errors["grid_office"] = _("This role works in a grid office; choose one.")
            if self.region_id is not None:
                errors["region"] = _("This role is scoped by its grid office, not a region.")
        elif kind == JurisdictionKind.DEPARTMENT:
            if self.department_id is None:
                errors["department"] = _("This role works in a functional department; choose one.")
            if self.region_id is not None:
                errors["region"] = _("This role is scoped by its department, not a region.")
            if self.grid_office_id is not None:
                errors["grid_office"] = _("Only grid-office staff have a grid office.")
        elif kind == JurisdictionKind.REGION:
            if self.region_id is None:
                errors["region"] = _("This role needs a jurisdiction region.")
            elif self.region.level not in levels:
                errors["region"] = _("This role works at the %(levels)s level.") % {
                    "levels": ", ".join(levels)
                }
            if self.grid_office_id is not None:
                errors["grid_office"] = _("Only grid-office staff have a grid office.")
        if kind != JurisdictionKind.DEPARTMENT and self.department_id is not None:
            errors["department"] = _("Only functional-department officers belong to a department.")
        if self.role == Role.CASE_OFFICER and not self.special_project:
            errors["special_project"] = _("A case officer serves one of the six projects.")
        if self.role != Role.CASE_OFFICER and self.special_project:
            errors["special_project"] = _("Only case officers serve a special-population project.")
        if errors:
            raise ValidationError(errors)


class ApiToken(models.Model):
    """An API token, stored as a lookup prefix and the SHA-256 digest of the key, never the key.

    A client sends ``Authorization: Token <key>``; the first ``PREFIX_LENGTH`` characters of the key
    find the row through a unique index and the digest must match. Every token has an expiry and
    can be revoked (see accounts.tokens)."""

    PREFIX_LENGTH = 8

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("key prefix"), max_length=PREFIX_LENGTH, unique=True)
    key_digest = models.CharField(_("key digest"), max_length=64)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(self.key_digest, digest(key))


def new_encrypted_key() -> str:
    """A fresh 160-bit TOTP key, encrypted."""
    return encrypt_secret(os.urandom(20))


class AuthenticatorDevice(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator app (RFC 6238), like django-otp's TOTPDevice but with the key
    encrypted at rest (accounts.crypto); only ``bin_key`` ever holds it in clear."""

    encrypted_key = models.TextField(_("encrypted key"), default=new_encrypted_key, editable=False)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")

    @property
    def bin_key(self) -> bytes:
        return decrypt_secret(self.encrypted_key)

    def get_throttle_factor(self):
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    def verify_token(self, token) -> bool:
        """django-otp's TOTP check: one code per time step, a step of drift either way."""
        if not self.verify_is_allowed()[0]:
            return False
        try:
            token = int(token)
        except (TypeError, ValueError):
            verified = False
        else:
            totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            verified = totp.verify(token, self.tolerance, self.last_t + 1)
            if verified:
                self.last_t = totp.t()
                self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    @property
    def config_url(self) -> str:
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "")).replace(":", "")
        label = f"{issuer}:{self.user.get_username()}" if issuer else self.user.get_username()
        params = {"secret": b32encode(self.bin_key), "algorithm": "SHA1", "digits": self.digits}
        params["period"] = self.step
        query = urlencode(params) + (f"&issuer={quote(issuer)}" if issuer else "")
        return f"otpauth://totp/{quote(label)}?{query}"


class BackupCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """Single-use backup codes. Only their SHA-256 digests are stored (``BackupCode``); a code
    that matches is deleted in the same transaction."""

    class Meta(Device.Meta):
        verbose_name = _("backup codes")
        verbose_name_plural = _("backup codes")

    def get_throttle_factor(self):
        return getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1)

    def verify_token(self, token) -> bool:
        if not self.verify_is_allowed()[0]:
            return False
        used, _deleted = self.codes.filter(code_digest=digest(normalise_code(str(token)))).delete()
        if used:
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
        else:
            self.throttle_increment(commit=True)
        return bool(used)


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_digest = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "code_digest"], name="backup_code_once")]

    def __str__(self) -> str:
        return f"{self.code_digest[:8]}…"


def normalise_code(token: str) -> str:
    """Codes are compared without spaces, dashes or case."""
    return "".join(str(token).split()).replace("-", "").lower()
