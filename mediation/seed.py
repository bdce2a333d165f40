"""Seed records every deployment needs: the nine professional committees and the legal service
centres. Running the seed again adds only what is missing. The admin shows them read-only."""

from __future__ import annotations

from django.db import transaction

from grids.models import Region
from mediation.models import LegalServiceCentre, MediationCommittee

# The four the source names, then five common in Chinese cities: nine in all, as the article
# says. The article names only the first four; the other five are examples (``is_demo``), and
# the pages mark them so.
PROFESSIONAL_COMMITTEES = [
    ("安顺市道路交通事故纠纷人民调解委员会", "道路交通事故"),
    ("安顺市医患纠纷人民调解委员会", "医患纠纷"),
    ("安顺市景区旅游纠纷人民调解委员会", "景区旅游纠纷"),
    ("安顺市征地拆迁纠纷人民调解委员会", "征地拆迁"),
    ("安顺市劳动争议人民调解委员会", "劳动争议"),
    ("安顺市婚姻家庭纠纷人民调解委员会", "婚姻家庭"),
    ("安顺市物业纠纷人民调解委员会", "物业纠纷"),
    ("安顺市环境污染纠纷人民调解委员会", "环境污染"),
    ("安顺市消费纠纷人民调解委员会", "消费纠纷"),
]
NAMED_IN_SOURCE = 4  # the first four


@transaction.atomic
def ensure_professional_committees() -> int:
    city = Region.objects.get(code="5204")
    existing = set(MediationCommittee.objects.filter(region=city).values_list("name", flat=True))
    new = [
        MediationCommittee(
            name=name,
            kind=MediationCommittee.Kind.PROFESSIONAL,
            dispute_type=dispute_type,
            region=city,
            is_demo=index >= NAMED_IN_SOURCE,
        )
        for index, (name, dispute_type) in enumerate(PROFESSIONAL_COMMITTEES)
        if name not in existing
    ]
    MediationCommittee.objects.bulk_create(new)
    return len(new)


@transaction.atomic
def ensure_township_committees(*, within: str = "5204") -> int:
    """One people's mediation committee per township (乡镇/街道人民调解委员会)."""
    townships = Region.objects.filter(level=Region.Level.TOWNSHIP, code__startswith=within).only("pk", "name")
    have = set(
        MediationCommittee.objects.filter(kind=MediationCommittee.Kind.TOWNSHIP).values_list(
            "region_id", flat=True
        )
    )
    new = [
        MediationCommittee(name=f"{t.name}人民调解委员会", kind=MediationCommittee.Kind.TOWNSHIP, region=t)
        for t in townships
        if t.pk not in have
    ]
    MediationCommittee.objects.bulk_create(new)
    return len(new)


@transaction.atomic
def ensure_legal_centres() -> int:
    """A public legal service centre for the city, each county and each township."""
    regions = Region.objects.filter(
        level__in=[Region.Level.CITY, Region.Level.COUNTY, Region.Level.TOWNSHIP]
    ).only("pk", "name")
    have = set(LegalServiceCentre.objects.values_list("region_id", flat=True))
    new = [
        LegalServiceCentre(name=f"{r.name}公共法律服务中心", region=r) for r in regions if r.pk not in have
    ]
    LegalServiceCentre.objects.bulk_create(new)
    return len(new)
