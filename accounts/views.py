"""Sign-in pages (Django's own auth views with our templates) and API tokens."""

from django.contrib.auth import views as auth_views
from rest_framework.authtoken.views import ObtainAuthToken


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class TokenView(ObtainAuthToken):
    """POST username and password, get the token a sync client sends as ``Authorization: Token …``."""
