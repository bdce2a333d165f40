"""The load test's people and machines: distinct accounts per role, spread over the jurisdiction.

Run by ``scripts/load_in_services.sh`` after ``load_anshun --demo``::

    python loadtest/setup.py OUT.json [--per-role N]

creates (idempotently) N grid workers spread over N grid offices in every county, a dispatcher,
a county official, a mediator and a township official per county, N case officers of several
projects, a few city officials, and service accounts (sync clients of the command centres, bulk
senders of grid offices, survey-intake clients of the city), issues the service accounts' keys as
an admin would (``service_token_issue``, one day), and writes to OUT.json what the locustfile
needs: usernames, keys, and for each grid worker a few places inside their own grids
(``ST_PointOnSurface``), which the phone would take from the map or its position.

People get the published demo password, stored with the platform's own (slow) hasher: the load
pays one real password check per sign-in, as the city does. Only the creation here hashes it once
and copies the hash, so that setting up a hundred accounts does not take a minute.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anshun.settings.dev")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import override_settings  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.roles import Role, SpecialProject  # noqa: E402
from accounts.services import user_create  # noqa: E402
from accounts.tokens import service_token_issue  # noqa: E402
from grids.models import GridOffice, Region  # noqa: E402

PASSWORD = "anshun-demo-2026"  # noqa: S105 - the published demo credential
PREFIX = "load-"
PROJECTS = [SpecialProject.HUIGUI, SpecialProject.YUXIN, SpecialProject.YANGGUANG, SpecialProject.ANNING]


def _counties() -> list[Region]:
    """Counties that have grid offices (the management zones start with none)."""
    return [
        county
        for county in Region.objects.filter(level=Region.Level.COUNTY).order_by("code")
        if GridOffice.objects.filter(seat__path__startswith=county.path).exists()
    ]


def _offices(per_county: int, counties: list[Region]) -> list[GridOffice]:
    """``per_county`` offices in each county, taken from different townships where possible."""
    chosen = []
    for county in counties:
        offices = list(
            GridOffice.objects.filter(seat__path__startswith=county.path, grids__isnull=False)
            .distinct()
            .select_related("seat__parent")
            .order_by("code")
        )
        by_township: dict[int, list[GridOffice]] = {}
        for office in offices:
            by_township.setdefault(office.seat.parent_id, []).append(office)
        spread = []
        while len(spread) < per_county and any(by_township.values()):
            for township_offices in by_township.values():
                if township_offices and len(spread) < per_county:
                    spread.append(township_offices.pop(0))
        chosen.extend(spread)
    return chosen


def _places(office: GridOffice, limit: int = 6) -> list[list]:
    """A few [grid code, longitude, latitude] inside the office's grids."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code, ST_X(p), ST_Y(p) FROM ("
            " SELECT code, ST_PointOnSurface(geometry) AS p FROM grids_grid"
            " WHERE office_id = %s ORDER BY code LIMIT %s) AS g",
            [office.pk, limit],
        )
        return [[code, round(x, 6), round(y, 6)] for code, x, y in cursor.fetchall()]


def _person(username: str, role: str, **jurisdiction) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            user = user_create(username=username, password=PASSWORD, role=role, **jurisdiction)
    return user


def _service(username: str, role: str, **jurisdiction) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = user_create(
            username=username, password=None, role=role, is_service_account=True, **jurisdiction
        )
    return user


@transaction.atomic
def build(per_role: int) -> dict:
    counties = _counties()
    city = Region.objects.get(code="5204")
    per_county = max(1, -(-per_role // len(counties)))  # ceil
    people: dict[str, list] = {}

    grid_workers = []
    for index, office in enumerate(_offices(per_county, counties)[:per_role]):
        user = _person(f"{PREFIX}gw-{index:03d}", Role.GRID_WORKER, grid_office=office)
        grid_workers.append({"username": user.username, "office": office.code, "places": _places(office)})
    people["grid_workers"] = grid_workers

    def per_county_people(kind: str, role: str, count: int, **extra) -> list[dict]:
        made = []
        for index in range(count):
            county = counties[index % len(counties)]
            user = _person(f"{PREFIX}{kind}-{index:03d}", role, region=county, **extra)
            made.append({"username": user.username, "region": county.code})
        return made

    people["dispatchers"] = per_county_people("dispatch", Role.DISPATCHER, max(len(counties), per_role // 4))
    people["county_officials"] = per_county_people("county", Role.COUNTY_OFFICIAL, len(counties))
    people["mediators"] = per_county_people("mediator", Role.MEDIATOR, len(counties))
    townships = []
    for index, county in enumerate(counties):
        township = Region.objects.filter(parent=county).order_by("code").first()
        user = _person(f"{PREFIX}township-{index:03d}", Role.TOWNSHIP_OFFICIAL, region=township)
        townships.append({"username": user.username, "region": township.code})
    people["township_officials"] = townships
    people["city_officials"] = [
        {
            "username": _person(f"{PREFIX}city-{i:03d}", Role.CITY_OFFICIAL, region=city).username,
            "region": "5204",
        }
        for i in range(3)
    ]
    case_officers = []
    for index in range(max(len(PROJECTS), per_role // 4)):
        county, project = counties[index % len(counties)], PROJECTS[index % len(PROJECTS)]
        user = _person(
            f"{PREFIX}case-{index:03d}", Role.CASE_OFFICER, region=county, special_project=project.value
        )
        case_officers.append({"username": user.username, "region": county.code, "project": project.value})
    people["case_officers"] = case_officers

    # The real hash, computed once (the hasher's full work factor), for every load person.
    usernames = [p["username"] for group in people.values() for p in group]
    User.objects.filter(username__in=usernames).update(password=make_password(PASSWORD))

    services: dict[str, list] = {"sync": [], "bulk": [], "survey": []}
    for index, county in enumerate(counties):
        services["sync"].append(_service(f"{PREFIX}sync-{index:03d}", Role.DISPATCHER, region=county))
    for index, office in enumerate(_offices(1, counties)):
        services["bulk"].append(_service(f"{PREFIX}bulk-{index:03d}", Role.GRID_WORKER, grid_office=office))
    for index in range(2):
        services["survey"].append(_service(f"{PREFIX}survey-{index:03d}", Role.CITY_OFFICIAL, region=city))
    machines = {}
    for kind, accounts in services.items():
        machines[kind] = []
        for account in accounts:
            _token, key = service_token_issue(actor=None, account=account, name="load test", days=1)
            entry = {"username": account.username, "key": key}
            if kind == "bulk":
                entry["places"] = _places(account.grid_office)
            machines[kind].append(entry)
    return {"people": people, "machines": machines, "password": PASSWORD}


def main() -> None:
    out = Path(sys.argv[1])
    per_role = int(sys.argv[sys.argv.index("--per-role") + 1]) if "--per-role" in sys.argv else 40
    accounts = build(per_role)
    out.write_text(json.dumps(accounts, ensure_ascii=False))
    out.chmod(0o600)
    counts = {k: len(v) for k, v in accounts["people"].items()} | {
        f"{k} (service)": len(v) for k, v in accounts["machines"].items()
    }
    print("load accounts: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items()))


if __name__ == "__main__":
    main()
