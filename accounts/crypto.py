"""Secrets of the sign-in machinery, protected at rest.

TOTP keys are encrypted with Fernet under ``settings.TWO_FACTOR_ENCRYPTION_KEYS`` (newest first;
by default the special-population keys, ``PII_ENCRYPTION_KEYS``), reusing the key handling of
``special_groups.crypto``. Backup codes and API token keys are stored only as SHA-256 digests: both
are random with 80 bits or more, so a digest cannot be reversed by trying values, and checking one
costs a single indexed lookup.
"""

from __future__ import annotations

import hashlib

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from special_groups.crypto import _multifernet


def _cipher():
    return _multifernet(tuple(settings.TWO_FACTOR_ENCRYPTION_KEYS or settings.PII_ENCRYPTION_KEYS))


def encrypt_secret(value: bytes) -> str:
    return _cipher().encrypt(value).decode("ascii")


def decrypt_secret(token: str) -> bytes:
    try:
        return _cipher().decrypt(token.encode("ascii"))
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A two-factor key cannot be decrypted with TWO_FACTOR_ENCRYPTION_KEYS."
        ) from exc


def rotate_secret(token: str) -> str:
    """The same secret encrypted under the newest key."""
    return _cipher().rotate(token.encode("ascii")).decode("ascii")


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
