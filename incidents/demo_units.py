"""Demo functional departments (职能部门), their staff logins and a routing table, computed from
the region tree: the usual bureaus of the city and of every county, and the usual stations and
offices of every township (派出所, 司法所…). Names are the region's name plus the unit's usual
title; nothing is a typed list of real units. Idempotent: existing rows are left as they are.
"""

from __future__ import annotations

from django.db import transaction

from anshun.commands import system_command
from grids.models import Region
from incidents.models import Department, IncidentCategory, RoutingRule

K = Department.Kind
# Title of each kind of department at each level (city and county bureaus, township stations).
TITLES = {
    "city": {
        K.POLICE: "公安局",
        K.JUSTICE: "司法局",
        K.URBAN: "城市管理局",
        K.HOUSING: "住房和城乡建设局",
        K.CIVIL: "民政局",
        K.PETITIONS: "信访局",
        K.HEALTH: "卫生健康局",
        K.EDUCATION: "教育局",
    },
    "county": {
        K.POLICE: "公安分局",
        K.JUSTICE: "司法局",
        K.URBAN: "综合行政执法局",
        K.HOUSING: "住房和城乡建设局",
        K.CIVIL: "民政局",
        K.PETITIONS: "信访局",
        K.HEALTH: "卫生健康局",
        K.EDUCATION: "教育局",
    },
    "township": {
        K.POLICE: "派出所",
        K.JUSTICE: "司法所",
        K.URBAN: "综合行政执法中队",
        K.CIVIL: "社会事务办",
        K.PETITIONS: "信访办",
        K.HEALTH: "卫生院",
    },
}
# Default routes: category → kind of department, at the county (bureaus) and township (stations).
COUNTY_ROUTES = {
    "illegal-building": K.HOUSING,
    "construction-waste-dumping": K.URBAN,
    "campus-surroundings": K.EDUCATION,
}
TOWNSHIP_ROUTES = {
    "security-hazard": K.POLICE,
    "public-order-disturbance": K.POLICE,
    "neighbour-dispute": K.JUSTICE,
    "family-dispute": K.JUSTICE,
    "exposed-rubbish": K.URBAN,
}
# Staff logins are made for the demo county's bureaus and the demo township's stations (the
# same places as the other demo logins, accounts.demo).
STAFFED = ("520402", "520402005")


def department_code(region: Region, kind: str) -> str:
    return f"{region.code}-{kind}"


def staff_username(department: Department) -> str:
    return f"dept-{department.code}"


@system_command(
    "load_anshun --demo: demo departments, their staff and routes, computed from the region tree."
)
@transaction.atomic
def load_demo_departments() -> str:
    from accounts.demo import DEMO_PASSWORD
    from accounts.models import User
    from accounts.roles import Role
    from accounts.services import user_create

    regions = Region.objects.filter(level__in=TITLES).exclude(
        kind=Region.Kind.MANAGEMENT_ZONE, level=Region.Level.TOWNSHIP
    )
    existing = set(Department.objects.values_list("code", flat=True))
    new = [
        Department(code=department_code(region, kind), name=f"{region.name}{title}", kind=kind, region=region)
        for region in regions.order_by("path")
        for kind, title in TITLES[region.level].items()
        if department_code(region, kind) not in existing
    ]
    Department.objects.bulk_create(new, batch_size=500)
    by_code = {d.code: d for d in Department.objects.select_related("region")}

    categories = {
        c.code: c for c in IncidentCategory.objects.filter(code__in=[*COUNTY_ROUTES, *TOWNSHIP_ROUTES])
    }
    routed = set(RoutingRule.objects.values_list("category_id", "region_id"))
    routes = []
    for region in regions.filter(level__in=(Region.Level.COUNTY, Region.Level.TOWNSHIP)):
        table = COUNTY_ROUTES if region.level == Region.Level.COUNTY else TOWNSHIP_ROUTES
        for code, kind in table.items():
            department = by_code.get(department_code(region, kind))
            category = categories.get(code)
            if department and category and (category.pk, region.pk) not in routed:
                routes.append(RoutingRule(category=category, region=region, department=department))
    RoutingRule.objects.bulk_create(routes, batch_size=500)

    lines = [f"{len(by_code)} departments ({len(new)} new), {len(routes)} new routes; department logins:"]
    staffed = sorted(
        (d for d in by_code.values() if d.region.code in STAFFED), key=lambda d: (len(d.region.code), d.code)
    )
    for department in staffed:
        username = staff_username(department)
        if not User.objects.filter(username=username).exists():
            user_create(
                username=username,
                password=DEMO_PASSWORD,
                role=Role.DEPARTMENT_OFFICER,
                department=department,
                display_name=f"{department.name} 演示",
            )
        lines.append(f"  {username:<28} {department.name}")
    return "\n".join(lines)
