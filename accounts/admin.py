from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "role", "region", "grid_office", "is_active")
    list_filter = ("role", "special_project", "is_active", "is_staff")
    search_fields = ("username", "display_name", "phone")
    raw_id_fields = ("region", "grid_office")
    list_select_related = ("region", "grid_office")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (
            _("Role and jurisdiction"),
            {
                "fields": (
                    "display_name",
                    "phone",
                    "role",
                    "region",
                    "grid_office",
                    "special_project",
                )
            },
        ),
    )
