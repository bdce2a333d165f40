"""Move API tokens and two-factor devices off the stores that kept them in clear.

``rest_framework.authtoken`` kept each key as it is, django-otp's TOTP and static devices kept
the TOTP key as hex and backup codes as they are. Each key becomes a prefix and a digest (and
expires a week after the migration: the permanent tokens that skipped two-factor end, and sync
clients move to service accounts), each TOTP key is encrypted, each backup code becomes a digest.
The old tables are then dropped, so no copy of a secret stays behind. Not reversible.
"""

from binascii import unhexlify
from datetime import timedelta

from django.db import migrations
from django.utils import timezone

OLD_TABLES = ("otp_static_statictoken", "otp_static_staticdevice", "otp_totp_totpdevice", "authtoken_token")
MIGRATED_TOKEN_DAYS = 7


def move_secrets(apps, schema_editor):
    from accounts.crypto import digest, encrypt_secret

    def normalise_code(token):
        return "".join(token.split()).replace("-", "").lower()

    connection = schema_editor.connection
    tables = set(connection.introspection.table_names())
    ApiToken = apps.get_model("accounts", "ApiToken")
    AuthenticatorDevice = apps.get_model("accounts", "AuthenticatorDevice")
    BackupCodeDevice = apps.get_model("accounts", "BackupCodeDevice")
    BackupCode = apps.get_model("accounts", "BackupCode")
    with connection.cursor() as cursor:
        if "authtoken_token" in tables:
            cursor.execute("SELECT key, created, user_id FROM authtoken_token")
            expires = timezone.now() + timedelta(days=MIGRATED_TOKEN_DAYS)
            for key, created, user_id in cursor.fetchall():
                if ApiToken.objects.filter(prefix=key[:8]).exists():
                    continue  # two old keys sharing a prefix: the second is dropped
                ApiToken.objects.create(
                    user_id=user_id,
                    name="rest_framework.authtoken (migrated)",
                    prefix=key[:8],
                    key_digest=digest(key),
                    created_at=created,
                    expires_at=expires,
                )
        if "otp_totp_totpdevice" in tables:
            cursor.execute(
                "SELECT user_id, name, confirmed, key, step, t0, digits, tolerance, drift, last_t "
                "FROM otp_totp_totpdevice"
            )
            for user_id, name, confirmed, key, step, t0, digits, tolerance, drift, last_t in cursor.fetchall():
                AuthenticatorDevice.objects.create(
                    user_id=user_id,
                    name=name,
                    confirmed=confirmed,
                    encrypted_key=encrypt_secret(unhexlify(key.encode())),
                    step=step,
                    t0=t0,
                    digits=digits,
                    tolerance=tolerance,
                    drift=drift,
                    last_t=last_t,
                )
        if "otp_static_staticdevice" in tables:
            cursor.execute("SELECT id, user_id, name, confirmed FROM otp_static_staticdevice")
            devices = cursor.fetchall()
            for old_id, user_id, name, confirmed in devices:
                device = BackupCodeDevice.objects.create(user_id=user_id, name=name, confirmed=confirmed)
                cursor.execute("SELECT token FROM otp_static_statictoken WHERE device_id = %s", [old_id])
                digests = {digest(normalise_code(token)) for (token,) in cursor.fetchall()}
                BackupCode.objects.bulk_create(BackupCode(device=device, code_digest=d) for d in digests)
        for table in OLD_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {table} CASCADE")  # noqa: S608 - fixed names
        cursor.execute("DELETE FROM django_migrations WHERE app IN ('authtoken', 'otp_totp', 'otp_static')")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_tokens_devices")]

    operations = [migrations.RunPython(move_secrets, migrations.RunPython.noop, elidable=False)]
