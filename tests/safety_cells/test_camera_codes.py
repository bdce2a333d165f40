"""A camera code is one device on the city's Skynet platform, so codes stay unique city-wide;
the refusal of a code already taken must not tell an official anything about a camera out of
their sight. Tried as an attacker would, at the service, the page and the admin: the answer for
a code held in another county is, word for word, the answer for one held in their own township,
and it names no camera, place or owner."""

import re
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from safety_cells import services
from safety_cells.models import Camera
from tests.factories import user_for_role
from tests.safety_cells.test_pages_structure import (
    CAMERA_NEW,
    DONGGUAN,
    ZIYUN,
    a_point_in,
    camera_data,
    official,
)

pytestmark = pytest.mark.django_db


def taken_message(language="zh-hans") -> str:
    with translation.override(language):
        return gettext(
            "This camera code is already taken in the city register. "
            "Check the code with the bureau that issued it."
        )


@pytest.fixture
def held():
    """A camera in the official's own township and one in another county."""
    from accounts.roles import Role

    admin = user_for_role(Role.ADMIN)
    far_village, far = a_point_in(ZIYUN)
    _village, near = a_point_in(DONGGUAN)
    services.camera_register(actor=admin, code="5204250001", phase=3, location=far, owner="紫云县局秘密点")
    services.camera_register(actor=admin, code="5204020001", phase=3, location=near, owner="西秀分局")
    return {"far": "5204250001", "near": "5204020001", "far_village": far_village}


def test_the_service_answers_a_far_and_a_near_clash_alike(held):
    actor = official()
    _village, point = a_point_in(DONGGUAN)
    answers = []
    for code in (held["far"], held["near"]):
        with pytest.raises(ValidationError) as error, translation.override("zh-hans"):
            services.camera_register(actor=actor, code=code, phase=4, location=point, owner="西秀分局")
        answers.append(error.value.message_dict)
    assert answers[0] == answers[1] == {"code": [taken_message()]}
    assert Camera.objects.count() == 2


def test_the_page_answers_a_far_and_a_near_clash_alike(client, held):
    client.force_login(official())
    _village, point = a_point_in(DONGGUAN)
    bodies = []
    for code in (held["far"], held["near"]):
        response = client.post(CAMERA_NEW, camera_data(point, code=code))
        assert response.status_code == 400
        assert response.context["form"].errors == {"code": [taken_message()]}
        body = response.content.decode()
        assert "紫云县局秘密点" not in body and held["far_village"].name not in body
        bodies.append(re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body.replace(code, "CODE")))
    assert bodies[0].split("<main")[1] == bodies[1].split("<main")[1]
    assert Camera.objects.count() == 2


def test_the_admin_gives_the_same_answer(client, held):
    from accounts.roles import Role

    client.force_login(user_for_role(Role.ADMIN))
    _village, point = a_point_in(DONGGUAN)
    response = client.post(
        reverse("admin:safety_cells_camera_add"),
        {
            "code": held["far"],
            "name": "",
            "phase": 1,
            "location": point.geojson,
            "status": "online",
            "owner": "x",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"code": [taken_message()]}
    assert Camera.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_officials_registering_one_code_at_once_get_one_camera_and_a_field_error(anshun_tree):
    """Both pass the check before either writes: the database's unique index decides, and the
    loser gets the same field error, not a 500."""
    _village, point = a_point_in(DONGGUAN)
    actor = official()
    barrier = threading.Barrier(2, timeout=20)
    results = []
    original = Camera.full_clean

    def full_clean_then_wait(self, *args, **kwargs):
        original(self, *args, **kwargs)
        barrier.wait()

    def register():
        try:
            services.camera_register(actor=actor, code="RACE-1", phase=4, location=point, owner="x")
            results.append("ok")
        except ValidationError as exc:
            results.append(exc.message_dict)
        finally:
            connection.close()

    Camera.full_clean = full_clean_then_wait
    try:
        threads = [threading.Thread(target=register) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        Camera.full_clean = original
    assert sorted(map(str, results)) == sorted(["ok", str({"code": [taken_message()]})])
    assert Camera.objects.filter(code="RACE-1").count() == 1
