"""Default subcategories under the six grid-office duties, with handling limits in working hours
(one working day = 8). Exposed rubbish (1 day) and illegal building (15 days) follow published
city-management practice; the rest are starting values for the city to edit in the admin.

Loaded by migration 0003; ``seed_categories`` is idempotent, so tests that flush the
database (browser, worker) can load them again.

The stored ``name`` is the Chinese one the city sees in the admin, the API and Open311 (and
may edit there). Pages show ``IncidentCategory.label``: for a seeded category whose name is
still the seeded one, its English label below in the active language (the Chinese of each
label, in incidents/locale, is the stored name); a renamed or added category shows its name.
"""

from django.utils.translation import pgettext_lazy

CATEGORIES = [
    ("opinion-suggestion", "群众意见建议", "public_sentiment", 40, {}),
    ("public-opinion-hotspot", "社会热点舆情", "public_sentiment", 8, {"urgent": 2}),
    ("neighbour-dispute", "邻里纠纷", "conflicts_disputes", 40, {"urgent": 8}),
    ("family-dispute", "婚姻家庭纠纷", "conflicts_disputes", 40, {"urgent": 8}),
    ("land-forest-dispute", "土地山林纠纷", "conflicts_disputes", 80, {}),
    ("labour-wage-dispute", "劳资纠纷", "conflicts_disputes", 40, {"urgent": 8}),
    ("security-hazard", "治安隐患", "mass_prevention", 8, {"urgent": 2}),
    ("fire-hazard", "消防安全隐患", "mass_prevention", 8, {"urgent": 2}),
    ("key-person-movement", "重点人员动态", "mass_prevention", 16, {"urgent": 4}),
    ("public-order-disturbance", "扰乱公共秩序", "public_order", 4, {"urgent": 1}),
    ("traffic-safety-hazard", "道路交通安全隐患", "public_order", 8, {}),
    ("campus-surroundings", "校园周边治安", "public_order", 8, {"urgent": 2}),
    ("help-request", "群众求助", "mass_work", 16, {"urgent": 4}),
    ("livelihood-service", "民生服务事项", "mass_work", 40, {}),
    ("exposed-rubbish", "暴露垃圾", "environment", 8, {}),
    ("illegal-building", "违法建设", "environment", 120, {}),
    ("water-pollution", "水体污染", "environment", 40, {"urgent": 8}),
    ("construction-waste-dumping", "乱倒建筑垃圾", "environment", 16, {}),
]

# English labels of the seeded categories, by code (the code never changes).
LABELS = {
    "opinion-suggestion": pgettext_lazy("incident category", "Opinions and suggestions"),
    "public-opinion-hotspot": pgettext_lazy("incident category", "Public-opinion hotspot"),
    "neighbour-dispute": pgettext_lazy("incident category", "Neighbour dispute"),
    "family-dispute": pgettext_lazy("incident category", "Marriage and family dispute"),
    "land-forest-dispute": pgettext_lazy("incident category", "Land and forest dispute"),
    "labour-wage-dispute": pgettext_lazy("incident category", "Labour and wage dispute"),
    "security-hazard": pgettext_lazy("incident category", "Public-security hazard"),
    "fire-hazard": pgettext_lazy("incident category", "Fire-safety hazard"),
    "key-person-movement": pgettext_lazy("incident category", "Movements of a person of concern"),
    "public-order-disturbance": pgettext_lazy("incident category", "Disturbing public order"),
    "traffic-safety-hazard": pgettext_lazy("incident category", "Road-traffic safety hazard"),
    "campus-surroundings": pgettext_lazy("incident category", "Order around a campus"),
    "help-request": pgettext_lazy("incident category", "Request for help"),
    "livelihood-service": pgettext_lazy("incident category", "Livelihood service matter"),
    "exposed-rubbish": pgettext_lazy("incident category", "Exposed rubbish"),
    "illegal-building": pgettext_lazy("incident category", "Illegal building"),
    "water-pollution": pgettext_lazy("incident category", "Water pollution"),
    "construction-waste-dumping": pgettext_lazy("incident category", "Dumping of construction waste"),
}
SEEDED_NAMES = {code: name for code, name, *_rest in CATEGORIES}


def category_label(code: str, name: str) -> str:
    """The category's label in the active language while its name is the seeded one, else
    its name as stored (renamed in the admin, or added there)."""
    if code in LABELS and name == SEEDED_NAMES[code]:
        return str(LABELS[code])
    return name


def seed_categories(category_model=None, limit_model=None) -> None:
    if category_model is None:
        from incidents.models import CategoryTimeLimit, IncidentCategory

        category_model, limit_model = IncidentCategory, CategoryTimeLimit
    for code, name, duty, hours, per_priority in CATEGORIES:
        category, _ = category_model.objects.get_or_create(
            code=code, defaults={"name": name, "duty": duty, "handling_limit_hours": hours}
        )
        for priority, limit in per_priority.items():
            limit_model.objects.get_or_create(
                category=category, priority=priority, defaults={"handling_limit_hours": limit}
            )
