"""What the Django admin may do with a model whose rows only the app's commands write.

The admin is a door like any other: a model without a command-backed ``save_model`` is shown there
and never written (``tests/test_admin_doors.py`` checks every registered model)."""

from __future__ import annotations


class ReadOnlyAdminMixin:
    """Listed and viewable; no add, change or delete (for a ``ModelAdmin`` or an inline)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
