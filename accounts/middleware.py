"""Holds signed-in users to two-factor sign-in. Runs after django-otp's OTPMiddleware."""

from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from accounts import two_factor


class TwoFactorMiddleware:
    """A session that has not passed the code step is never treated as signed in by someone
    who holds a confirmed device: it is signed out and sent to the login (this covers sessions
    made before the device was added, by any path). Users of roles listed in
    ``TWO_FACTOR_REQUIRED_ROLES`` without a device can only reach the enrolment pages. Service
    accounts never have a session: one found is signed out."""

    # What a user who must enrol may still reach.
    ENROLMENT_VIEWS = frozenset(
        {"two-factor-setup", "two-factor-qr", "logout", "set_language", "javascript-catalog", "healthz"}
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if user.is_authenticated and user.is_service_account:
            logout(request)  # a machine's session, however it was made, is never a sign-in
            return redirect_to_login(request.get_full_path())
        if not user.is_authenticated or user.is_verified():
            return None
        if two_factor.has_confirmed_device(user):
            logout(request)
            return redirect_to_login(request.get_full_path())
        if two_factor.is_required(user) and request.resolver_match.view_name not in self.ENROLMENT_VIEWS:
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": _("Set up two-factor sign-in first.")}, status=403)
            return redirect("two-factor-setup")
        return None
