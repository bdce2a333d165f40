"""The Django admin is not a side door: every record it can write goes through a command.

For every model of the project's apps registered in the admin, as a platform administrator: what
the admin may add or change must be saved by an overridden ``save_model`` (which calls the app's
command), editable inlines by an overridden ``save_formset``, and deletion must be refused unless
``delete_model`` and ``delete_queryset`` are overridden too. The only exceptions are city-wide
reference data with no jurisdiction of its own, listed below with the reason.
"""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from accounts.roles import Role
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

PROJECT_APPS = {
    "accounts",
    "grids",
    "incidents",
    "mediation",
    "special_groups",
    "safety_cells",
    "surveys",
    "audit",
}

# Reference data kept by platform administrators, with no jurisdiction or person behind it.
REFERENCE_DATA = {
    "accounts.User": "user administration is the admin's own job; full_clean checks role and jurisdiction",
    "accounts.ApiToken": "revoking a token (its key is never shown)",
    "accounts.AuthenticatorDevice": "removing a lost phone's authenticator",
    "accounts.BackupCodeDevice": "removing a lost phone's backup codes",
    "grids.GridOffice": "names and phone numbers only; code and seat are fixed once created",
    "incidents.IncidentCategory": "the city's category list and its working-hour limits",
    "incidents.Open311Client": "API keys of Open311 clients, issued here",
    "safety_cells.CellType": "the city's safe-cell types and their checklists",
}


def _overrides(model_admin, name: str) -> bool:
    for klass in type(model_admin).__mro__:
        if klass.__module__.split(".")[0] in PROJECT_APPS and name in klass.__dict__:
            return True
    return False


def test_every_admin_write_goes_through_a_command_or_is_reference_data():
    request = RequestFactory().get("/admin/")
    request.user = user_for_role(Role.ADMIN)
    doors = []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        if model._meta.app_label not in PROJECT_APPS or label in REFERENCE_DATA:
            continue
        writes = model_admin.has_add_permission(request) or model_admin.has_change_permission(request)
        if writes and not _overrides(model_admin, "save_model"):
            doors.append(f"{label}: saves without a command")
        if model_admin.has_delete_permission(request) and not (
            _overrides(model_admin, "delete_model") and _overrides(model_admin, "delete_queryset")
        ):
            doors.append(f"{label}: deletes without a command")
        for inline_class in model_admin.inlines:
            inline = inline_class(model, admin.site)
            writable = inline.has_add_permission(request, None) or inline.has_change_permission(request, None)
            if writable and not _overrides(model_admin, "save_formset"):
                doors.append(f"{label}: inline {inline.model._meta.label} saves without a command")
            if inline.has_delete_permission(request, None) and inline.can_delete:
                doors.append(f"{label}: inline {inline.model._meta.label} deletes without a command")
    assert doors == []


def test_personal_data_models_are_not_in_the_admin_at_all():
    registered = {model._meta.label for model in admin.site._registry}
    personal = {"special_groups.Person", "special_groups.Enrollment", "special_groups.Guardian"}
    assert not registered & personal
