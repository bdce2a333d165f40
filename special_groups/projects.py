"""The special-population projects, declared once each: adding a project is one entry here.

Each ``Project`` says everything the rest of the platform asks about a project:

- ``code`` and ``label`` (English msgid, translated in the catalogues; ``accounts.roles.SpecialProject``
  is built from these entries, so the role table, every model's ``project`` choices and the
  case officers' ``special_project`` follow this list);
- ``facts``: the enrolment facts its case officers record (model fields of ``Enrollment``), which
  of them are required, and ``validate``, the project's own rule over them (dates...), so the
  enrolment form, the API, the record page and the command read one schema;
- ``tasks``: the work the hourly planning creates for it (``TaskPlan``: a kind and its cadence);
- ``figures``: the keys of the tiles it shows (``special_groups.selectors`` builds them; a test
  checks every key is produced), and ``demo``: the function that writes its demo caseload;
- who may see it: its case officers (``officer_role``) inside their jurisdiction, and nobody
  else sees its records; ``figures_outside`` says whether officials see its (suppressed) counts
  at all, ``exportable`` whether its masked caseload may leave the platform, ``guardian`` whether
  its cases have a guardian or carer, ``check_ins`` whether its people report (报到).

This module imports no models (``accounts.roles`` reads it at start-up): functions elsewhere are
named by dotted path and resolved when used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Fact:
    """One enrolment fact: an ``Enrollment`` field the project's officers record."""

    name: str
    required: bool = False
    required_message: object = None  # what a missing required fact is told (a lazy translation)
    default: object = None  # what a blank optional fact becomes on enrolment


@dataclass(frozen=True)
class TaskPlan:
    """A kind of task the hourly planning creates: ``kind`` is a ``CaseTask.Kind`` value and
    ``planner`` the dotted path of the function that plans it for this project
    (``special_groups.planning``), ``every_days`` its usual cadence (shown to officers)."""

    kind: str
    planner: str
    every_days: int | None = None


Validator = Callable[[dict, date], dict]


@dataclass(frozen=True)
class Project:
    code: str
    label: object  # a lazy translation
    facts: tuple[Fact, ...]
    tasks: tuple[TaskPlan, ...]
    figures: tuple[str, ...]
    demo: str
    validate: str = ""  # dotted path of fn(facts, today) -> {field: message}
    officer_role: str = "case_officer"
    figures_outside: bool = True
    exportable: bool = True
    guardian: bool = False
    check_ins: bool = False
    enum_name: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def fact_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.facts)

    def check(self, facts: dict, today: date) -> dict:
        """The project's own rule over the facts given (field -> message); required facts first."""
        errors = {
            f.name: f.required_message or _("This project records it for every person.")
            for f in self.facts
            if f.required and facts.get(f.name) in (None, "")
        }
        if not errors and self.validate:
            errors.update(import_string(self.validate)(facts, today))
        return errors

    def demo_loader(self):
        return import_string(self.demo)


VISIT = "visit"
PICKUP = "pickup"
CHECK_IN = "check_in"
_PLAN = "special_groups.planning"

PROJECTS: tuple[Project, ...] = (
    Project(
        code="yuxin",
        enum_name="YUXIN",
        label=_("New education (at-risk youth)"),
        facts=(),
        tasks=(TaskPlan(VISIT, f"{_PLAN}.plan_cadence_visits", 90),),
        figures=(
            "special_groups.special_schools",
            "special_groups.students",
            "special_groups.yuxin_investment",
        ),
        demo="special_groups.demo.demo_yuxin",
    ),
    Project(
        code="yulu",
        enum_name="YULU",
        label=_("Rain and dew (left-behind children)"),
        facts=(),
        tasks=(TaskPlan(VISIT, f"{_PLAN}.plan_cadence_visits", 90),),
        figures=(
            "special_groups.township_centres",
            "special_groups.village_centres",
            "special_groups.kindergartens",
            "special_groups.yulu_investment",
            "special_groups.dormitory_area",
        ),
        demo="special_groups.demo.demo_yulu",
        guardian=True,
    ),
    Project(
        code="yangguang",
        enum_name="YANGGUANG",
        label=_("Sunshine (drug users)"),
        facts=(Fact("placement"),),
        tasks=(TaskPlan(VISIT, f"{_PLAN}.plan_cadence_visits", 30),),
        figures=("special_groups.people:yangguang",),
        demo="special_groups.demo.demo_yangguang",
    ),
    Project(
        code="huigui",
        enum_name="HUIGUI",
        # 刑释解戒: people released from prison (刑释) and from compulsory isolation drug
        # rehabilitation (解戒) are both must-pick-up people of this project (the article's 1299).
        label=_("Return (released prisoners)"),
        facts=(
            # 刑释 or 解戒; left blank by an older client, it is 刑释 (the project's first meaning).
            Fact("release_kind", default="xingshi"),
            Fact(
                "release_date",
                required=True,
                required_message=_("A must-pick-up target needs a release date."),
            ),
        ),
        tasks=(TaskPlan(PICKUP, f"{_PLAN}.plan_pickups"),),
        figures=(
            "special_groups.picked_up",
            "special_groups.pickup_rate",
            "special_groups.released_from_rehab",
        ),
        demo="special_groups.demo.demo_huigui",
        validate="special_groups.projects.check_release",
    ),
    Project(
        code="anning",
        enum_name="ANNING",
        label=_("Peace (mental disorders)"),
        facts=(Fact("risk_grade"),),
        tasks=(TaskPlan(VISIT, f"{_PLAN}.plan_patient_visits"),),
        figures=(
            "special_groups.patients",
            "special_groups.guardian_coverage",
            "special_groups.visit_compliance",
            "special_groups.subsidy_paid",
            "special_groups.clinics",
        ),
        demo="special_groups.demo.demo_anning",
        guardian=True,
    ),
    Project(
        code="hongsidai",
        enum_name="HONGSIDAI",
        label=_("Red ribbon (HIV/AIDS)"),
        facts=(),
        tasks=(TaskPlan(VISIT, f"{_PLAN}.plan_cadence_visits", 90),),
        # Never shown outside the project, not even suppressed; its officers see their count.
        figures=("special_groups.people:hongsidai",),
        demo="special_groups.demo.demo_hongsidai",
        figures_outside=False,
        exportable=False,
    ),
    Project(
        code="jiaozheng",
        enum_name="JIAOZHENG",
        label=_("Community correction"),
        facts=(
            Fact("correction_kind", required=True),
            Fact("term_start", required=True),
            Fact("term_end", required=True),
        ),
        tasks=(TaskPlan(CHECK_IN, f"{_PLAN}.plan_check_ins", 30),),
        figures=("special_groups.people:jiaozheng", "special_groups.check_in_compliance"),
        demo="special_groups.demo.demo_jiaozheng",
        validate="special_groups.projects.check_correction_term",
        check_ins=True,
    ),
)

BY_CODE: dict[str, Project] = {p.code: p for p in PROJECTS}


def project(code: str) -> Project | None:
    return BY_CODE.get(code)


def choices() -> list[tuple[str, str, object]]:
    """(enum name, code, label) for ``accounts.roles.SpecialProject``."""
    return [(p.enum_name or p.code.upper(), p.code, p.label) for p in PROJECTS]


def projects_with(**flags) -> tuple[str, ...]:
    return tuple(p.code for p in PROJECTS if all(getattr(p, k) == v for k, v in flags.items()))


# ---- the projects' own rules over their facts ---------------------------------------------


def check_release(facts: dict, today: date) -> dict:
    """回归: a new must-pick-up target's release is still ahead (the pick-up is planned before it)."""
    release = facts.get("release_date")
    if release is not None and release < today:
        return {"release_date": _("The release date of a new target cannot be in the past.")}
    return {}


def check_correction_term(facts: dict, today: date) -> dict:
    """社区矫正: the term (矫正期限) starts before it ends, and is not already over."""
    start, end = facts.get("term_start"), facts.get("term_end")
    if start and end and end <= start:
        return {"term_end": _("The correction term must end after it starts.")}
    if end and end < today:
        return {"term_end": _("This correction term is already over.")}
    return {}
