"""The data migration moves DRF's clear-text keys and django-otp's clear-text devices into the
hashed and encrypted stores, keeps them working, and leaves no clear copy behind."""

import hashlib
import importlib
import os
from binascii import hexlify

import pytest
from django.apps import apps
from django.db import connection
from django_otp.oath import TOTP

from accounts.models import ApiToken, AuthenticatorDevice, BackupCodeDevice
from accounts.roles import Role
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db
MIGRATION = importlib.import_module("accounts.migrations.0004_hash_tokens_encrypt_devices")

# The columns of the old tables the migration reads (rest_framework.authtoken, django-otp 1.x).
OLD_SCHEMA = """
CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz NOT NULL, user_id bigint);
CREATE TABLE otp_totp_totpdevice (id serial PRIMARY KEY, user_id bigint, name varchar(64),
  confirmed boolean, key varchar(80), step smallint, t0 bigint, digits smallint, tolerance smallint,
  drift smallint, last_t bigint);
CREATE TABLE otp_static_staticdevice (id serial PRIMARY KEY, user_id bigint, name varchar(64),
  confirmed boolean);
CREATE TABLE otp_static_statictoken (id serial PRIMARY KEY, device_id int, token varchar(16));
"""


def test_old_secrets_are_hashed_encrypted_and_dropped(api_client):
    user = user_for_role(Role.COUNTY_OFFICIAL)
    old_key = hexlify(os.urandom(20)).decode()
    totp_key = os.urandom(20)
    with connection.cursor() as cursor:
        cursor.execute(OLD_SCHEMA)
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [old_key, user.pk])
        cursor.execute(
            "INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, step, t0, digits, tolerance,"
            " drift, last_t) VALUES (%s, 'phone', true, %s, 30, 0, 6, 1, 0, -1)",
            [user.pk, totp_key.hex()],
        )
        cursor.execute(
            "INSERT INTO otp_static_staticdevice (user_id, name, confirmed) VALUES (%s, 'b', true)", [user.pk]
        )
        cursor.execute(
            "INSERT INTO otp_static_statictoken (device_id, token)"
            " SELECT id, 'abcd2345' FROM otp_static_staticdevice"
        )
    with connection.schema_editor() as editor:
        MIGRATION.move_secrets(apps, editor)

    token = ApiToken.objects.get(user=user)
    assert (
        token.key_digest == hashlib.sha256(old_key.encode()).hexdigest() and old_key not in token.key_digest
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {old_key}")
    assert api_client.get("/api/regions/").status_code == 200  # sync clients keep working for now…
    assert token.expires_at is not None  # …for a week, not for ever
    device = AuthenticatorDevice.objects.get(user=user)
    assert totp_key.hex() not in device.encrypted_key and device.bin_key == totp_key
    code = TOTP(totp_key).token()
    assert device.verify_token(f"{code:06d}")
    assert BackupCodeDevice.objects.get(user=user).verify_token("ABCD 2345")
    assert not {t for t in MIGRATION.OLD_TABLES} & set(connection.introspection.table_names())
