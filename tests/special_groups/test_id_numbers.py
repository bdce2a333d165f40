"""One person, one ID number, whatever digits were typed: full-width digits (what a Chinese input
method types), spaces between groups and a lower-case check letter are normalised at the command
(so the API and the page behave alike), validated, hashed and stored as the half-width number.
An attacker who types the same number in full-width cannot enrol the person a second time."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role, SpecialProject
from special_groups import services
from special_groups.crypto import is_valid_id_number, lookup_hash, normalise_id_number
from special_groups.models import Enrollment, Guardian, Person
from tests.factories import user_for_role
from tests.special_groups.helpers import enroll, id_number, person, village

pytestmark = pytest.mark.django_db

URL = "/api/special-enrollments/"
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def with_x(x: bool = True) -> str:
    """A valid number whose check character is X (or, with ``x=False``, a digit)."""
    while True:
        number = id_number()
        if number.endswith("X") == x:
            return number


def variants(number: str) -> list[str]:
    return [
        number.translate(FULL_WIDTH),
        number[:17].translate(FULL_WIDTH) + number[17],  # what the old check let through
        f" {number[:6]} {number[6:14]} {number[14:]} ",
        f"{number[:6]}\u3000{number[6:]}",  # an ideographic space
        number.lower(),
    ]


def test_normalising_gives_the_half_width_number_and_keeps_ascii_hashes():
    number = with_x()
    for typed in variants(number):
        assert normalise_id_number(typed) == number
        assert is_valid_id_number(typed)
        assert lookup_hash(typed) == lookup_hash(number)
    # Stored hashes of ASCII numbers are unchanged.
    import hashlib
    import hmac

    from django.conf import settings

    assert lookup_hash(id_number()) != lookup_hash(number)
    assert (
        lookup_hash(number)
        == hmac.new(settings.PII_LOOKUP_KEY.encode(), number.encode(), hashlib.sha256).hexdigest()
    )


@pytest.mark.parametrize(
    "typed",
    [
        lambda n: n.translate(ARABIC_INDIC),  # other Unicode digits are not an ID number
        lambda n: n[:17].translate(ARABIC_INDIC) + n[17],
        lambda n: n[:16] + "\u0663" + n[17],
        lambda n: n[:17] + "x\u0301",
    ],
)
def test_other_unicode_digits_are_refused(typed):
    assert not is_valid_id_number(typed(with_x()))


def payload(number: str) -> dict:
    return {
        "name": "重复登记",
        "id_number": number,
        "region": village().code,
        "release_date": (timezone.localdate() + timedelta(days=10)).isoformat(),
    }


@pytest.mark.parametrize("first_full_width", [False, True])
@pytest.mark.parametrize("x", [False, True])
def test_the_same_person_cannot_be_enrolled_twice_over_the_api(api_client, first_full_width, x):
    api_client.force_authenticate(user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI))
    number = with_x(x)
    first = number[:17].translate(FULL_WIDTH) + number[17] if first_full_width else number
    created = api_client.post(URL, payload(first))
    assert created.status_code == 201, created.json()
    stored = Person.objects.get()
    assert stored.id_number == number and stored.id_number_hash == lookup_hash(number)
    for again in [number, *variants(number)]:
        response = api_client.post(URL, payload(again))
        assert response.status_code == 400 and "id_number" in response.json(), again
    assert Person.objects.count() == 1 and Enrollment.objects.count() == 1


@pytest.mark.parametrize("x", [False, True])
def test_the_page_normalises_like_the_api(client, x):
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI)
    number = with_x(x)
    enroll(SpecialProject.HUIGUI, who=person(number=number), release_date=timezone.localdate())
    client.force_login(officer)
    data = {**payload(number.translate(FULL_WIDTH)), "phone": "", "address": ""}
    response = client.post(reverse("special_groups:enrol"), data)
    assert response.status_code == 400 and response.context["form"].errors["id_number"]
    assert Person.objects.count() == 1
    fresh = with_x()
    response = client.post(reverse("special_groups:enrol"), {**data, "id_number": fresh.lower()})
    assert response.status_code == 302
    assert Person.objects.filter(id_number_hash=lookup_hash(fresh)).get().id_number == fresh


@pytest.mark.parametrize("x", [False, True])
def test_a_full_width_guardian_number_is_still_the_patient(x):
    number = with_x(x)
    enrollment = enroll(SpecialProject.ANNING, who=person(number=number))
    with pytest.raises(Exception) as error:
        services.guardian_assign(
            actor=user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING),
            enrollment=enrollment,
            name="本人",
            id_number=number[:17].translate(FULL_WIDTH) + number[17],
            relation="本人",
        )
    assert "id_number" in error.value.message_dict
    assert not Guardian.objects.exists()
