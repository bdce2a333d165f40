"""Sign-in pages (Django's own auth views with our templates), two-factor pages and API tokens."""

from urllib.parse import urlencode

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView
from django_otp import login as otp_login
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import parsers, serializers
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import tokens, two_factor
from accounts.authentication import TokenMintThrottle
from anshun.api.parsers import DepthLimitedJSONParser


class LoginView(auth_views.LoginView):
    """The password step. Users with a confirmed device are not signed in yet: they go on to
    the code page, and only a right code there completes the login."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor.has_confirmed_device(user):
            two_factor.pending_clear(self.request)  # someone else's unfinished code step
            return super().form_valid(form)
        two_factor.pending_begin(self.request, user)
        query = urlencode({"next": self.get_redirect_url()}) if self.get_redirect_url() else ""
        return redirect(f"{reverse('login-verify')}?{query}" if query else reverse("login-verify"))


class LogoutView(auth_views.LogoutView):
    pass


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Verification code"), max_length=32, strip=True)


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("home")


class LoginVerifyView(View):
    """The second step: a code from the authenticator app or a backup code.

    A wrong code is throttled by django-otp and is reported to django-axes as a failed login,
    so guessing codes locks the account like guessing passwords does.
    """

    template_name = "accounts/login_verify.html"

    def _render(self, request, form):
        return render(request, self.template_name, {"form": form, "next": _safe_next(request)})

    def get(self, request):
        if two_factor.pending_user(request) is None:
            return redirect("login")
        return self._render(request, CodeForm())

    def post(self, request):
        user = two_factor.pending_user(request)
        if user is None:
            return redirect("login")
        credentials = {"username": user.get_username()}
        form = CodeForm(request.POST)
        if not AxesProxyHandler.is_allowed(request, credentials):
            return self._locked_out(request, credentials, form)
        if form.is_valid():
            try:
                user.otp_device = two_factor.second_factor_verify(user=user, token=form.cleaned_data["code"])
            except ValidationError as error:
                form.add_error(None, error.message_dict["code"])
            else:
                two_factor.pending_clear(request)
                auth_login(request, user, backend=user.backend)  # django-otp marks the session verified
                return redirect(_safe_next(request))
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            return self._locked_out(request, credentials, form)
        return self._render(request, form)

    def _locked_out(self, request, credentials, form):
        """AxesMiddleware turns this response into the lock-out page."""
        two_factor.pending_clear(request)
        request.axes_locked_out = True
        request.axes_credentials = credentials
        return self._render(request, form)


class AccountView(LoginRequiredMixin, TemplateView):
    """The signed-in user's own account: role, jurisdiction and two-factor sign-in."""

    template_name = "accounts/account.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            may_enrol=two_factor.may_enrol(user),
            two_factor_on=two_factor.has_confirmed_device(user),
            two_factor_required=two_factor.is_required(user),
            backup_codes_left=two_factor.backup_codes_left(user),
            form=CodeForm(),
            **kwargs,
        )


class TwoFactorSetupView(LoginRequiredMixin, View):
    """Show the QR code and the secret; the first right code turns two-factor on."""

    template_name = "accounts/two_factor_setup.html"

    def _render(self, request, form):
        try:
            device = two_factor.totp_enrolment_start(user=request.user)
        except ValidationError as error:  # already on (e.g. the confirming form sent twice)
            messages.info(request, " ".join(error.messages))
            return redirect("account")
        context = {
            "form": form,
            "secret": two_factor.secret_for_manual_entry(device),
            "required": two_factor.is_required(request.user),
        }
        return render(request, self.template_name, context)

    def get(self, request):
        return self._render(request, CodeForm())

    def post(self, request):
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                device, codes = two_factor.totp_enrolment_confirm(
                    user=request.user, token=form.cleaned_data["code"]
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                otp_login(request, device)  # this session has just proved the second factor
                return render(request, "accounts/two_factor_backup_codes.html", {"codes": codes})
        return self._render(request, form)


class TwoFactorQRView(LoginRequiredMixin, View):
    """The QR code of the device being set up, as an image so the CSP needs no exception."""

    def get(self, request):
        device = two_factor.unconfirmed_totp_device(request.user)
        if device is None:
            raise Http404
        response = HttpResponse(two_factor.qr_svg(device), content_type="image/svg+xml")
        response["Cache-Control"] = "no-store"
        return response


class TwoFactorDisableView(LoginRequiredMixin, View):
    def post(self, request):
        if not two_factor.has_confirmed_device(request.user):
            raise PermissionDenied
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                two_factor.two_factor_disable(user=request.user, token=form.cleaned_data["code"])
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("Two-factor sign-in is off."))
        return redirect("account")


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"}, trim_whitespace=False)
    code = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="Authenticator or backup code."
    )
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)


class TokenView(APIView):
    """A person's password *and* two-factor code for a short-lived API token (12 hours).

    Throttled per address (``API_TOKEN_MINT_RATE``); wrong passwords and codes count toward the
    django-axes lock-out as at the login page. Service accounts have no password: an admin issues
    their tokens (accounts.tokens)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenMintThrottle]
    parser_classes = [parsers.FormParser, parsers.MultiPartParser, DepthLimitedJSONParser]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer(
                "IssuedToken", {"token": serializers.CharField(), "expires_at": serializers.DateTimeField()}
            )
        },
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        credentials = {"username": data["username"]}
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None:
            if getattr(request._request, "axes_locked_out", False):
                raise Throttled()
            raise serializers.ValidationError(
                {"non_field_errors": [_("Unable to sign in with the given username and password.")]}
            )
        try:
            token, key = tokens.person_token_exchange(
                user=user, code=data.get("code", ""), name=data.get("name", "")
            )
        except ValidationError as error:
            if "code" in error.message_dict and two_factor.has_confirmed_device(user):
                user_login_failed.send(sender=__name__, credentials=credentials, request=request._request)
            raise
        return Response({"token": key, "expires_at": token.expires_at})
