"""Encryption at rest, masking, keyed lookup, ID-number validation and key rotation."""

import subprocess

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from accounts.roles import SpecialProject
from special_groups import crypto
from special_groups.models import Person
from tests.special_groups.helpers import enroll, id_number, person

pytestmark = pytest.mark.django_db


def _raw(pk):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, id_number, phone, address FROM special_groups_person WHERE id = %s", [pk]
        )
        return cursor.fetchone()


def test_the_raw_columns_hold_no_plaintext():
    number = id_number()
    p = person(name="欧阳测试", number=number)
    raw = _raw(p.pk)
    for plain, stored in zip(["欧阳测试", number, "13812345678", "塔山社区测试路1号"], raw, strict=True):
        assert plain not in stored
        assert stored.startswith("gAAAAA")  # a Fernet token
    again = Person.objects.get(pk=p.pk)
    assert (again.name, again.id_number, again.phone) == ("欧阳测试", number, "13812345678")


def test_lookup_by_id_number_goes_through_the_keyed_hash(settings):
    number = id_number()
    p = person(number=number)
    assert Person.objects.get(id_number_hash=crypto.lookup_hash(number.lower())) == p
    settings.PII_LOOKUP_KEY = "another-key"
    assert not Person.objects.filter(id_number_hash=crypto.lookup_hash(number)).exists()


@pytest.mark.parametrize(
    "value, valid",
    [
        ("11010519491231002X", True),  # the GB 11643 example
        ("11010519491231002x", True),
        ("110105194912310021", False),  # wrong check character
        ("52040219800101001", False),  # 17 characters
        ("5204021980010100AX", False),
    ],
)
def test_id_numbers_are_checked(value, valid):
    assert crypto.is_valid_id_number(value) is valid


def test_masks():
    assert crypto.mask_name("张三") == "张*"
    assert crypto.mask_name("欧阳娜娜") == "欧***"
    assert crypto.mask_id_number("520402198001011234") == "520402********1234"
    assert crypto.mask_phone("13812345678") == "138****5678"
    assert crypto.mask_address("塔山社区测试路1号") == "塔山社***"


def test_rotation_re_encrypts_under_the_new_key(settings):
    old_key = settings.PII_ENCRYPTION_KEYS[0]
    p = person(name="轮换测试")
    before = _raw(p.pk)
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_pii_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    after = _raw(p.pk)
    assert all(a != b for a, b in zip(after, before, strict=True))
    settings.PII_ENCRYPTION_KEYS = [new_key]  # the old key is retired
    assert Person.objects.get(pk=p.pk).name == "轮换测试"
    settings.PII_ENCRYPTION_KEYS = [old_key]
    with pytest.raises(Exception, match="cannot be decrypted"):
        Person.objects.get(pk=p.pk)


@pytest.mark.django_db(transaction=True)
def test_a_database_dump_holds_no_plaintext_name_or_id_number(anshun_tree):
    names = ["甲测试一", "乙测试二", "丙测试三"]
    numbers = [id_number() for _ in names]
    people = [person(name=n, number=i) for n, i in zip(names, numbers, strict=True)]
    for p in people:
        enroll(SpecialProject.ANNING, who=p)
    db = connection.settings_dict
    dump = subprocess.run(
        [
            "/usr/lib/postgresql/15/bin/pg_dump",
            "--data-only",
            "-h",
            db["HOST"],
            "-p",
            str(db["PORT"]),
            "-U",
            db["USER"],
            db["NAME"],
        ],
        capture_output=True,
        check=True,
        env={"PGPASSWORD": db.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"},
    ).stdout.decode()
    # The rows are in the dump (their tokens are), the plaintext is not.
    assert _raw(people[0].pk)[0] in dump
    for plain in names + numbers:
        assert plain not in dump


def test_production_refuses_to_start_without_the_keys():
    import os
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("PII_ENCRYPTION_KEYS", "PII_LOOKUP_KEY")} | {
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "example.invalid",
        "DATABASE_URL": "postgis://u@127.0.0.1:1/db",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    probe = [sys.executable, "-c", "import anshun.settings.production"]
    missing = subprocess.run(probe, env=env, capture_output=True, text=True)
    assert missing.returncode != 0 and "PII_ENCRYPTION_KEYS" in missing.stderr
    keys = {"PII_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "PII_LOOKUP_KEY": "k" * 32}
    assert subprocess.run(probe, env=env | keys, capture_output=True).returncode == 0
