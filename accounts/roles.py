"""Roles and what each may do, as one table a reviewer can read at a glance.

Where a user may look is decided by their jurisdiction (see anshun.scoping);
what they may do there is decided by the capabilities of their role below.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from special_groups.projects import choices as project_choices


class Role(models.TextChoices):
    GRID_WORKER = "grid_worker", _("Grid worker")
    GRID_OFFICE_HEAD = "grid_office_head", _("Grid office head")
    TOWNSHIP_OFFICIAL = "township_official", _("Township official")
    COUNTY_OFFICIAL = "county_official", _("County official")
    CITY_OFFICIAL = "city_official", _("City official")
    DISPATCHER = "dispatcher", _("Command-centre dispatcher")
    DEPARTMENT_OFFICER = "department_officer", _("Functional-department officer")
    MEDIATOR = "mediator", _("Mediator")
    LAWYER = "lawyer", _("Legal-service lawyer")
    CASE_OFFICER = "case_officer", _("Special-population case officer")
    AUDITOR = "auditor", _("Auditor")
    ADMIN = "admin", _("Administrator")


# The special-population projects (六项工程 and 社区矫正): declared once each in
# ``special_groups.projects`` (code, name, facts, tasks, figures, demo, who sees it); the choices
# every ``project`` field and the case officers' ``special_project`` use are built from there.
SpecialProject = models.TextChoices(
    "SpecialProject", [(name, (code, label)) for name, code, label in project_choices()]
)


class JurisdictionKind(models.TextChoices):
    GRID_OFFICE = "grid_office", _("Grid office")
    REGION = "region", _("Region")
    DEPARTMENT = "department", _("Functional department")
    ANY = "any", _("Any")


# Which kind of jurisdiction a role must hold, and at which region levels.
# Region levels: city, county, township, village (see grids.models.Region.Level).
ROLE_JURISDICTION = {
    Role.GRID_WORKER: (JurisdictionKind.GRID_OFFICE, ()),
    Role.GRID_OFFICE_HEAD: (JurisdictionKind.GRID_OFFICE, ()),
    Role.TOWNSHIP_OFFICIAL: (JurisdictionKind.REGION, ("township",)),
    Role.COUNTY_OFFICIAL: (JurisdictionKind.REGION, ("county",)),
    Role.CITY_OFFICIAL: (JurisdictionKind.REGION, ("city",)),
    Role.DISPATCHER: (JurisdictionKind.REGION, ("city", "county", "township")),
    Role.DEPARTMENT_OFFICER: (JurisdictionKind.DEPARTMENT, ()),
    Role.MEDIATOR: (JurisdictionKind.REGION, ("city", "county", "township", "village")),
    Role.LAWYER: (JurisdictionKind.REGION, ("city", "county", "township")),
    Role.CASE_OFFICER: (JurisdictionKind.REGION, ("city", "county", "township")),
    Role.AUDITOR: (JurisdictionKind.REGION, ("city", "county")),
    Role.ADMIN: (JurisdictionKind.ANY, ()),
}

# Capabilities per role. Feature apps add their own capability names here, so that
# the whole permission picture stays in one table.
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.GRID_WORKER: frozenset(
        {
            "account.two_factor",
            "incident.handle",
            "incident.report",
            "incident.view",
            "map.view",
            "patrol.log",
            "safety.view",
            "registry.record",
            "registry.view",
        }
    ),
    Role.GRID_OFFICE_HEAD: frozenset(
        {
            "account.two_factor",
            "incident.handle",
            "incident.report",
            "incident.verify",
            "incident.view",
            "map.view",
            "mediation.refer",
            "patrol.log",
            "safety.view",
            "surveys.view",
            "registry.import",
            "registry.record",
            "registry.view",
        }
    ),
    Role.TOWNSHIP_OFFICIAL: frozenset(
        {
            "account.two_factor",
            "dashboard.view",
            "incident.view",
            "map.view",
            "mediation.refer",
            "mediation.view",
            "patrol.log",
            "safety.manage",
            "safety.view",
            "special_groups.dashboard",
            "surveys.view",
            "registry.import",
            "registry.view",
        }
    ),
    Role.COUNTY_OFFICIAL: frozenset(
        {
            "account.two_factor",
            "dashboard.view",
            "incident.view",
            "map.view",
            "mediation.view",
            "safety.manage",
            "safety.view",
            "special_groups.dashboard",
            "surveys.view",
            "registry.view",
        }
    ),
    Role.CITY_OFFICIAL: frozenset(
        {
            "account.two_factor",
            "dashboard.view",
            "incident.view",
            "map.view",
            "mediation.view",
            "safety.manage",
            "safety.view",
            "special_groups.dashboard",
            "surveys.configure",
            "surveys.import",
            "surveys.view",
            "assessment.configure",
            "registry.view",
        }
    ),
    Role.DISPATCHER: frozenset(
        {
            "account.two_factor",
            "incident.close",
            "incident.dispatch",
            "incident.report",
            "incident.verify",
            "incident.view",
            "map.view",
            "mediation.refer",
            "safety.view",
        }
    ),
    # Staff of a functional department (派出所, 司法所, 城管…): they handle what is dispatched to
    # their department (as 主办 or 协办) and see nothing else (anshun.scoping, ``department``).
    Role.DEPARTMENT_OFFICER: frozenset(
        {
            "account.two_factor",
            "incident.handle",
            "incident.view",
        }
    ),
    Role.MEDIATOR: frozenset(
        {
            "incident.view",
            "account.two_factor",
            "map.view",
            "mediation.handle",
            "mediation.refer",
            "mediation.view",
        }
    ),
    Role.LAWYER: frozenset(
        {
            "account.two_factor",
            "legal.roster",
            "legal.serve",
            "map.view",
        }
    ),
    Role.CASE_OFFICER: frozenset(
        {
            "account.two_factor",
            "map.view",
            "special_groups.dashboard",
            "special_groups.export",
            "special_groups.handle",
        }
    ),
    Role.AUDITOR: frozenset(
        {
            "account.two_factor",
            "audit.view",
            "incident.view",
            "map.view",
            "mediation.view",
            "safety.view",
            "special_groups.dashboard",
            "surveys.view",
        }
    ),
    Role.ADMIN: frozenset(
        {
            "account.two_factor",
            "audit.view",
            "dashboard.view",
            "grids.import",
            "incident.calendar",
            "incident.close",
            "incident.delete",
            "incident.dispatch",
            "incident.handle",
            "incident.report",
            "incident.verify",
            "incident.view",
            "legal.roster",
            "legal.serve",
            "map.view",
            "mediation.handle",
            "mediation.refer",
            "mediation.view",
            "patrol.log",
            "safety.manage",
            "safety.view",
            "surveys.configure",
            "surveys.import",
            "surveys.view",
            "assessment.configure",
            "registry.import",
            "registry.record",
            "registry.view",
        }
    ),
}


def role_can(role: str, capability: str) -> bool:
    return capability in ROLE_CAPABILITIES.get(role, frozenset())
