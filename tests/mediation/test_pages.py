"""Pages: caseload with deadlines and exports, the case page and its actions, the printable
agreement, the committees' dashboard, the roster calendar, the incident panel and the tiles."""

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.roles import Role
from grids.models import Region
from mediation import seed, services
from mediation.models import (
    DutyShift,
    LegalAidApplication,
    LegalServiceCentre,
    MediationAgreement,
    MediationCase,
)
from mediation.panels import incident_panel
from mediation.tiles import mediation_tiles
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def _query_count(client, url, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured)


def test_caseload_marks_overdue_and_its_query_count_is_constant(client, open_case, mediator):
    today = timezone.localdate()
    late = open_case(intake=today - timedelta(days=40))
    client.force_login(mediator)
    url = reverse("mediation:caseload")
    few = _query_count(client, url)
    for days in range(1, 6):
        open_case(intake=today - timedelta(days=days))
    many = _query_count(client, url)
    assert few == many
    page = client.get(url).content.decode()
    assert f'<tr class="overdue" data-case="{late.pk}">' in page


def test_caseload_exports_what_it_shows(client, open_case, mediator):
    case = open_case(intake=date(2026, 3, 1))
    client.force_login(mediator)
    response = client.get(reverse("mediation:caseload"), {"export": "xlsx"})
    sheet = load_workbook(filename=io.BytesIO(response.content)).active
    rows = list(sheet.values)
    assert rows[1][0] == case.number and rows[1][7].date() == date(2026, 3, 31)
    csv = b"".join(client.get(reverse("mediation:caseload"), {"export": "csv"}).streaming_content).decode()
    assert case.number in csv


def test_case_page_shows_parties_deadlines_and_takes_a_session(client, open_case, mediator):
    case = open_case(intake=timezone.localdate())
    client.force_login(mediator)
    page = client.get(reverse("mediation:case", args=[case.pk])).content.decode()
    assert "某运输公司" in page and 'data-deadline="mediation"' in page
    response = client.post(
        reverse("mediation:case-action", args=[case.pk, "session"]),
        {"held_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "place": "调解室", "attendees": "双方"},
    )
    assert response.status_code == 302
    assert case.sessions.count() == 1
    # A bad step is shown again (400) with what was typed and the error, and writes nothing.
    response = client.post(
        reverse("mediation:case-action", args=[case.pk, "agreement"]),
        {"terms": "赔偿对方修车费", "signed_on": (timezone.localdate() - timedelta(days=3)).isoformat()},
    )
    assert response.status_code == 400
    assert response.context["open_action"] == "agreement"
    assert response.context["forms"]["agreement"].errors
    assert "赔偿对方修车费</textarea>" in response.content.decode()
    case.refresh_from_db()
    assert case.status == MediationCase.Status.IN_MEDIATION


def test_pages_are_404_outside_scope_and_403_without_the_capability(client, open_case, mediator, committees):
    case = open_case()
    stranger = user_for_role(Role.MEDIATOR, region=Region.objects.get(code="520402"))  # on no committee
    client.force_login(stranger)
    assert client.get(reverse("mediation:case", args=[case.pk])).status_code == 404
    assert client.post(reverse("mediation:case-action", args=[case.pk, "session"]), {}).status_code == 404
    pingba_official = user_for_role(
        Role.TOWNSHIP_OFFICIAL,
        region=Region.objects.filter(code__startswith="520403", level="township").first(),
    )
    client.force_login(pingba_official)
    assert client.get(reverse("mediation:case", args=[case.pk])).status_code == 404
    client.force_login(user_for_role(Role.GRID_WORKER))
    assert client.get(reverse("mediation:caseload")).status_code == 403
    client.force_login(user_for_role(Role.TOWNSHIP_OFFICIAL))
    assert client.get(reverse("mediation:case", args=[case.pk])).status_code == 200
    assert client.post(reverse("mediation:case-action", args=[case.pk, "session"]), {}).status_code == 403


def test_the_agreement_is_generated_from_its_template_for_printing(client, open_case, mediator):
    case = open_case(intake=date(2026, 3, 1))
    client.force_login(mediator)
    assert client.get(reverse("mediation:agreement", args=[case.pk])).status_code == 404
    services.agreement_record(
        actor=mediator, case=case, terms="被申请人赔偿申请人5000元", signed_on=date(2026, 3, 9)
    )
    page = client.get(reverse("mediation:agreement", args=[case.pk])).content.decode()
    assert (
        "人民调解协议书" in page
        and "被申请人赔偿申请人5000元" in page
        and "mediation/agreement_print.css" in page
    )
    from django.contrib.staticfiles import finders

    assert "@media print" in Path(finders.find("mediation/agreement_print.css")).read_text()
    assert "张三" in page and "某运输公司" in page and "2026年3月9日" in page


def test_committee_dashboard_computes_its_figures(client, open_case, mediator):
    agreed = open_case(intake=date(2026, 3, 1))
    services.agreement_record(actor=mediator, case=agreed, terms="t", signed_on=date(2026, 3, 11))
    services.confirmation_apply(actor=mediator, case=agreed, court="法院", applied_on=date(2026, 3, 12))
    services.confirmation_decide(actor=mediator, case=agreed, accepted=True, decided_on=date(2026, 3, 13))
    services.ruling_record(
        actor=mediator, case=agreed, ruled_on=date(2026, 3, 20), ruling_number="n1", confirmed=True
    )
    second = open_case(intake=date(2026, 3, 1))
    services.agreement_record(actor=mediator, case=second, terms="t", signed_on=date(2026, 3, 21))
    failed = open_case(intake=date(2026, 3, 1))
    services.case_close(actor=mediator, case=failed, status="no_agreement", closed_on=date(2026, 3, 5))
    open_case(intake=date(2026, 3, 1))
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    response = client.get(reverse("mediation:dashboard"))
    (row,) = response.context["stats"]
    assert (row.total, row.open, row.agreements, row.closed) == (4, 1, 2, 3)
    assert row.success_rate == round(100 * 2 / 3, 1)
    assert row.average_days == 15.0  # (10 + 20) / 2
    assert row.confirmation_rate == 50.0
    assert "chart.umd.min.js" in response.content.decode()
    sheet = load_workbook(
        io.BytesIO(client.get(reverse("mediation:dashboard"), {"export": "xlsx"}).content)
    ).active
    assert list(sheet.values)[1][1:4] == (4, 1, 2)


def test_roster_calendar_shows_shifts_and_clashes(client):
    seed.ensure_legal_centres()
    centre = LegalServiceCentre.objects.get(region__code="520402")
    lawyer = user_for_role(Role.LAWYER, region=centre.region)
    services.reception_day_add(actor=lawyer, centre=centre, day=date(2026, 6, 1), leader="区长")
    services.reception_day_add(actor=lawyer, centre=centre, day=date(2026, 6, 2), leader="区长")
    services.duty_assign(actor=lawyer, centre=centre, day=date(2026, 6, 1), lawyer=lawyer)
    client.force_login(lawyer)
    page = client.get(reverse("mediation:roster"), {"month": "2026-06"}).content.decode()
    assert 'data-day="2026-06-02"' in page and 'class="cell clash" data-day="2026-06-02"' in page
    assert 'class="cell" data-day="2026-06-01"' in page
    sheet = load_workbook(
        io.BytesIO(client.get(reverse("mediation:roster"), {"month": "2026-06", "export": "xlsx"}).content)
    ).active
    assert len(list(sheet.values)) == 2


def test_incident_panel_offers_referral_then_links_the_case(client, traffic, mediator, make_incident):
    incident = make_incident()
    official = user_for_role(Role.TOWNSHIP_OFFICIAL)
    panel = incident_panel(actor=official, incident=incident)
    assert panel["template"] == "mediation/_incident_panel.html"
    assert traffic in list(panel["context"]["committees"])
    html = render_to_string(panel["template"], panel["context"])
    assert 'data-testid="refer-button"' in html
    client.force_login(official)
    response = client.post(reverse("mediation:refer"), {"incident": incident.pk, "committee": traffic.pk})
    case = MediationCase.objects.get(source_incident=incident)
    assert response.url == reverse("mediation:case", args=[case.pk])
    panel = incident_panel(actor=official, incident=incident)
    assert panel["context"]["case_url"] == reverse("mediation:case", args=[case.pk])
    assert (
        incident_panel(actor=user_for_role(Role.GRID_WORKER), incident=incident)["context"]["case_url"] == ""
    )


def test_tiles_are_computed_from_cases(open_case, mediator):
    agreed = open_case(intake=date(2026, 3, 1))
    services.agreement_record(actor=mediator, case=agreed, terms="t", signed_on=date(2026, 3, 2))
    open_case(intake=timezone.localdate())
    tiles = {t.key: t for t in mediation_tiles(actor=user_for_role(Role.CITY_OFFICIAL), region=None)}
    assert tiles["mediation.open_cases"].value == 1
    assert tiles["mediation.success_rate"].value == 100.0
    assert tiles["mediation.confirmation_rate"].value == 0.0
    assert tiles["mediation.overdue"].value == 1  # the agreement's 30-day confirmation window has passed
    assert mediation_tiles(actor=user_for_role(Role.GRID_WORKER), region=None) == []


def test_roster_query_count_does_not_grow_with_shifts(client):
    seed.ensure_legal_centres()
    xixiu = Region.objects.get(code="520402")
    centres = list(LegalServiceCentre.objects.filter(region__path__startswith=xixiu.path).order_by("pk")[:4])
    scheduler = user_for_role(Role.LAWYER, region=xixiu)
    client.force_login(scheduler)
    url, params = reverse("mediation:roster"), {"month": "2026-06"}
    services.duty_assign(actor=scheduler, centre=centres[0], day=date(2026, 6, 1), lawyer=scheduler)
    few = _query_count(client, url, params)
    for day in range(2, 12):
        lawyer = user_for_role(Role.LAWYER, region=xixiu)
        services.reception_day_add(actor=scheduler, centre=centres[day % 4], day=date(2026, 6, day))
        services.duty_assign(actor=scheduler, centre=centres[day % 4], day=date(2026, 6, day), lawyer=lawyer)
    assert _query_count(client, url, params) == few


def test_dashboard_query_count_does_not_grow_with_committees(client, open_case, mediator, committees):
    official = user_for_role(Role.COUNTY_OFFICIAL)
    client.force_login(official)
    open_case()
    few = _query_count(client, reverse("mediation:dashboard"))
    medical = committees.get(dispute_type="医患纠纷")
    services.membership_add(actor=user_for_role(Role.ADMIN), committee=medical, user=mediator)
    for _ in range(3):
        services.case_open(
            actor=mediator,
            committee=medical,
            region=Region.objects.get(code="520402005"),
            dispute_type="医患纠纷",
            summary="s",
            intake_date=date(2026, 3, 1),
            parties=[services.PartyInput(name="甲")],
        )
    assert _query_count(client, reverse("mediation:dashboard")) == few


def test_a_walk_in_dispute_is_taken_in_at_the_desk(client, traffic, mediator, dongguan_village):
    client.force_login(mediator)
    url = reverse("mediation:case-new")
    assert client.get(url).status_code == 200
    form = {
        "committee": traffic.pk,
        "region": dongguan_village.pk,
        "source": "walk_in",
        "dispute_type": "道路交通事故",
        "summary": "电动车与轿车相撞",
        "intake_date": "2026-03-01",
        "applicant": "赵某",
        "respondent": "",
        "respondent_kind": "person",
    }
    before = MediationCase.objects.count()
    response = client.post(url, form)
    assert response.status_code == 400 and response.context["form"].errors
    assert 'value="赵某"' in response.content.decode()  # what was typed is still there
    assert MediationCase.objects.count() == before
    response = client.post(url, {**form, "respondent": "钱某"})
    case = MediationCase.objects.latest("pk")
    assert response.url == reverse("mediation:case", args=[case.pk])
    assert (case.mediator, case.source, case.parties.count()) == (mediator, "walk_in", 2)
    pingba_village = Region.objects.filter(code__startswith="520403", level="village").first()
    response = client.post(url, {**form, "respondent": "钱某", "region": pingba_village.pk})
    assert "region" in response.context["form"].errors


def test_the_roster_is_edited_on_its_page_and_a_clash_is_refused(client):
    seed.ensure_legal_centres()
    xixiu = Region.objects.get(code="520402")
    xixiu_centre = LegalServiceCentre.objects.get(region=xixiu)
    township_centre = LegalServiceCentre.objects.get(region__code="520402005")
    scheduler = user_for_role(Role.LAWYER, region=xixiu)
    lawyer = user_for_role(Role.LAWYER, region=xixiu)
    client.force_login(scheduler)
    url = reverse("mediation:roster")
    client.post(url, {"reception": "1", "centre": xixiu_centre.pk, "day": "2026-06-01", "leader": "区长"})
    client.post(url, {"shift": "1", "centre": xixiu_centre.pk, "day": "2026-06-01", "lawyer": lawyer.pk})
    response = client.post(
        url,
        {"shift": "1", "centre": township_centre.pk, "day": "2026-06-01", "lawyer": lawyer.pk},
    )
    assert response.status_code == 400 and response.context["roster_forms"]["shift"].errors
    assert response.context["roster_forms"]["shift"]["day"].value() == "2026-06-01"
    assert list(DutyShift.objects.values_list("centre_id", "lawyer_id")) == [(xixiu_centre.pk, lawyer.pk)]
    assert 'class="cell" data-day="2026-06-01"' in response.content.decode()
    client.force_login(user_for_role(Role.MEDIATOR))
    assert client.post(url, {"shift": "1"}).status_code == 403


def test_the_legal_desk_records_consultations_and_legal_aid(client):
    seed.ensure_legal_centres()
    xixiu = Region.objects.get(code="520402")
    centre = LegalServiceCentre.objects.get(region=xixiu)
    lawyer = user_for_role(Role.LAWYER, region=xixiu)
    client.force_login(lawyer)
    url = reverse("mediation:legal")
    empty = _query_count(client, url)
    client.post(url, {"form": "consultation", "centre": centre.pk, "topic": "欠薪", "answer": "可申请仲裁"})
    client.post(
        url,
        {
            "form": "aid",
            "centre": centre.pk,
            "applicant_name": "孙某",
            "matter": "欠薪",
            "applied_on": "2026-05-01",
        },
    )
    application = LegalAidApplication.objects.get()
    decision = {"form": "decision", "application": application.pk, "eligible": "1", "reason": "困难"}
    response = client.post(url, {**decision, "decided_on": "2026-05-02"})
    assert response.status_code == 400 and "lawyer" in response.context["forms"]["decision"].errors
    response = client.post(url, {**decision, "decided_on": "2026-05-02", "lawyer": lawyer.pk})
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.eligibility, application.assigned_lawyer) == ("eligible", lawyer)
    assert _query_count(client, url) == empty
    sheet = load_workbook(io.BytesIO(client.get(url, {"table": "aid", "export": "xlsx"}).content)).active
    assert list(sheet.values)[1][2] == "孙某"
    client.force_login(user_for_role(Role.MEDIATOR))
    assert client.get(url).status_code == 403


def test_deadline_notices_show_on_the_caseload_until_dismissed(client, open_case, mediator):
    case = open_case(intake=timezone.localdate() - timedelta(days=28))
    services.deadlines_check()
    notice = case.notices.get()
    client.force_login(user_for_role(Role.MEDIATOR))  # not the recipient: cannot dismiss it
    client.post(reverse("mediation:notice-read", args=[notice.pk]))
    client.force_login(mediator)
    page = client.get(reverse("mediation:caseload")).content.decode()
    assert reverse("mediation:notice-read", args=[notice.pk]) in page
    client.post(reverse("mediation:notice-read", args=[notice.pk]))
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert (
        reverse("mediation:notice-read", args=[notice.pk])
        not in client.get(reverse("mediation:caseload")).content.decode()
    )


def test_a_referred_case_names_its_parties_before_the_agreement_and_prints_no_stand_in(
    client, traffic, mediator, make_incident
):
    incident = make_incident()
    case = services.incident_refer(
        actor=user_for_role(Role.TOWNSHIP_OFFICIAL), incident=incident, committee=traffic, mediator=mediator
    )
    assert case.parties.count() == 0  # nobody made up for the incident's reporter
    client.force_login(mediator)
    page = client.get(reverse("mediation:case", args=[case.pk])).content.decode()
    assert 'data-testid="parties-missing"' in page
    url = reverse("mediation:case-action", args=[case.pk, "agreement"])
    signed = timezone.localdate().isoformat()
    client.post(
        reverse("mediation:case-action", args=[case.pk, "party"]),
        {"name": "王某", "side": "applicant", "kind": "person"},
    )
    response = client.post(url, {"terms": "赔偿500元", "signed_on": signed})
    assert response.status_code == 400  # still no respondent
    assert "被申请人" in str(response.context["forms"]["agreement"].non_field_errors())
    assert not MediationAgreement.objects.filter(case=case).exists()
    client.post(
        reverse("mediation:case-action", args=[case.pk, "party"]),
        {"name": "某物业公司", "side": "respondent", "kind": "organisation"},
    )
    assert client.post(url, {"terms": "赔偿500元", "signed_on": signed}).status_code == 302
    printed = client.get(reverse("mediation:agreement", args=[case.pk])).content.decode()
    assert printed.count('class="signature"') == 2 and "to-fill" not in printed
    assert "申请人 王某：" in printed and "被申请人 某物业公司：" in printed
    assert "一式 3 份" in printed

    # An older case whose stand-in was removed prints a blank to fill in by hand for that side.
    case.parties.filter(side="respondent").delete()
    printed = client.get(reverse("mediation:agreement", args=[case.pk])).content.decode()
    assert printed.count('class="signature"') == 1
    assert printed.count('data-unnamed="被申请人"') == 2  # the parties table and the signature block
    assert "一式 3 份" in printed


def test_the_migration_removes_only_the_stand_in_parties_of_referred_cases(
    traffic, mediator, make_incident, open_case
):
    import importlib

    from django.apps import apps

    from mediation.models import Party

    referred = services.incident_refer(
        actor=user_for_role(Role.TOWNSHIP_OFFICIAL), incident=make_incident(), committee=traffic
    )
    walk_in = open_case()
    Party.objects.create(case=referred, name=f"事件 #{referred.source_incident_id} 的反映人")
    Party.objects.create(case=referred, name=f"Reporting party of incident #{referred.source_incident_id}")
    Party.objects.create(case=referred, name="张事件", side="respondent")
    Party.objects.create(case=walk_in, name="事件 #7 的反映人")  # typed at a desk: not ours to remove
    migration = importlib.import_module("mediation.migrations.0006_drop_stand_in_parties")
    migration.drop_stand_ins(apps, None)
    assert list(referred.parties.values_list("name", flat=True)) == ["张事件"]
    assert walk_in.parties.filter(name="事件 #7 的反映人").exists()


CASE_FORMS = {
    # action: (case state it needs, what was typed with one bad value, a piece of it to find again)
    "session": (
        "open",
        {"held_at": "bad", "place": "村委会调解室", "attendees": "双方"},
        'value="村委会调解室"',
    ),
    "agreement": ("open", {"terms": "赔偿修车费三千元", "signed_on": "bad"}, "赔偿修车费三千元</textarea>"),
    "extend": ("open", {"days": "99", "reason": "当事人住院"}, 'value="当事人住院"'),
    "close": (
        "open",
        {"status": "withdrawn", "closed_on": "bad", "note": "申请人撤回"},
        'value="申请人撤回"',
    ),
    "party": (
        "open",
        {"name": "", "side": "third", "kind": "person", "phone": "13900000009"},
        'value="13900000009"',
    ),
    "confirmation-apply": (
        "agreed",
        {"court": "西秀区人民法院", "applied_on": "bad"},
        'value="西秀区人民法院"',
    ),
    "performance": ("agreed", {"performance": "bogus", "checked_on": "2026-03-20"}, 'value="2026-03-20"'),
    "confirmation-decide": ("applied", {"accepted": "1", "decided_on": "bad"}, 'value="bad"'),
    "confirmation-extend": ("accepted", {"reason": ""}, 'name="reason"'),
    "ruling": (
        "accepted",
        {"ruled_on": "bad", "ruling_number": "（2026）黔0402民特9号", "confirmed": "1"},
        "民特9号",
    ),
}


@pytest.mark.parametrize("action", list(CASE_FORMS))
def test_every_case_form_comes_back_with_what_was_typed(client, open_case, mediator, action):
    state, typed, kept = CASE_FORMS[action]
    case = open_case()
    if state != "open":
        services.agreement_record(actor=mediator, case=case, terms="t", signed_on=date(2026, 3, 10))
    if state in ("applied", "accepted"):
        services.confirmation_apply(actor=mediator, case=case, court="法院", applied_on=date(2026, 3, 12))
    if state == "accepted":
        services.confirmation_decide(actor=mediator, case=case, accepted=True, decided_on=date(2026, 3, 13))
    before = (case.sessions.count(), case.parties.count(), case.events.count())
    client.force_login(mediator)
    response = client.post(reverse("mediation:case-action", args=[case.pk, action]), typed)
    assert response.status_code == 400
    page = response.content.decode()
    form_html = page.split(f'data-action="{action}"', 1)[1].split("</form>", 1)[0]
    assert kept in form_html
    assert 'class="errorlist' in form_html
    assert f'<details class="action" id="{action}" open>' in page
    case.refresh_from_db()
    assert (case.sessions.count(), case.parties.count(), case.events.count()) == before
