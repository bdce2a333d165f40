"""Closing a case and paying a subsidy take dates an officer types: a close before the case was
enrolled or in the future, or a payment in the future or before enrolment, is a field error and
writes nothing, at the service and at the page (the only doors; there is no API or admin write).
Today is ``tests.conftest.FIXED_NOW`` (2026-11-25); the patient was enrolled on 2026-01-05."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.roles import Role, SpecialProject
from special_groups import services
from special_groups.models import Enrollment, Guardian, SubsidyPayment
from tests.factories import user_for_role
from tests.special_groups.helpers import enroll, person

pytestmark = pytest.mark.django_db

BAD_DAYS = [date(2026, 1, 4), date(2026, 11, 26), date(2099, 1, 1)]


@pytest.fixture
def patient():
    enrollment = enroll(SpecialProject.ANNING, who=person(name="日期测试"), enrolled_on=date(2026, 1, 5))
    Guardian.objects.create(enrollment=enrollment, name="监护人", id_number_hash="x", relation="母亲")
    return enrollment


def officer():
    return user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING)


def untouched(patient):
    patient.refresh_from_db()
    return patient.status == Enrollment.Status.ACTIVE and patient.closed_on is None


@pytest.mark.parametrize("day", BAD_DAYS)
def test_the_service_refuses_a_close_date_before_enrolment_or_in_the_future(patient, day):
    with pytest.raises(ValidationError) as error:
        services.enrollment_close(actor=officer(), enrollment=patient, on=day)
    assert list(error.value.message_dict) == ["on"]
    assert untouched(patient)


@pytest.mark.parametrize("day", BAD_DAYS)
def test_the_service_refuses_a_payment_date_in_the_future_or_before_enrolment(patient, day):
    with pytest.raises(ValidationError) as error:
        services.subsidy_pay(actor=officer(), enrollment=patient, amount=200, paid_on=day)
    assert list(error.value.message_dict) == ["paid_on"]
    assert not SubsidyPayment.objects.exists()


@pytest.mark.parametrize("day", [date(2026, 1, 5), date(2026, 11, 25)])
def test_the_first_and_the_last_day_are_accepted(patient, day):
    services.subsidy_pay(actor=officer(), enrollment=patient, amount=200, paid_on=day)
    services.enrollment_close(actor=officer(), enrollment=patient, on=day)
    patient.refresh_from_db()
    assert patient.closed_on == day and SubsidyPayment.objects.get().paid_on == day


@pytest.mark.parametrize("day", BAD_DAYS)
def test_the_page_shows_the_date_errors_and_writes_nothing(client, patient, day):
    client.force_login(officer())
    url = reverse("special_groups:record", args=[patient.pk])
    closing = client.post(url, {"action": "close", "close-on": day.isoformat(), "close-confirm": "on"})
    assert closing.status_code == 400 and closing.context["close_form"].errors["on"]
    assert day.isoformat() in closing.content.decode()  # what was typed is kept
    paying = client.post(
        url,
        {
            "action": "subsidy",
            "subsidy-amount": "200",
            "subsidy-paid_on": day.isoformat(),
            "subsidy-confirm": "on",
        },
    )
    assert paying.status_code == 400 and paying.context["subsidy_form"].errors["paid_on"]
    assert untouched(patient) and not SubsidyPayment.objects.exists()
