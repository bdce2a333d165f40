"""The auditor's pages, API and exports: scoped by jurisdiction, masked where personal,
refused to roles without ``audit.view``, and at a constant number of queries per page."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from accounts.roles import Role
from audit.selectors import audited_models
from incidents.services.editing import update_incident
from tests.audit.conftest import XIXIU, ZIYUN, auditor_of
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

SECRETS = ("王秘密", "13900001111", "秘密路8号")


def objects_of(county) -> set[tuple[str, int]]:
    return {
        ("incidents.incident", county.incident.pk),
        ("mediation.mediationcase", county.case.pk),
        ("special_groups.enrollment", county.enrollment.pk),
        ("special_groups.person", county.enrollment.person_id),
        ("safety_cells.evaluation", county.evaluation.pk),
    }


def listed(client, **params) -> set[tuple[str, int]]:
    response = client.get(reverse("audit:changes"), {"page_size": 500, **params})
    assert response.status_code == 200
    return {(c.model_key, c.object_id) for c in response.context["changes"]}


def test_a_county_auditor_sees_its_county_only_and_a_city_auditor_sees_all(
    xixiu, ziyun, counting_rule, client
):
    rule, _admin = counting_rule
    client.force_login(auditor_of(XIXIU))
    seen = listed(client)
    assert objects_of(xixiu) <= seen
    assert not seen & objects_of(ziyun)
    assert ("surveys.countingrule", rule.pk) not in seen  # city-wide settings: city auditors only
    client.force_login(auditor_of(ZIYUN))
    seen = listed(client)
    assert objects_of(ziyun) <= seen and not seen & objects_of(xixiu)
    client.force_login(auditor_of("5204"))
    assert objects_of(xixiu) | objects_of(ziyun) | {("surveys.countingrule", rule.pk)} <= listed(client)


def test_out_of_jurisdiction_changes_are_404_and_other_roles_403(xixiu, ziyun, client, api_client):
    outside = ziyun.incident.history.latest()
    inside = xixiu.incident.history.latest()
    client.force_login(auditor_of(XIXIU))
    assert (
        client.get(reverse("audit:change", args=["incidents.incident", inside.history_id])).status_code == 200
    )
    assert (
        client.get(reverse("audit:change", args=["incidents.incident", outside.history_id])).status_code
        == 404
    )
    assert client.get(reverse("audit:change", args=["no.such", inside.history_id])).status_code == 404
    assert (
        client.get(
            reverse("audit:object-history", args=["incidents.incident", ziyun.incident.pk])
        ).status_code
        == 404
    )
    for role in (Role.COUNTY_OFFICIAL, Role.CITY_OFFICIAL, Role.CASE_OFFICER, Role.MEDIATOR, Role.DISPATCHER):
        user = user_for_role(role)
        client.force_login(user)
        assert client.get(reverse("audit:changes")).status_code == 403, role
        assert (
            client.get(reverse("audit:change", args=["incidents.incident", inside.history_id])).status_code
            == 403
        )
        api_client.force_authenticate(user)
        assert api_client.get("/api/audit/incidents/").status_code == 403, role
        assert api_client.get(f"/api/audit/incidents/{inside.history_id}/").status_code == 403, role
    api_client.force_authenticate(auditor_of(XIXIU))
    assert api_client.get(f"/api/audit/incidents/{inside.history_id}/").status_code == 200
    assert api_client.get(f"/api/audit/incidents/{outside.history_id}/").status_code == 404
    ids = {row["object_id"] for row in api_client.get("/api/audit/incidents/").json()["results"]}
    assert xixiu.incident.pk in ids and ziyun.incident.pk not in ids


def test_an_objects_history_is_reachable_from_its_own_page_by_those_who_see_it(xixiu, ziyun, client):
    client.force_login(xixiu.worker)
    page = client.get(reverse("incidents:detail", args=[xixiu.incident.pk]))
    url = reverse("audit:object-history", args=["incidents.incident", xixiu.incident.pk])
    assert url in page.content.decode()
    history = client.get(url)
    assert history.status_code == 200 and len(history.context["changes"]) == 1
    other = reverse("audit:object-history", args=["incidents.incident", ziyun.incident.pk])
    assert client.get(other).status_code == 404
    client.force_login(xixiu.mediator)
    case_page = client.get(reverse("mediation:case", args=[xixiu.case.pk])).content.decode()
    assert reverse("audit:object-history", args=["mediation.mediationcase", xixiu.case.pk]) in case_page


def test_filters_narrow_to_one_object_and_the_diff_shows_old_and_new(xixiu, client):
    update_incident(actor=xixiu.worker, incident_id=xixiu.incident.pk, description="更正后的描述")
    client.force_login(auditor_of(XIXIU))
    response = client.get(
        reverse("audit:changes"), {"model": "incidents.incident", "object_id": xixiu.incident.pk}
    )
    changes = response.context["changes"]
    assert [(c.change_type, c.user.username) for c in changes] == [("~", "worker-xx"), ("+", "worker-xx")]
    description = next(f for f in changes[0].fields if f.name == "description")
    assert (description.old, description.new, description.masked) == ("路边垃圾堆放", "更正后的描述", False)
    assert {f.name for f in changes[0].fields} == {"description"}  # no updated_at/version noise
    by_user = listed(client, user="officer-xx")
    assert by_user == {
        ("special_groups.enrollment", xixiu.enrollment.pk),
        ("special_groups.person", xixiu.enrollment.person_id),
    }
    assert listed(client, change_type="-") == set()


def test_personal_data_is_masked_everywhere_and_history_holds_only_ciphertext(xixiu, client, api_client):
    person_id = xixiu.enrollment.person_id
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, id_number, phone, address FROM special_groups_historicalperson WHERE id = %s",
            [person_id],
        )
        stored = cursor.fetchone()
    assert all(value.startswith("gAAAA") for value in stored)  # Fernet tokens
    assert not any(secret in value for value in stored for secret in SECRETS)
    auditor = auditor_of(XIXIU)
    client.force_login(auditor)
    page = client.get(reverse("audit:changes"), {"model": "special_groups.person"})
    change = next(c for c in page.context["changes"] if c.object_id == person_id)
    masked = {f.name for f in change.fields if f.masked}
    # The project is masked too: the trail never ties a person to a project (issue #12).
    assert masked == {"name", "id_number", "id_number_hash", "phone", "address", "project"}
    detail = client.get(reverse("audit:change", args=["special_groups.person", change.history_id]))
    exported = client.get(reverse("audit:changes"), {"export": "csv", "model": "special_groups.person"})
    csv_text = b"".join(exported.streaming_content).decode()
    api_client.force_authenticate(auditor)
    api = api_client.get("/api/audit/special-persons/", {"object_id": person_id}).json()
    fields = {f["field"]: f for f in api["results"][0]["changes"]}
    assert {k: v for k, v in fields["name"].items() if k != "label"} == {
        "field": "name",
        "old": None,
        "new": None,
        "masked": True,
    }
    for text in (page.content.decode(), detail.content.decode(), csv_text, str(api)):
        assert not any(secret in text for secret in SECRETS)
        assert xixiu.enrollment.person.id_number not in text
    assert "changed (not shown)" in csv_text or "已更改（不显示）" in csv_text


def test_exports_hold_the_filtered_rows_in_xlsx_and_csv(xixiu, ziyun, client):
    client.force_login(auditor_of(XIXIU))
    expected = listed(client)
    xlsx = client.get(reverse("audit:changes"), {"export": "xlsx"})
    assert xlsx["Content-Disposition"].endswith('.xlsx"')
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert len(rows) - 1 == len(expected)
    assert {(r[1], r[2]) for r in rows[1:]} >= {("事件", xixiu.incident.pk)}
    assert ziyun.incident.pk not in {r[2] for r in rows[1:] if r[1] == "事件"}
    text = b"".join(
        client.get(reverse("audit:changes"), {"export": "csv", "user": "worker-xx"}).streaming_content
    )
    lines = list(csv.reader(io.StringIO(text.decode().lstrip("\ufeff"))))
    assert len(lines) == 2 and lines[1][4] == "worker-xx"


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params).status_code == 200
    return len(queries)


def test_query_counts_do_not_grow_with_the_page_size(xixiu, client, api_client):
    for n in range(6):
        update_incident(actor=xixiu.worker, incident_id=xixiu.incident.pk, description=f"第 {n} 次更正")
    auditor = auditor_of(XIXIU)
    client.force_login(auditor)
    # From 20 rows on, a page holds every audited model and every related model named in its
    # diffs: more rows per page cost no query more (one query per model on the page, and one per
    # related model whose names the diffs show, whatever the page's size).
    page = {size: _queries(client, reverse("audit:changes"), {"page_size": size}) for size in (20, 50, 500)}
    assert len(set(page.values())) == 1, page
    one_model = {
        size: _queries(client, reverse("audit:changes"), {"page_size": size, "model": "incidents.incident"})
        for size in (1, 5, 50)
    }
    # The first pages hold corrections of the description only; the creation row (on the
    # 50-row page) names its category, grid, office and reporter: one query per related model.
    assert one_model[1] == one_model[5], one_model
    related = {
        f.related_model
        for f in audited_models()["incidents.incident"].instance_type._meta.fields
        if f.is_relation
    }
    assert one_model[1] < one_model[50] <= one_model[1] + len(related), one_model
    api_client.force_authenticate(auditor)
    api = {size: _queries(api_client, "/api/audit/incidents/", {"page_size": size}) for size in (1, 5, 50)}
    assert api[1] == api[5] and api[50] <= api[1] + len(related), api
    history = _queries(
        client, reverse("audit:object-history", args=["incidents.incident", xixiu.incident.pk]), {}
    )
    assert history <= one_model[50] + 1


def test_every_audited_model_has_an_api_endpoint_in_the_schema(api_client):
    api_client.force_authenticate(user_for_role(Role.AUDITOR))
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    for prefix in (
        "incidents",
        "mediation-cases",
        "special-enrollments",
        "special-persons",
        "safety-evaluations",
    ):
        assert f"/api/audit/{prefix}/" in schema["paths"]
    assert "/api/audit/survey-counting-rules/{history_id}/" in schema["paths"]
    assert len(audited_models()) == 6
    parameters = {p["name"] for p in schema["paths"]["/api/audit/incidents/"]["get"]["parameters"]}
    assert {"object_id", "user", "change_type", "since", "until"} <= parameters


def test_key_rotation_re_encrypts_the_history_too(xixiu, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from special_groups.models import Person

    person_id = xixiu.enrollment.person_id
    history = Person.history.model

    def raw() -> tuple:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, phone FROM special_groups_historicalperson WHERE id = %s", [person_id]
            )
            return cursor.fetchone()

    before = raw()
    old_key = settings.PII_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_pii_keys", stdout=io.StringIO())
    assert all(a != b for a, b in zip(raw(), before, strict=True))
    settings.PII_ENCRYPTION_KEYS = [new_key]  # the old key is retired; the trail still reads
    assert history.objects.get(id=person_id).name == "王秘密"


def test_api_filters_that_are_not_what_the_schema_says_are_field_errors(xixiu, api_client):
    api_client.force_authenticate(auditor_of(XIXIU))
    for params, field in (
        ({"since": "2026-13-01"}, "since"),
        ({"change_type": "x"}, "change_type"),
        ({"object_id": "abc"}, "object_id"),
        ({"object_id": ["1", "2"]}, "object_id"),
    ):
        response = api_client.get("/api/audit/incidents/", params)
        assert response.status_code == 400 and field in response.json(), params
    assert (
        api_client.get("/api/audit/incidents/", {"since": "2020-01-01", "change_type": "~"}).status_code
        == 200
    )


def test_diffs_name_related_objects_and_places_never_ids_or_wkt(xixiu, client):
    from incidents.services.reporting import report_incident

    client.force_login(auditor_of(XIXIU))
    response = client.get(
        reverse("audit:changes"), {"model": "incidents.incident", "object_id": xixiu.incident.pk}
    )
    created = response.context["changes"][-1]
    fields = {f.name: f for f in created.fields}
    incident = xixiu.incident
    assert fields["category"].new == str(incident.category)
    assert fields["grid"].new == str(incident.grid)
    assert fields["reporter"].new == str(xixiu.worker)
    point = incident.location
    assert fields["location"].new == f"{incident.grid} ({point.y:.4f}, {point.x:.4f})"
    assert not ({"updated_at", "version", "created_at"} & set(fields))
    page = response.content.decode()
    assert "POINT" not in page and "SRID" not in page
    assert f'<span class="new">{incident.grid_id}</span>' not in page

    # A mediation case names its committee, place and mediator.
    response = client.get(reverse("audit:changes"), {"model": "mediation.mediationcase", "page_size": 500})
    case_fields = {f.name: f.new for f in response.context["changes"][-1].fields}
    assert case_fields["region"] == str(xixiu.case.region)
    assert case_fields["mediator"] == str(xixiu.mediator)

    # Many more rows on a page that names related objects cost no query more.
    for n in range(12):
        report_incident(
            actor=xixiu.worker, category=incident.category, description=f"第{n}处", location=incident.location
        )
    counts = {
        size: _queries(client, reverse("audit:changes"), {"page_size": size, "model": "incidents.incident"})
        for size in (2, 13)
    }
    assert counts[2] == counts[13], counts


def test_a_special_population_person_is_never_named_in_a_diff(xixiu, client, api_client):
    person = xixiu.enrollment.person
    for viewer in (auditor_of(XIXIU), user_for_role(Role.ADMIN), xixiu.officer):
        if not viewer.can("audit.view"):
            continue
        client.force_login(viewer)
        response = client.get(
            reverse("audit:changes"), {"model": "special_groups.enrollment", "page_size": 500}
        )
        fields = {f.name: f for f in response.context["changes"][-1].fields}
        # Masked outright (a sensitive field), or at most its kind and number.
        assert fields["person"].masked or fields["person"].new == f"{person._meta.verbose_name} #{person.pk}"
        page = response.content.decode()
        assert not any(secret in page for secret in SECRETS)
        api_client.force_authenticate(viewer)
        body = api_client.get("/api/audit/special-enrollments/", {"page_size": 50}).content.decode()
        assert not any(secret in body for secret in SECRETS)


def test_an_object_out_of_the_viewers_sight_is_shown_by_a_neutral_label(xixiu, ziyun, client):
    from audit.changes import load_changes
    from audit.selectors import changes_visible_to

    # The Ziyun incident's change, read (as through any door) by a Xixiu auditor: the grid and
    # office lie outside their jurisdiction, so they get its kind and number, not its name.
    xixiu_auditor = auditor_of(XIXIU)
    rows = changes_visible_to(actor=user_for_role(Role.ADMIN))
    rows = [r for r in rows if r["model_key"] == "incidents.incident"]
    changes = {c.object_id: c for c in load_changes(rows, actor=xixiu_auditor)}
    fields = {f.name: f.new for f in changes[ziyun.incident.pk].fields}
    grid = ziyun.incident.grid
    assert fields["grid"] == f"{grid._meta.verbose_name} #{grid.pk}"
    assert grid.name not in " ".join(fields.values())
    assert fields["category"] == str(ziyun.incident.category)  # categories are city-wide reference data
