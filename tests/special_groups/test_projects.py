"""The projects are data: every entry of ``special_groups.projects`` has figures, tasks, a facts
form and a demo, so a half-added project fails here rather than showing nothing."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.roles import Role, SpecialProject
from grids.models import Region
from special_groups import selectors
from special_groups.demo import DemoContext, _People
from special_groups.forms import EnrollForm
from special_groups.models import CaseTask, Enrollment, ServiceFacility
from special_groups.projects import PROJECTS, Project, TaskPlan
from special_groups.services import plan_tasks
from tests.factories import user_for_role
from tests.special_groups.helpers import enroll

pytestmark = pytest.mark.django_db

FACT_FIELDS = {f.name for f in Enrollment._meta.get_fields()}


def problems(entry: Project) -> list[str]:
    """What is missing from a project's entry (declarations only; the tests below run them)."""
    found = []
    if not entry.figures:
        found.append("no figures")
    if not entry.tasks:
        found.append("no tasks")
    for plan in entry.tasks:
        try:
            import_string(plan.planner)
        except ImportError:
            found.append(f"planner {plan.planner} missing")
        if plan.kind not in CaseTask.Kind.values:
            found.append(f"task kind {plan.kind} unknown")
    for fact in entry.facts:
        if fact.name not in FACT_FIELDS or fact.name not in EnrollForm.FACT_FIELDS:
            found.append(f"fact {fact.name} has no field")
    try:
        import_string(entry.demo)
    except ImportError:
        found.append(f"demo {entry.demo} missing")
    return found


def test_the_role_table_follows_the_registry():
    assert SpecialProject.values == [p.code for p in PROJECTS]
    assert len({p.code for p in PROJECTS}) == len(PROJECTS)


@pytest.mark.parametrize("entry", PROJECTS, ids=[p.code for p in PROJECTS])
def test_every_project_is_declared_whole(entry):
    assert problems(entry) == []


def test_the_check_catches_a_half_added_project():
    half = Project(
        code="half", label="Half", facts=(), tasks=(), figures=(), demo="special_groups.demo.nothing"
    )
    assert set(problems(half)) == {"no figures", "no tasks", "demo special_groups.demo.nothing missing"}
    odd = Project(
        code="odd",
        label="Odd",
        facts=(),
        tasks=(TaskPlan("visit", "special_groups.planning.nothing"),),
        figures=("x",),
        demo="special_groups.demo.demo_yulu",
    )
    assert problems(odd) == ["planner special_groups.planning.nothing missing"]


@pytest.mark.parametrize("entry", PROJECTS, ids=[p.code for p in PROJECTS])
def test_every_project_shows_its_figures_to_its_officer(entry):
    officer = user_for_role(Role.CASE_OFFICER, project=entry.code)
    city = Region.objects.get(code="5204")
    keys = [t.key for t in selectors.project_tiles(actor=officer, region=city)]
    assert set(entry.figures) <= set(keys), set(entry.figures) - set(keys)


@pytest.mark.parametrize("entry", PROJECTS, ids=[p.code for p in PROJECTS])
def test_every_project_has_a_facts_form(entry):
    form = EnrollForm(project=entry.code, facilities=ServiceFacility.objects.none())
    declared = {f.name: f for f in entry.facts}
    shown = set(form.fields) & set(EnrollForm.FACT_FIELDS)
    assert shown == set(declared)
    assert all(form.fields[name].required == fact.required for name, fact in declared.items())


def _due_facts(entry: Project, today: date) -> dict:
    """Facts under which each of the project's declared tasks falls due now."""
    facts = {"enrolled_on": today - timedelta(days=400), "last_visit_on": today - timedelta(days=400)}
    names = entry.fact_names
    if "release_date" in names:
        facts["release_date"] = today + timedelta(days=2)
    if "term_start" in names:
        facts.update(term_start=today - timedelta(days=60), term_end=today + timedelta(days=300))
    if "correction_kind" in names:
        facts["correction_kind"] = "huanxing"
    if "release_kind" in names:
        facts["release_kind"] = "xingshi"
    return facts


def test_every_project_plans_its_declared_tasks():
    today = timezone.localdate()
    enrolled = {entry.code: enroll(entry.code, **_due_facts(entry, today)) for entry in PROJECTS}
    plan_tasks(today=today)
    for entry in PROJECTS:
        kinds = set(CaseTask.objects.filter(enrollment=enrolled[entry.code]).values_list("kind", flat=True))
        assert kinds == {plan.kind for plan in entry.tasks}, entry.code


@pytest.mark.parametrize("entry", PROJECTS, ids=[p.code for p in PROJECTS])
def test_every_project_has_a_demo_that_makes_its_people_with_their_facts(entry):
    rng = random.Random(1)
    villages = list(Region.objects.filter(level="village").defer("boundary").order_by("code")[:5])
    demo = DemoContext(
        rng=rng,
        people=_People(rng),
        villages=villages,
        schools=[ServiceFacility(name="a"), ServiceFacility(name="b")],
        clinics={},
        township_parent={},
        officers={},
    )
    entry.demo_loader()(demo)
    own = [(person, make) for person, make in demo.plan if person.project == entry.code]
    assert own, f"{entry.code}: the demo adds nobody"
    for index, (person, make) in enumerate(own[:50]):
        enrollment = Enrollment(person=person, project=entry.code, enrolled_on=date(2017, 1, 1))
        make(enrollment, index)
        for fact in entry.facts:
            if fact.required:
                assert getattr(enrollment, fact.name) not in (None, ""), (entry.code, fact.name)
