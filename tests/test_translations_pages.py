"""The pages issue #15 named show the right words, in Chinese and in English.

tests/test_translations.py checks the catalogues; these check that the pages ask for the
msgids and contexts the catalogues translate (a context mistyped in a template shows the
English, a missing one another app's Chinese)."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.roles import Role, SpecialProject
from incidents.categories import CATEGORIES, LABELS
from incidents.models import IncidentCategory
from incidents.services import workflow
from special_groups.services import plan_tasks
from tests.factories import user_for_role
from tests.incidents import conftest as incident_fixtures
from tests.special_groups.helpers import enroll, person

# The incidents tests' fixtures, for the incident pages below.
category = incident_fixtures.category
home_office = incident_fixtures.home_office
home_grid = incident_fixtures.home_grid
worker = incident_fixtures.worker
dispatcher = incident_fixtures.dispatcher
make_incident = incident_fixtures.make_incident

CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def english(client):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})


def buttons(body: str) -> dict[str, str]:
    return {
        name: " ".join(re.sub(r"<[^>]+>", " ", label).split())
        for name, label in re.findall(r'data-action="([a-z_-]+)">(.*?)</button>', body, re.S)
    }


def test_seeded_categories_are_named_in_the_active_language():
    for code, stored, *_rest in CATEGORIES:
        seeded = IncidentCategory(code=code, name=stored)
        with translation.override("zh-hans"):
            assert seeded.label == str(seeded) == stored
        with translation.override("en"):
            assert seeded.label == str(seeded) and not CJK.search(seeded.label), code
    assert set(LABELS) == {code for code, *_rest in CATEGORIES}
    # A category renamed in the admin, or added there, shows its name as stored.
    with translation.override("en"):
        assert IncidentCategory(code="exposed-rubbish", name="垃圾乱堆").label == "垃圾乱堆"
        assert IncidentCategory(code="added-later", name="新增类别").label == "新增类别"


@pytest.mark.django_db
def test_the_report_form_names_categories_and_says_report(client, worker):
    client.force_login(worker)
    body = client.get(reverse("incidents:report"), **ZH).content.decode()
    assert "暴露垃圾" in body and "事件描述" in body and "看到了什么" not in body
    assert ">上报<" in re.sub(r"\s+", "", body) or "上报</button>" in body
    english(client)
    body = client.get(reverse("incidents:report")).content.decode()
    assert "Exposed rubbish" in body and "暴露垃圾" not in body


@pytest.mark.django_db
def test_the_verify_and_close_buttons_say_what_staff_say(client, make_incident, dispatcher, worker):
    incident = make_incident()
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.take_incident(actor=worker, incident_id=incident.pk)
    workflow.report_handled(actor=worker, incident_id=incident.pk, note="已清运")
    client.force_login(dispatcher)
    url = reverse("incidents:detail", args=[incident.pk])
    shown = buttons(client.get(url, **ZH).content.decode())
    assert shown["verify"] == "核查通过" and shown["reopen"] == "核查未通过：重新处置"
    workflow.verify_incident(actor=dispatcher, incident_id=incident.pk)
    body = client.get(url, **ZH).content.decode()
    # A verified case can still take a duplicate report in (并案), and closing says 结案.
    assert buttons(body) == {"close": "结案", "merge-by-number": "并案"} and "已核查" in body
    english(client)
    assert buttons(client.get(url).content.decode()) == {"close": "Close", "merge-by-number": "Merge (并案)"}


@pytest.mark.django_db
def test_the_caseload_and_tasks_speak_of_people(client):
    patient = enroll(
        SpecialProject.ANNING,
        who=person(name="词汇测试"),
        risk_grade=4,
        last_visit_on=timezone.localdate() - timedelta(days=30),
    )
    plan_tasks()
    assert patient.pk
    client.force_login(user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING))
    caseload = client.get(reverse("special_groups:caseload"), **ZH).content.decode()
    assert "<h1>在册人员" in caseload and "案件清单" not in caseload and "案件量" not in caseload
    assert "<th>姓名</th>" in caseload and "任务名" not in caseload
    assert caseload.count("姓名和号码已脱敏") == 1
    tasks = client.get(reverse("special_groups:tasks"), **ZH).content.decode()
    assert "<th>人员</th>" in tasks and "自然人" not in tasks and "<th>期限</th>" in tasks
    assert "超期" in tasks and "已逾期" not in tasks
