"""Scoped reads: the selector layer every page and API goes through, against
hand-written SQL that returns the same rows. Both return tuples, so the ratio
is the cost of the scoping mechanism and the ORM query it builds."""

from django.db import connection

from accounts.roles import Role
from bench.harness import compare
from grids.models import GridOffice, Region
from grids.selectors import grids_visible_to


def _official(role, region_code=None, office=None):
    from accounts.models import User

    user = User(username=f"bench-{role}", role=role)
    if region_code:
        user.region = Region.objects.get(code=region_code)
    user.grid_office = office
    user.pk = 0
    return user


def _raw_grids(path_prefix):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT g.id, g.code, g.name, g.is_demo, v.code, o.code FROM grids_grid g "
            "JOIN grids_region v ON v.id = g.village_id JOIN grids_gridoffice o ON o.id = g.office_id "
            "WHERE v.path LIKE %s ORDER BY g.code",
            [path_prefix + "%"],
        )
        return cursor.fetchall()


def run():
    results = []
    for role, code in ((Role.CITY_OFFICIAL, "5204"), (Role.TOWNSHIP_OFFICIAL, "520402005")):
        actor = _official(role, code)
        path = actor.region.path

        def platform(actor=actor):
            return list(
                grids_visible_to(actor=actor).values_list(
                    "pk", "code", "name", "is_demo", "village__code", "office__code"
                )
            )

        assert len(platform()) == len(_raw_grids(path))
        # Sub-millisecond queries are dominated by the ORM's fixed cost (~0.3 ms), so
        # only the city-wide list carries a target; the others are reported.
        results.append(
            compare(
                f"scoped grid list, {role.value} ({code})",
                platform,
                lambda path=path: _raw_grids(path),
                target=1.5 if code == "5204" else None,
            )
        )
    office = GridOffice.objects.order_by("code").first()
    worker = _official(Role.GRID_WORKER, office=office)
    results.append(
        compare(
            "scoped grid list, grid worker (one office)",
            lambda: list(grids_visible_to(actor=worker).defer("geometry").values_list("code", flat=True)),
            lambda: _raw_office(office.pk),
        )
    )
    return results


def _raw_office(office_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT code FROM grids_grid WHERE office_id = %s ORDER BY code", [office_id])
        return cursor.fetchall()
