from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from accounts import tokens
from accounts.models import ApiToken, AuthenticatorDevice, BackupCodeDevice, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = (
        "username",
        "display_name",
        "role",
        "region",
        "grid_office",
        "is_service_account",
        "is_active",
    )
    list_filter = ("role", "special_project", "is_service_account", "is_active", "is_staff")
    search_fields = ("username", "display_name", "phone")
    raw_id_fields = ("region", "grid_office", "department")
    list_select_related = ("region", "grid_office")
    actions = ["issue_api_token"]
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
                    "department",
                    "special_project",
                    "is_service_account",
                )
            },
        ),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (
            _("Role and jurisdiction"),
            {
                "fields": (
                    "role",
                    "region",
                    "grid_office",
                    "department",
                    "special_project",
                    "is_service_account",
                )
            },
        ),
    )

    @admin.action(description=_("Issue an API token (service accounts; the key is shown once)"))
    def issue_api_token(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one service account."), messages.ERROR)
            return None
        account = queryset.get()
        try:
            token, key = tokens.service_token_issue(
                actor=request.user, account=account, name=f"{account.username} sync client"
            )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return None
        response = TemplateResponse(
            request,
            "admin/accounts/api_token_issued.html",
            {
                **self.admin_site.each_context(request),
                "token": token,
                "key": key,
                "title": _("API token issued"),
            },
        )
        response["Cache-Control"] = "no-store"
        return response


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens can be seen (never their keys) and revoked; they are issued from the user list."""

    list_display = ("name", "user", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("user__is_service_account",)
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    fields = (
        "name",
        "user",
        "prefix",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke the selected tokens now"))
    def revoke(self, request, queryset):
        for token in queryset:
            tokens.token_revoke(actor=request.user, token=token)
        self.message_user(request, _("Tokens revoked."), messages.SUCCESS)


class _DeviceAdmin(admin.ModelAdmin):
    """An admin may remove a user's devices (a lost phone) but never sees a key or a code.

    django-otp declares the device fields with bare English names, which no catalogue can
    translate, so the columns are labelled here."""

    list_display = (
        "device_user",
        "device_name",
        "device_confirmed",
        "device_created_at",
        "device_last_used_at",
    )
    search_fields = ("user__username",)
    list_select_related = ("user",)
    fields = list_display
    readonly_fields = fields

    @admin.display(description=_("user"), ordering="user__username")
    def device_user(self, obj):
        return obj.user

    @admin.display(description=_("name"), ordering="name")
    def device_name(self, obj):
        return obj.name

    @admin.display(description=_("confirmed"), boolean=True, ordering="confirmed")
    def device_confirmed(self, obj):
        return obj.confirmed

    @admin.display(description=_("created at"), ordering="created_at")
    def device_created_at(self, obj):
        return obj.created_at

    @admin.display(description=_("last used"), ordering="last_used_at")
    def device_last_used_at(self, obj):
        return obj.last_used_at

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.register(AuthenticatorDevice, _DeviceAdmin)
admin.site.register(BackupCodeDevice, _DeviceAdmin)
