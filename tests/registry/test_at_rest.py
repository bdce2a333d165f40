"""The registry's personal data in a ``pg_dump``: tokens, never the plaintext (the special
populations' check, tests/special_groups/test_privacy.py, extended to the registry's tables)."""

import subprocess

import pytest
from django.db import connection

from accounts.roles import Role
from grids.models import GridOffice
from registry.models import Resident
from registry.services import records
from tests.factories import user_for_role
from tests.registry.conftest import HOME_OFFICE_PREFIX, id_number, make_house

pytestmark = pytest.mark.django_db(transaction=True)


def test_registry_personal_data_is_not_in_a_pg_dump(anshun_tree):
    office = GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX).order_by("code").first()
    worker = user_for_role(Role.GRID_WORKER, office=office)
    grid = office.grids.select_related("village").order_by("code").first()
    house, residents = make_house(worker, grid, people=2, serial=4)
    records.house_update(actor=worker, house=house, owner_name="房东赵六")
    db = connection.settings_dict
    dump = subprocess.run(
        ["/usr/lib/postgresql/15/bin/pg_dump", "--data-only", "-t", "registry_*", "-h", db["HOST"], "-p",
         str(db["PORT"]), "-U", db["USER"], db["NAME"]],
        capture_output=True, check=True,
        env={"PGPASSWORD": db.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"},
    ).stdout.decode()  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM registry_resident WHERE id = %s", [residents[0].pk])
        token = cursor.fetchone()[0]
    assert token in dump  # the rows are in the dump, as tokens
    assert Resident.objects.get(pk=residents[0].pk).id_number == id_number(40)
    for plain in ("张三0", "张三1", id_number(40), id_number(41), "13900000000", "13900000001", "房东赵六"):
        assert plain not in dump
