"""The password backend for people only: a service account can never sign in with a password,
even if one were set on it by some other path."""

from django.contrib.auth.backends import ModelBackend


class PeopleModelBackend(ModelBackend):
    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and not getattr(user, "is_service_account", False)
