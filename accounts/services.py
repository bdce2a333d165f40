"""Writes to user accounts. Pages, the admin and the demo loader all create users here."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from accounts.roles import Role


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    role: str,
    region=None,
    grid_office=None,
    department=None,
    special_project: str = "",
    display_name: str = "",
    is_superuser: bool = False,
    is_service_account: bool = False,
) -> User:
    """Create a user with a role and a jurisdiction that fits it (validated by the model).

    A service account (a sync client) gets no password: ``password`` must be None, and its API
    tokens come from an admin (accounts.tokens.service_token_issue)."""
    if is_service_account != (password is None):
        raise ValueError("A service account has no password; a person needs one.")
    user = User(
        username=username,
        role=role,
        region=region,
        grid_office=grid_office,
        department=department,
        special_project=special_project,
        display_name=display_name,
        is_superuser=is_superuser,
        is_staff=is_superuser or role == Role.ADMIN,
        is_service_account=is_service_account,
    )
    user.set_password(password)  # None: unusable
    user.full_clean()
    user.save()
    return user
