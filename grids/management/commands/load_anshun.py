"""Load Anshun's divisions, the demo grids and offices, and (optionally) demo users.

Idempotent: a second run changes nothing.
"""

from django.core.management.base import BaseCommand

from grids.services.demo_grids import generate_demo_grids
from grids.services.divisions import load_divisions


class Command(BaseCommand):
    help = "Load Anshun's jurisdiction tree and demo grids (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo-users",
            action="store_true",
            help="Also create one demo login per role (development only).",
        )

    def handle(self, *args, **options):
        divisions = load_divisions()
        say = self.stdout.write if options["verbosity"] >= 1 else (lambda *_: None)
        say(
            f"regions: {divisions.cities} city, {divisions.counties} counties, "
            f"{divisions.management_zones} management zones, {divisions.townships} townships, "
            f"{divisions.villages} villages/communities ({divisions.created} new)"
        )
        grids = generate_demo_grids()
        state = "already present, left unchanged" if grids.skipped else "generated (demo geometry)"
        say(f"grid offices: {grids.grid_offices}, grids: {grids.grids} — {state}")
        if options["demo_users"]:
            from accounts.demo import DEMO_PASSWORD, ensure_demo_users

            self.stdout.write(f"demo logins (password {DEMO_PASSWORD}):")
            for login in ensure_demo_users():
                self.stdout.write(f"  {login.username:<12} {login.role} — {login.jurisdiction}")
