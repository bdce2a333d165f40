"""Demo logins, one per role, for `make run`. Never loaded by production settings."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.models import User
from accounts.roles import Role, SpecialProject
from accounts.services import user_create
from grids.models import GridOffice, Region

DEMO_PASSWORD = "anshun-demo-2026"  # noqa: S105 - published demo credential, dev only


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    jurisdiction: str


def _demo_specs() -> list[tuple[str, str, dict]]:
    city = Region.objects.get(code="5204")
    xixiu = Region.objects.get(code="520402")
    township = Region.objects.get(code="520402005")  # 东关街道
    office = GridOffice.objects.filter(seat__path__startswith=township.path).order_by("code").first()
    return [
        ("gridworker", Role.GRID_WORKER, {"grid_office": office, "display_name": "网格员 演示"}),
        ("gridhead", Role.GRID_OFFICE_HEAD, {"grid_office": office, "display_name": "网格长 演示"}),
        ("township", Role.TOWNSHIP_OFFICIAL, {"region": township, "display_name": "街道干部 演示"}),
        ("county", Role.COUNTY_OFFICIAL, {"region": xixiu, "display_name": "区干部 演示"}),
        ("city", Role.CITY_OFFICIAL, {"region": city, "display_name": "市领导 演示"}),
        ("dispatcher", Role.DISPATCHER, {"region": xixiu, "display_name": "综治中心调度员 演示"}),
        ("mediator", Role.MEDIATOR, {"region": xixiu, "display_name": "调解员 演示"}),
        ("lawyer", Role.LAWYER, {"region": xixiu, "display_name": "值班律师 演示"}),
        (
            "caseofficer",
            Role.CASE_OFFICER,
            {
                "region": xixiu,
                "special_project": SpecialProject.HUIGUI,
                "display_name": "回归工程专干 演示",
            },
        ),
        ("auditor", Role.AUDITOR, {"region": city, "display_name": "审计员 演示"}),
        ("admin", Role.ADMIN, {"is_superuser": True, "display_name": "系统管理员 演示"}),
    ]


@transaction.atomic
def ensure_demo_users() -> list[DemoLogin]:
    """Create the missing demo users; existing ones are left as they are."""
    logins = []
    for username, role, extra in _demo_specs():
        user = User.objects.filter(username=username).select_related("region", "grid_office").first()
        if user is None:
            user = user_create(username=username, password=DEMO_PASSWORD, role=role, **extra)
        logins.append(
            DemoLogin(username, user.get_role_display(), str(user.grid_office or user.region or "全市"))
        )
    return logins


# Sync clients, for the load test and for trying the API: a grid office's, the command centre's
# and the mediation office's. Their tokens come from `manage.py issue_api_token NAME`.
DEMO_SERVICE_ACCOUNTS = ("sync-grid", "sync-dispatch", "sync-mediation")


@transaction.atomic
def ensure_demo_service_accounts() -> str:
    """Create the missing demo service accounts; returns a line for the loader's output."""
    xixiu = Region.objects.get(code="520402")
    township = Region.objects.get(code="520402005")
    office = GridOffice.objects.filter(seat__path__startswith=township.path).order_by("code").first()
    specs = {
        "sync-grid": (Role.GRID_WORKER, {"grid_office": office, "display_name": "网格站同步客户端 演示"}),
        "sync-dispatch": (Role.DISPATCHER, {"region": xixiu, "display_name": "综治中心同步客户端 演示"}),
        "sync-mediation": (Role.MEDIATOR, {"region": xixiu, "display_name": "调解系统同步客户端 演示"}),
    }
    for username in DEMO_SERVICE_ACCOUNTS:
        if not User.objects.filter(username=username).exists():
            role, extra = specs[username]
            user_create(username=username, password=None, role=role, is_service_account=True, **extra)
    return f"service accounts {', '.join(DEMO_SERVICE_ACCOUNTS)} (manage.py issue_api_token NAME)"
