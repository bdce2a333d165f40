"""`manage.py issue_api_token <service account> [--name …] [--days 90] [--revoke-others]`: print a new
key once. Only service accounts get tokens this way; people get theirs with a two-factor code."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import tokens
from accounts.models import User


class Command(BaseCommand):
    help = "Issue an API token to a service account and print its key (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for, e.g. the client's host.")
        parser.add_argument(
            "--days", type=int, default=None, help="Lifetime (default API_TOKEN_SERVICE_DAYS)."
        )
        parser.add_argument(
            "--revoke-others", action="store_true", help="Revoke the account's other tokens (rotation)."
        )

    def handle(self, *args, username, name, days, revoke_others, **options):
        account = User.objects.filter(username=username).first()
        if account is None:
            raise CommandError(f"No account named {username!r}.")
        try:
            token, key = tokens.service_token_issue(
                actor=None,
                account=account,
                name=name or f"{username} sync client",
                days=days,
                revoke_others=revoke_others,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stderr.write(
            f"Token {token.name!r} for {username}, expires {token.expires_at:%Y-%m-%d %H:%M %Z}."
        )
        self.stdout.write(key)
