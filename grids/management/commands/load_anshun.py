"""Load Anshun's divisions, the demo grids and offices, and (optionally) demo logins and
every app's demo records (each AppConfig may name an idempotent ``demo_loader``).

Idempotent: a second run changes nothing.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from grids.services.demo_grids import generate_demo_grids
from grids.services.divisions import load_divisions


class Command(BaseCommand):
    help = "Load Anshun's jurisdiction tree and demo grids (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo",
            action="store_true",
            help="Also create one demo login per role and every app's demo records (development only).",
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
        if options["demo"]:
            from accounts.demo import DEMO_PASSWORD, ensure_demo_users

            self.stdout.write(f"demo logins (password {DEMO_PASSWORD}):")
            for login in ensure_demo_users():
                self.stdout.write(f"  {login.username:<12} {login.role} — {login.jurisdiction}")
            for config in apps.get_app_configs():
                loader = getattr(config, "demo_loader", None)
                if loader:
                    say(f"{config.verbose_name}: {import_string(loader)()}")
