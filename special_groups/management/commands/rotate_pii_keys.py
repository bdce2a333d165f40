"""Re-encrypt every special-population value under the newest key, and recompute lookup hashes.

Rotation: put the new Fernet key first in PII_ENCRYPTION_KEYS (keep the old one after it),
run this command, then remove the old key. With a new PII_LOOKUP_KEY the ID-number hashes
are recomputed from the decrypted numbers in the same pass.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from incidents.models import Open311Request
from special_groups.crypto import lookup_hash
from special_groups.models import Guardian, Person, Visit

BATCH = 2000


class Command(BaseCommand):
    help = "Re-encrypt special-population personal data with the newest key in PII_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        # Loading decrypts with any configured key; bulk_update encrypts with the newest one.
        total = 0
        with transaction.atomic():
            for model, fields in (
                (Person, ["name", "id_number", "phone", "address", "id_number_hash"]),
                (Guardian, ["name", "phone"]),
                (Visit, ["note"]),
                # The audit trail keeps Fernet tokens too: rotate them, or retiring the old key
                # would leave past changes unreadable.
                (Person.history.model, ["name", "id_number", "phone", "address"]),
                # Open311 reporters' contact details share the keys.
                (Open311Request, ["email", "phone", "first_name", "last_name"]),
            ):
                rows = []
                for row in model.objects.select_for_update().order_by("pk").iterator(chunk_size=BATCH):
                    if model is Person:
                        row.id_number_hash = lookup_hash(row.id_number)
                    rows.append(row)
                    if len(rows) >= BATCH:
                        model.objects.bulk_update(rows, fields)
                        total += len(rows)
                        rows = []
                model.objects.bulk_update(rows, fields)
                total += len(rows)
        self.stdout.write(f"re-encrypted {total} rows")
