"""DRF authentication by API token (``Authorization: Token <key>``), and the throttles that
guard token minting and key guessing. Counters live in the Redis cache, like the API's others."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.throttling import SimpleRateThrottle

from accounts import tokens

KEYWORD = "Token"


class TokenRefused(exceptions.APIException):
    """401 with ``WWW-Authenticate: Token``. Not an AuthenticationFailed, which DRF turns into a
    403 when the session authenticator comes first (it does: pages' scripts use the session)."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "authentication_failed"
    auth_header = KEYWORD


class _SettingRateThrottle(SimpleRateThrottle):
    """A throttle whose rate is read from a setting when used (DRF reads rates at import)."""

    rate_setting = ""

    def __init__(self):
        self.rate = getattr(settings, self.rate_setting)
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_rate(self):
        return getattr(settings, self.rate_setting)


class TokenMintThrottle(_SettingRateThrottle):
    """Every request to the token exchange counts, per client address (``API_TOKEN_MINT_RATE``)."""

    scope = "token_mint"
    rate_setting = "API_TOKEN_MINT_RATE"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenFailureThrottle(_SettingRateThrottle):
    """Keys that do not authenticate, per client address (``API_TOKEN_FAILURE_RATE``). Once over
    the rate, any token request from that address is answered 429 before the database is asked."""

    scope = "token_failure"
    rate_setting = "API_TOKEN_FAILURE_RATE"

    def _load(self, request) -> None:
        self.key = self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]

    def blocked(self, request) -> bool:
        self._load(request)
        return len(self.history) >= self.num_requests

    def record_failure(self, request) -> None:
        self._load(request)
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


class ApiTokenAuthentication(BaseAuthentication):
    """One indexed query per request (accounts.tokens.token_authenticate). A missing header lets
    the next authenticator try; a key that is unknown, expired or revoked is a 401."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        throttle = TokenFailureThrottle()
        if throttle.blocked(request):
            raise exceptions.Throttled(wait=throttle.wait())
        try:
            key = header[1].decode() if len(header) == 2 else ""
        except UnicodeError:
            key = ""
        token = tokens.token_authenticate(key) if key else None
        if token is None:
            throttle.record_failure(request)
            raise TokenRefused(tokens.INVALID_TOKEN)
        return token.user, token

    def authenticate_header(self, request):
        return KEYWORD


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Token <key>`. Service accounts get keys from an administrator (90 days); people "
                "from `POST /api/auth/token/` with password and a two-factor code (12 hours)."
            ),
        }
