"""API tokens: who may get one, for how long, and how a request's key is checked.

Two ways in, one store:

- Service accounts (sync clients, ``User.is_service_account``) never sign in with a password; an
  admin issues their tokens (the admin's "issue an API token" action or ``manage.py
  issue_api_token``), which live ``API_TOKEN_SERVICE_DAYS`` (90) by default.
- People trade their password *and* a code from their authenticator app (or a backup code) for a
  token that lives ``API_TOKEN_PERSON_HOURS`` (12). Without a confirmed device they get none: the
  password alone is never enough.

Keys are shown once and stored as a prefix and a SHA-256 digest (accounts.models.ApiToken).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import two_factor
from accounts.crypto import digest
from accounts.models import ApiToken, User

NOT_A_SERVICE_ACCOUNT = _(
    "API tokens are issued here only to service accounts; people get theirs with a code."
)
ENROL_FIRST = _(
    "Turn on two-factor sign-in first (Account security). A token for a person needs a code from "
    "the authenticator app as well as the password."
)
CODE_REQUIRED = _("Give the code from your authenticator app (or a backup code) as well as the password.")
SERVICE_ACCOUNT_NO_PASSWORD = _(
    "Service accounts do not sign in with a password; an administrator issues their tokens."
)
# The refusal a client sees for any key that does not authenticate, whatever the reason.
INVALID_TOKEN = _("Invalid, expired or revoked token.")


def _new_key() -> tuple[str, str]:
    """(prefix, key): the prefix is the key's first characters and unique among tokens."""
    while True:
        prefix = secrets.token_hex(ApiToken.PREFIX_LENGTH // 2)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            return prefix, prefix + secrets.token_urlsafe(30)


def _mint(*, user: User, name: str, lifetime: timedelta, created_by: User | None) -> tuple[ApiToken, str]:
    """Store a new token and return it with its key, which exists nowhere else afterwards.
    Callers have decided that ``user`` may have it."""
    prefix, key = _new_key()
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=prefix,
        key_digest=digest(key),
        created_by=created_by,
        created_at=now,
        expires_at=now + lifetime,
    )
    return token, key


@transaction.atomic
def service_token_issue(
    *, actor: User | None, account: User, name: str, days: int | None = None, revoke_others: bool = False
) -> tuple[ApiToken, str]:
    """An admin issues a token to a service account (never to a person, who would skip the code).

    ``actor`` None is the operator at the server's console (``manage.py issue_api_token``).
    ``revoke_others`` ends the account's other tokens at once (key rotation)."""
    if actor is not None and not actor.is_platform_admin:
        raise PermissionDenied
    if not account.is_service_account:
        raise ValidationError({"account": NOT_A_SERVICE_ACCOUNT})
    if not account.is_active:
        raise ValidationError({"account": _("This account is deactivated.")})
    days = settings.API_TOKEN_SERVICE_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_SERVICE_MAX_DAYS:
        raise ValidationError(
            {"days": _("Between 1 and %(max)d days.") % {"max": settings.API_TOKEN_SERVICE_MAX_DAYS}}
        )
    if not name.strip():
        raise ValidationError({"name": _("Name the token after the client that will use it.")})
    token, key = _mint(user=account, name=name.strip(), lifetime=timedelta(days=days), created_by=actor)
    if revoke_others:
        account.api_tokens.exclude(pk=token.pk).filter(revoked_at__isnull=True).update(
            revoked_at=token.created_at
        )
    return token, key


def person_token_exchange(*, user: User, code: str, name: str = "") -> tuple[ApiToken, str]:
    """A person whose password has just been checked gets a short-lived token for a valid code.

    Raises ValidationError keyed ``code`` (a wrong code also counts toward django-otp's back-off)."""
    if user.is_service_account:
        raise ValidationError({"non_field_errors": [SERVICE_ACCOUNT_NO_PASSWORD]})
    if not two_factor.has_confirmed_device(user):
        raise ValidationError({"code": [ENROL_FIRST]})
    if not code.strip():
        raise ValidationError({"code": [CODE_REQUIRED]})
    two_factor.second_factor_verify(user=user, token=code)
    lifetime = timedelta(hours=settings.API_TOKEN_PERSON_HOURS)
    with transaction.atomic():
        return _mint(
            user=user,
            name=name.strip() or str(_("Signed in with two factors")),
            lifetime=lifetime,
            created_by=user,
        )


def token_revoke(*, actor: User, token: ApiToken) -> None:
    """End a token now: an admin for any token, a person for their own."""
    if not (actor.is_platform_admin or token.user_id == actor.pk):
        raise PermissionDenied
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def tokens_revoke_for_user(*, user: User) -> int:
    """Every live token of an account, e.g. when its owner turns two-factor off."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def token_authenticate(key: str) -> ApiToken | None:
    """The live token whose key this is, with its user, in one indexed query; else None.

    Marks it used at most every ``API_TOKEN_LAST_USED_PRECISION`` seconds, so that a busy client
    does not write on every request."""
    key = key.strip()
    if len(key) <= ApiToken.PREFIX_LENGTH or len(key) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=key[: ApiToken.PREFIX_LENGTH]).first()
    if token is None or not token.matches(key) or not token.is_live or not token.user.is_active:
        return None
    now = timezone.now()
    precision = timedelta(seconds=settings.API_TOKEN_LAST_USED_PRECISION)
    if token.last_used_at is None or now - token.last_used_at > precision:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
