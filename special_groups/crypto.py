"""Encryption at rest of special-population personal data, and keyed lookup of ID numbers.

Keys never live in the database: ``settings.PII_ENCRYPTION_KEYS`` (Fernet keys, newest
first) and ``settings.PII_LOOKUP_KEY`` (the HMAC key) come from the environment. A new
Fernet key is put first; every value is still readable with the older keys until
``manage.py rotate_pii_keys`` has re-encrypted it under the new one.

Fernet tokens are randomised, so the ciphertext cannot be searched. An ID number is
found through ``lookup_hash``: an HMAC, which without the key cannot be reversed by
enumerating the (small) space of valid ID numbers, as a plain hash could be.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("PII_ENCRYPTION_KEYS is empty; personal data cannot be stored.")
    return MultiFernet([Fernet(key.strip().encode()) for key in keys])


def cipher() -> MultiFernet:
    return _multifernet(tuple(settings.PII_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return cipher().encrypt(value.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return cipher().decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A personal-data value cannot be decrypted with the configured keys."
        ) from exc


def rotate_token(token: str) -> str:
    """The same value encrypted under the newest key."""
    return cipher().rotate(token.encode("ascii")).decode("ascii")


def lookup_hash(id_number: str) -> str:
    key = settings.PII_LOOKUP_KEY
    if not key:
        raise ImproperlyConfigured("PII_LOOKUP_KEY is empty; ID numbers cannot be looked up.")
    normalised = normalise_id_number(id_number)
    return hmac.new(key.encode(), normalised.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """Holds a Fernet token in the database and the plaintext in Python.

    Only whole-value reads and writes make sense: the column cannot be filtered or
    ordered on. Empty strings are stored empty (nothing to protect).
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)


# ---- GB 11643-1999 citizen identity numbers -------------------------------------------

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_check_character(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


# What an input may hold before normalising: 18 characters and a few separating spaces.
ID_NUMBER_MAX_TYPED = 24
_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")


def normalise_id_number(value: str) -> str:
    """The one spelling of an ID number that is validated, hashed and stored.

    Officers type numbers with a Chinese input method (full-width digits ０-９ and Ｘ), with
    spaces between the groups, or with a lower-case x. NFKC folds the full-width forms into
    ASCII; every kind of white space is dropped; the check letter is upper-cased. Without this
    a number typed in full-width hashed differently from the same number in half-width, and one
    person could be enrolled twice in one caseload. For a plain ASCII number the result (and so
    its stored ``lookup_hash``) is what it always was. Other scripts' digits (Arabic-Indic ٣...)
    are not folded by NFKC and stay invalid.
    """
    value = unicodedata.normalize("NFKC", value)
    return "".join(value.split()).upper()


def is_valid_id_number(value: str) -> bool:
    """18 characters once normalised: 17 ASCII digits and the ISO 7064 MOD 11-2 check
    character (digit or X)."""
    value = normalise_id_number(value)
    if not _ID_NUMBER.fullmatch(value):
        return False
    return value[17] == id_check_character(value[:17])


# ---- masking for lists ----------------------------------------------------------------


def mask_name(name: str) -> str:
    return name[:1] + "*" * (len(name) - 1) if name else ""


def mask_id_number(value: str) -> str:
    return f"{value[:6]}{'*' * 8}{value[-4:]}" if len(value) == 18 else "*" * len(value)


def mask_phone(value: str) -> str:
    return f"{value[:3]}****{value[-4:]}" if len(value) >= 11 else "*" * len(value)


def mask_address(value: str) -> str:
    return f"{value[:3]}***" if value else ""
