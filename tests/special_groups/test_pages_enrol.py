"""The enrolment, guardian, closing and subsidy pages: each writes through the same command as the
API, refuses roles without the capability (403), answers another project's or county's officer
exactly as for a missing record (404) and writes nothing, and keeps typed input with field errors."""

from datetime import date
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from accounts.roles import Role, SpecialProject
from grids.models import Region
from special_groups.crypto import lookup_hash
from special_groups.models import AccessRecord, Enrollment, Guardian, Person, SubsidyPayment
from tests.factories import user_for_role
from tests.special_groups.helpers import enroll, id_number, person, village

pytestmark = pytest.mark.django_db


def zh(message: str, **params) -> str:
    """What the page shows (pages are in Chinese unless the user switches)."""
    with translation.override("zh-hans"):
        text = gettext(message)
    return text % params if params else text


ENROL = "special_groups:enrol"


def officer(project=SpecialProject.HUIGUI, county: str | None = None):
    region = Region.objects.get(code=county) if county else None
    return user_for_role(Role.CASE_OFFICER, project=project, region=region)


def enrol_data(**overrides) -> dict:
    data = {
        "name": "页面登记甲",
        "id_number": id_number(),
        "region": village().code,
        "phone": "13800001111",
        "address": "塔山社区幸福路2号",
        "release_date": "2026-12-20",
    }
    data.update(overrides)
    return data


def written() -> tuple[int, int, int]:
    return Person.objects.count(), Enrollment.objects.count(), AccessRecord.objects.count()


# ---- enrolling ------------------------------------------------------------------------------


def test_an_officer_enrols_through_the_page_and_sees_the_record_masked(client):
    user = officer()
    client.force_login(user)
    page = client.get(reverse(ENROL))
    assert page.status_code == 200
    assert 'name="release_date"' in page.content.decode() and 'name="risk_grade"' not in page.content.decode()
    data = enrol_data()
    response = client.post(reverse(ENROL), data)
    enrollment = Enrollment.objects.get(case_officer=user)
    assert response.status_code == 302 and response.url == reverse(
        "special_groups:record", args=[enrollment.pk]
    )
    assert enrollment.project == SpecialProject.HUIGUI and enrollment.release_date == date(2026, 12, 20)
    assert enrollment.person.id_number == data["id_number"] and enrollment.person.name == "页面登记甲"
    assert AccessRecord.objects.filter(actor=user, action="enrol", enrollment=enrollment).exists()
    body = client.get(response.url).content.decode()
    assert "页****" in body and "页面登记甲" not in body and data["id_number"] not in body


def test_the_menu_and_the_caseload_link_to_the_enrolment_page(client):
    client.force_login(officer())
    body = client.get(reverse("special_groups:caseload")).content.decode()
    assert body.count(f'href="{reverse(ENROL)}"') == 2  # the menu and the caseload's button


@pytest.mark.parametrize("role", [Role.COUNTY_OFFICIAL, Role.AUDITOR, Role.GRID_WORKER, Role.ADMIN])
def test_roles_without_the_capability_get_403_and_write_nothing(client, role):
    client.force_login(user_for_role(role))
    before = written()
    assert client.get(reverse(ENROL)).status_code == 403
    assert client.post(reverse(ENROL), enrol_data()).status_code == 403
    assert written() == before


def test_a_case_officer_without_a_project_is_refused_like_the_api(client):
    user = officer()
    user.special_project = ""
    user.save(update_fields=["special_project"])
    client.force_login(user)
    before = written()
    assert client.get(reverse(ENROL)).status_code == 403
    assert client.post(reverse(ENROL), enrol_data()).status_code == 403
    assert written() == before


def test_a_place_in_another_county_reads_as_an_unknown_code(client):
    client.force_login(officer())
    before = written()
    far = village("520425")  # 紫云: outside the officer's township
    answers = [client.post(reverse(ENROL), enrol_data(region=code)) for code in (far.code, "529999999999")]
    for response in answers:
        assert response.status_code == 400
        assert response.context["form"].errors["region"] == [zh("Not found in your jurisdiction.")]
    assert written() == before


def test_duplicates_are_looked_for_in_the_officers_own_caseload_only(client):
    number = id_number()
    # Another project, and the same project in another county, already hold the number.
    enroll(SpecialProject.ANNING, who=person(number=number))
    enroll(
        SpecialProject.HUIGUI,
        who=person(number=number, region=village("520425")),
        release_date=date(2026, 12, 1),
    )
    user = officer()
    client.force_login(user)
    first = client.post(reverse(ENROL), enrol_data(id_number=number))
    assert first.status_code == 302  # nothing says the number is known elsewhere
    again = client.post(reverse(ENROL), enrol_data(id_number=number.lower()))
    assert again.status_code == 400
    assert again.context["form"].errors["id_number"] == [zh("This person is already in your caseload.")]
    assert Enrollment.objects.filter(case_officer=user).count() == 1
    assert Person.objects.filter(id_number_hash=lookup_hash(number)).count() == 3


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "张\x00三"),
        ("address", "路\x00"),
        # Full-width digits are normalised (tests/special_groups/test_id_numbers.py); other
        # scripts' digits are not an ID number.
        ("id_number", "٥٢٠٤٠٢١٩٨٠٠١٠١٠٠١X"),
        ("id_number", "5204021980010100" + "1" * 20),
        ("id_number", "520402198001010012"),  # a wrong check character
        ("region", "５２０４０２００５"),
        ("phone", "１３８００００１１１１"),
        ("release_date", "2026-02-30"),
        ("release_date", "２０２６-12-20"),
        ("release_date", "2020-01-01"),  # in the past: the command's own rule
        ("release_date", ""),
    ],
)
def test_malformed_input_gets_field_errors_keeps_what_was_typed_and_writes_nothing(client, field, value):
    client.force_login(officer())
    before = written()
    data = enrol_data(**{field: value})
    response = client.post(reverse(ENROL), data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert written() == before
    body = response.content.decode()
    assert 'value="塔山社区幸福路2号"' in body or field == "address"  # the rest of the form survives
    assert 'value="13800001111"' in body or field == "phone"


def test_a_lone_surrogate_from_a_broken_client_is_a_field_error(client):
    client.force_login(officer())
    before = written()
    data = enrol_data()
    body = "&".join(f"{k}={quote(v)}" for k, v in data.items() if k != "name") + "&name=%ED%A0%80x"
    response = client.post(reverse(ENROL), body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == [
        zh("This text contains characters that cannot be stored; retype it.")
    ]
    assert written() == before


def test_project_specific_facts_are_asked_of_their_project_only(client):
    client.force_login(officer(SpecialProject.ANNING))
    body = client.get(reverse(ENROL)).content.decode()
    assert 'name="risk_grade"' in body and 'name="release_date"' not in body
    response = client.post(reverse(ENROL), enrol_data(risk_grade="7"))
    assert response.status_code == 400 and response.context["form"].errors["risk_grade"]
    response = client.post(reverse(ENROL), enrol_data(risk_grade="3"))
    assert response.status_code == 302
    assert Enrollment.objects.get(project=SpecialProject.ANNING).risk_grade == 3


# ---- the guardian ---------------------------------------------------------------------------


@pytest.fixture
def patient():
    return enroll(SpecialProject.ANNING, who=person(name="监护测试"), risk_grade=2)


def guardian_url(enrollment) -> str:
    return reverse("special_groups:guardian", args=[enrollment.pk])


def test_an_officer_names_the_guardian_through_the_page(client, patient):
    user = officer(SpecialProject.ANNING)
    client.force_login(user)
    record = client.get(reverse("special_groups:record", args=[patient.pk])).content.decode()
    assert guardian_url(patient) in record
    page = client.get(guardian_url(patient))
    assert (
        page.status_code == 200
        and "监***" in page.content.decode()
        and "监护测试" not in page.content.decode()
    )
    assert AccessRecord.objects.filter(actor=user, action="view", enrollment=patient).count() == 2
    number = id_number()
    response = client.post(
        guardian_url(patient), {"name": "监护人乙", "id_number": number, "relation": "母亲", "phone": ""}
    )
    assert response.status_code == 302
    guardian = Guardian.objects.get(enrollment=patient)
    assert guardian.name == "监护人乙" and guardian.id_number_hash == lookup_hash(number)
    assert "监*" in client.get(guardian_url(patient)).content.decode()


def test_the_patient_cannot_be_their_own_guardian(client, patient):
    client.force_login(officer(SpecialProject.ANNING))
    response = client.post(
        guardian_url(patient),
        {"name": "监护测试", "id_number": patient.person.id_number, "relation": "本人"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["id_number"] == [zh("The guardian cannot be the patient.")]
    assert 'value="本人"' in response.content.decode()
    assert not Guardian.objects.exists()


@pytest.mark.parametrize(
    "who",
    [
        lambda: officer(SpecialProject.HUIGUI),  # another project, same place
        lambda: officer(SpecialProject.ANNING, county="520425"),  # same project, another county
    ],
)
def test_out_of_scope_officers_get_the_404_of_a_missing_record(client, patient, who):
    client.force_login(who())
    before = AccessRecord.objects.count()
    missing = guardian_url(Enrollment(pk=patient.pk + 10_000))
    for url in (guardian_url(patient), missing):
        assert client.get(url).status_code == 404
        assert (
            client.post(url, {"name": "某", "id_number": id_number(), "relation": "父亲"}).status_code == 404
        )
    assert not Guardian.objects.exists() and AccessRecord.objects.count() == before


def test_the_guardian_page_refuses_roles_without_the_capability(client, patient):
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    assert client.get(guardian_url(patient)).status_code == 403
    assert client.post(guardian_url(patient), {"name": "某"}).status_code == 403


def test_guardian_input_errors(client, patient):
    client.force_login(officer(SpecialProject.ANNING))
    for data, field in (
        ({"name": "乙\x00", "id_number": id_number(), "relation": "母亲"}, "name"),
        ({"name": "乙", "id_number": "５" * 18, "relation": "母亲"}, "id_number"),
        ({"name": "乙", "id_number": id_number(), "relation": ""}, "relation"),
    ):
        response = client.post(guardian_url(patient), data)
        assert response.status_code == 400 and response.context["form"].errors[field]
    assert not Guardian.objects.exists()


# ---- closing and subsidies on the record page -----------------------------------------------


def record_url(enrollment) -> str:
    return reverse("special_groups:record", args=[enrollment.pk])


def test_an_officer_closes_the_case_after_confirming(client, patient):
    client.force_login(officer(SpecialProject.ANNING))
    unconfirmed = client.post(record_url(patient), {"action": "close", "close-on": "2026-11-20"})
    assert unconfirmed.status_code == 400
    assert unconfirmed.context["close_form"].errors["confirm"] == [zh("Tick the box to confirm.")]
    assert 'value="2026-11-20"' in unconfirmed.content.decode()
    patient.refresh_from_db()
    assert patient.status == Enrollment.Status.ACTIVE
    done = client.post(
        record_url(patient), {"action": "close", "close-on": "2026-11-20", "close-confirm": "on"}
    )
    assert done.status_code == 302
    patient.refresh_from_db()
    assert patient.status == Enrollment.Status.CLOSED and patient.closed_on == date(2026, 11, 20)
    body = client.get(record_url(patient)).content.decode()
    assert 'id="close-form"' not in body and 'data-testid="closed-on">2026-11-20' in body


def test_a_subsidy_is_recorded_for_a_patient_with_a_guardian(client, patient):
    client.force_login(officer(SpecialProject.ANNING))
    assert 'id="subsidy-form"' not in client.get(record_url(patient)).content.decode()
    # Posted anyway, without a guardian: the command's rule, shown above the form.
    refused = client.post(
        record_url(patient),
        {
            "action": "subsidy",
            "subsidy-amount": "200",
            "subsidy-paid_on": "2026-11-01",
            "subsidy-confirm": "on",
        },
    )
    assert refused.status_code == 400
    assert refused.context["subsidy_form"].non_field_errors() == [
        zh("Subsidies are paid to the guardian of a registered patient.")
    ]
    Guardian.objects.create(enrollment=patient, name="监护人", id_number_hash="x", relation="母亲")
    assert 'id="subsidy-form"' in client.get(record_url(patient)).content.decode()
    paid = client.post(
        record_url(patient),
        {
            "action": "subsidy",
            "subsidy-amount": "200.50",
            "subsidy-paid_on": "2026-11-01",
            "subsidy-confirm": "on",
        },
    )
    assert paid.status_code == 302
    payment = SubsidyPayment.objects.get(enrollment=patient)
    assert str(payment.amount) == "200.50" and payment.paid_on == date(2026, 11, 1)
    assert "¥200.50" in client.get(record_url(patient)).content.decode()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"subsidy-amount": "１２", "subsidy-paid_on": "2026-11-01"}, "amount"),
        ({"subsidy-amount": "-5", "subsidy-paid_on": "2026-11-01"}, "amount"),
        ({"subsidy-amount": "1e400", "subsidy-paid_on": "2026-11-01"}, "amount"),
        ({"subsidy-amount": "12", "subsidy-paid_on": "2026-02-30"}, "paid_on"),
        ({"subsidy-amount": "12", "subsidy-paid_on": "2026\x00-01-01"}, "paid_on"),
    ],
)
def test_subsidy_input_errors(client, patient, data, field):
    Guardian.objects.create(enrollment=patient, name="监护人", id_number_hash="x", relation="母亲")
    client.force_login(officer(SpecialProject.ANNING))
    response = client.post(record_url(patient), {"action": "subsidy", "subsidy-confirm": "on", **data})
    assert response.status_code == 400 and response.context["subsidy_form"].errors[field]
    assert not SubsidyPayment.objects.exists()


@pytest.mark.parametrize(
    "who, status",
    [
        (lambda: officer(SpecialProject.HUIGUI), 404),
        (lambda: officer(SpecialProject.ANNING, county="520425"), 404),
        (lambda: user_for_role(Role.COUNTY_OFFICIAL), 403),
    ],
)
def test_closing_and_paying_out_of_scope_change_nothing(client, patient, who, status):
    Guardian.objects.create(enrollment=patient, name="监护人", id_number_hash="x", relation="母亲")
    client.force_login(who())
    close = {"action": "close", "close-on": "2026-11-20", "close-confirm": "on"}
    pay = {
        "action": "subsidy",
        "subsidy-amount": "200",
        "subsidy-paid_on": "2026-11-01",
        "subsidy-confirm": "on",
    }
    assert client.post(record_url(patient), close).status_code == status
    assert client.post(record_url(patient), pay).status_code == status
    patient.refresh_from_db()
    assert patient.status == Enrollment.Status.ACTIVE and not SubsidyPayment.objects.exists()
