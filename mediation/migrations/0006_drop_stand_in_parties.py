"""Referred incidents used to open their case with a stand-in party named after the incident
("Reporting party of incident #N", in Chinese "事件 #N 的反映人"), which then printed on the
agreement with a signature line. Referrals now start with no party; this removes the stand-ins
that earlier referrals wrote (only on referred cases, only names of exactly that form)."""

import re

from django.db import migrations

STAND_IN = re.compile(r"^(Reporting party of incident #\d+|事件 #\d+ 的反映人)$")


def drop_stand_ins(apps, schema_editor):
    Party = apps.get_model("mediation", "Party")
    candidates = Party.objects.filter(case__source="grid_incident").filter(
        name__regex=r"^(Reporting party of incident #[0-9]+|事件 #[0-9]+ 的反映人)$"
    )
    ids = [pk for pk, name in candidates.values_list("pk", "name") if STAND_IN.match(name)]
    Party.objects.filter(pk__in=ids).delete()


class Migration(migrations.Migration):
    dependencies = [("mediation", "0005_committee_is_demo_litigation")]

    operations = [migrations.RunPython(drop_stand_ins, migrations.RunPython.noop)]
