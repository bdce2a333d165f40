"""The admin's "recompute now": queues a full run and shows its progress."""

import pytest

from accounts.roles import Role
from surveys.models import RollupRun
from surveys.services.rollup import run_rollup
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def test_recompute_now_queues_a_full_run_and_the_list_shows_progress(
    client, wave, django_capture_on_commit_callbacks
):
    client.force_login(user_for_role(Role.ADMIN))
    listing = client.get("/admin/surveys/rolluprun/")
    assert "立即重算" in listing.content.decode() or "Recompute now" in listing.content.decode()
    response = client.post("/admin/surveys/rolluprun/recompute/", {"full": "1"})
    assert response.status_code == 302
    run = RollupRun.objects.get()
    assert (run.status, run.full) == (RollupRun.Status.QUEUED, True)
    listing = client.get("/admin/surveys/rolluprun/")
    assert '<progress max="100" value="0">' in listing.content.decode()
    assert listing["Refresh"] == "3"  # the page follows the queued run
    with django_capture_on_commit_callbacks(execute=True):
        run_rollup(run_id=run.pk)  # what the worker does with it
    assert client.get("/admin/surveys/rolluprun/").content.decode().count('value="100"') == 1


def test_recompute_is_post_only(client):
    client.force_login(user_for_role(Role.ADMIN))
    assert client.get("/admin/surveys/rolluprun/recompute/").status_code == 405
