"""The Django admin behind the platform's own (two-step) login."""

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse


class AnshunAdminSite(admin.AdminSite):
    """Admin's own login form would sign a user in on the password alone, so it sends people to
    the platform login (password, then code). A staff member who holds a device must have passed
    the code step in this session to enter."""

    def login(self, request, extra_context=None):
        if request.user.is_authenticated:
            raise PermissionDenied
        next_url = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return redirect(f"{reverse('login')}?{urlencode({'next': next_url})}")

    def has_permission(self, request):
        from accounts import two_factor  # this module is loaded with the app registry, before models

        user = request.user
        return super().has_permission(request) and (
            user.is_verified() or not two_factor.has_confirmed_device(user)
        )


class AnshunAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.AnshunAdminSite"
