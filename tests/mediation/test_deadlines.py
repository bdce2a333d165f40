"""Every legal deadline, computed exactly, and the beat job's warnings (each at most once)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from django.utils.translation import gettext

from mediation import deadlines, services
from mediation.models import DeadlineNotice, JudicialConfirmation

pytestmark = pytest.mark.django_db


def test_mediation_is_due_30_days_after_intake_plus_the_recorded_extension():
    assert deadlines.mediation_due(intake_date=date(2026, 1, 31)) == date(2026, 3, 2)
    assert deadlines.mediation_due(intake_date=date(2026, 1, 31), extension_days=15) == date(2026, 3, 17)
    # Leap year: 2028-02-29 exists.
    assert deadlines.mediation_due(intake_date=date(2028, 2, 1)) == date(2028, 3, 2)


def test_confirmation_application_window_is_30_days_from_the_agreement_taking_effect():
    assert deadlines.confirmation_apply_due(effective_on=date(2026, 12, 15)) == date(2027, 1, 14)
    assert not deadlines.is_late_application(effective_on=date(2026, 12, 15), applied_on=date(2027, 1, 14))
    assert deadlines.is_late_application(effective_on=date(2026, 12, 15), applied_on=date(2027, 1, 15))


def test_court_accepts_within_3_days_and_rules_within_15_or_25_when_extended():
    assert deadlines.court_accept_due(applied_on=date(2026, 4, 29)) == date(2026, 5, 2)
    assert deadlines.court_ruling_due(accepted_on=date(2026, 5, 2)) == date(2026, 5, 17)
    assert deadlines.court_ruling_due(accepted_on=date(2026, 5, 2), extended=True) == date(2026, 5, 27)


def _through_ruling(open_case, mediator, *, extend=False):
    case = open_case(intake=date(2026, 3, 1))
    services.agreement_record(actor=mediator, case=case, terms="赔偿5000元", signed_on=date(2026, 3, 20))
    services.confirmation_apply(
        actor=mediator, case=case, court="西秀区人民法院", applied_on=date(2026, 4, 10)
    )
    services.confirmation_decide(actor=mediator, case=case, accepted=True, decided_on=date(2026, 4, 12))
    if extend:
        services.confirmation_extend(actor=mediator, case=case, reason="需调查核实")
    case.refresh_from_db()
    return case


def test_case_deadlines_follow_the_recorded_dates(open_case, mediator):
    case = _through_ruling(open_case, mediator)
    by_key = {d.key: d for d in deadlines.case_deadlines(case)}
    assert by_key[deadlines.MEDIATION] == deadlines.Deadline(
        deadlines.MEDIATION, date(2026, 3, 31), date(2026, 3, 20)
    )
    assert by_key[deadlines.CONFIRMATION_APPLY].due_on == date(2026, 4, 19)
    assert by_key[deadlines.CONFIRMATION_APPLY].met_on == date(2026, 4, 10)
    assert by_key[deadlines.COURT_ACCEPT] == deadlines.Deadline(
        deadlines.COURT_ACCEPT, date(2026, 4, 13), date(2026, 4, 12)
    )
    assert by_key[deadlines.COURT_RULING] == deadlines.Deadline(
        deadlines.COURT_RULING, date(2026, 4, 27), None
    )


def test_the_10_day_extension_moves_the_ruling_deadline(open_case, mediator):
    case = _through_ruling(open_case, mediator, extend=True)
    ruling = deadlines.case_deadlines(case)[-1]
    assert (ruling.key, ruling.due_on) == (deadlines.COURT_RULING, date(2026, 5, 7))


def test_a_late_application_is_filed_but_flagged(open_case, mediator):
    case = open_case(intake=date(2026, 3, 1))
    services.agreement_record(
        actor=mediator, case=case, terms="t", signed_on=date(2026, 3, 5), effective_on=date(2026, 3, 6)
    )
    confirmation = services.confirmation_apply(
        actor=mediator, case=case, court="法院", applied_on=date(2026, 4, 6)
    )
    assert confirmation.applied_late is True
    assert (
        case.events.filter(kind="confirmation_applied")
        .get()
        .note.endswith(gettext("applied after the 30-day limit"))
    )


def test_on_the_last_day_is_not_late(open_case, mediator):
    case = open_case(intake=date(2026, 3, 1))
    services.agreement_record(actor=mediator, case=case, terms="t", signed_on=date(2026, 3, 6))
    confirmation = services.confirmation_apply(
        actor=mediator, case=case, court="法院", applied_on=date(2026, 4, 5)
    )
    assert confirmation.applied_late is False


def _notices(case):
    return sorted(
        DeadlineNotice.objects.filter(case=case).values_list("deadline", "due_on", "stage", "recipient")
    )


def test_the_mediator_is_warned_once_before_the_mediation_deadline_and_it_is_marked_missed(
    open_case, mediator
):
    case = open_case(intake=date(2026, 3, 1))  # due 2026-03-31, warned from 03-26
    assert services.deadlines_check(today=date(2026, 3, 25)) == services.DeadlineRun(0, 0)
    assert services.deadlines_check(today=date(2026, 3, 26)) == services.DeadlineRun(1, 0)
    assert services.deadlines_check(today=date(2026, 3, 27)) == services.DeadlineRun(0, 0)
    assert services.deadlines_check(today=date(2026, 3, 31)) == services.DeadlineRun(0, 0)
    assert services.deadlines_check(today=date(2026, 4, 1)) == services.DeadlineRun(0, 1)
    assert services.deadlines_check(today=date(2026, 4, 2)) == services.DeadlineRun(0, 0)
    assert _notices(case) == [
        ("mediation", date(2026, 3, 31), "missed", mediator.pk),
        ("mediation", date(2026, 3, 31), "warning", mediator.pk),
    ]


def test_a_mediation_extension_earns_a_fresh_warning_for_the_new_date(open_case, mediator):
    case = open_case(intake=date(2026, 3, 1))
    services.deadlines_check(today=date(2026, 3, 28))
    services.mediation_extend(actor=mediator, case=case, days=10, reason="当事人住院")
    assert services.deadlines_check(today=date(2026, 3, 28)) == services.DeadlineRun(0, 0)  # new due 04-10
    assert services.deadlines_check(today=date(2026, 4, 5)) == services.DeadlineRun(1, 0)
    assert services.deadlines_check(today=date(2026, 4, 5)) == services.DeadlineRun(0, 0)
    assert [n[1] for n in _notices(case)] == [date(2026, 3, 31), date(2026, 4, 10)]


def test_every_court_deadline_is_warned_and_missed_once_including_the_extension(open_case, mediator):
    case = open_case(intake=date(2026, 3, 1))
    services.agreement_record(actor=mediator, case=case, terms="t", signed_on=date(2026, 3, 20))
    # Confirmation window: due 04-19, warned from 04-14.
    assert services.deadlines_check(today=date(2026, 4, 14)) == services.DeadlineRun(1, 0)
    services.confirmation_apply(actor=mediator, case=case, court="法院", applied_on=date(2026, 4, 15))
    # Acceptance: due 04-18, warned from 04-17, missed on 04-19.
    assert services.deadlines_check(today=date(2026, 4, 17)) == services.DeadlineRun(1, 0)
    assert services.deadlines_check(today=date(2026, 4, 19)) == services.DeadlineRun(0, 1)
    services.confirmation_decide(actor=mediator, case=case, accepted=True, decided_on=date(2026, 4, 19))
    # Ruling: 15 days from 04-19 is 05-04 (warn from 05-01)...
    assert services.deadlines_check(today=date(2026, 5, 1)) == services.DeadlineRun(1, 0)
    services.confirmation_extend(actor=mediator, case=case, reason="案情复杂")
    # ...extended by 10 to 05-14: the old date is not missed, the new one is warned from 05-11.
    assert services.deadlines_check(today=date(2026, 5, 5)) == services.DeadlineRun(0, 0)
    assert services.deadlines_check(today=date(2026, 5, 11)) == services.DeadlineRun(1, 0)
    assert services.deadlines_check(today=date(2026, 5, 12)) == services.DeadlineRun(0, 0)
    services.ruling_record(
        actor=mediator,
        case=case,
        ruled_on=date(2026, 5, 13),
        ruling_number="（2026）黔0402民特1号",
        confirmed=True,
    )
    assert services.deadlines_check(today=date(2026, 6, 30)) == services.DeadlineRun(0, 0)
    assert _notices(case) == [
        ("confirmation_apply", date(2026, 4, 19), "warning", mediator.pk),
        ("court_accept", date(2026, 4, 18), "missed", mediator.pk),
        ("court_accept", date(2026, 4, 18), "warning", mediator.pk),
        ("court_ruling", date(2026, 5, 4), "warning", mediator.pk),
        ("court_ruling", date(2026, 5, 14), "warning", mediator.pk),
    ]
    assert JudicialConfirmation.objects.get(agreement__case=case).outcome == "confirmed"


def test_closed_cases_raise_no_warnings(open_case, mediator):
    case = open_case(intake=date(2026, 3, 1))
    services.case_close(actor=mediator, case=case, status="withdrawn", closed_on=date(2026, 3, 3))
    assert services.deadlines_check(today=date(2026, 5, 1)) == services.DeadlineRun(0, 0)


def test_the_caseload_marks_overdue_cases(open_case, mediator):
    from mediation.selectors import cases_visible_to, with_deadlines

    today = timezone.localdate()
    late = open_case(intake=today - timedelta(days=31))
    fresh = open_case(intake=today - timedelta(days=2))
    rows = {c.pk: c for c in with_deadlines(cases_visible_to(actor=mediator))}
    assert rows[late.pk].overdue and rows[late.pk].days_left == -1
    assert not rows[fresh.pk].overdue and rows[fresh.pk].days_left == 28
