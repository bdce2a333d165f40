"""The grid's basic registry (一标三实): standard addresses, and the actual houses, people and
units at them, kept current by household visits (入户走访).

Every row is placed in a village (``village``, a ``grids.Region`` of level village) and, when its
point lies in a grid, in that grid (PostGIS, as incidents are placed). Scoping follows the village:
grid-office staff see the villages their office serves, officials everything under their region.

People's names, ID numbers and phones are encrypted at rest with the special populations'
machinery (``special_groups.crypto``: Fernet under ``PII_ENCRYPTION_KEYS``, ID numbers found by
their keyed hash ``lookup_hash`` after NFKC normalisation); lists show them masked, and a full
value is shown only after a stated purpose is logged (``RevealRecord``).
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anshun.scoping import NOTHING, ScopedQuerySet, ScopeRule
from special_groups.crypto import EncryptedTextField

# Everything in the registry is placed by its village; grid-office staff see the villages their
# office serves (anshun.scoping: no grid-office lookup).
BY_VILLAGE = ScopeRule(region_path="village__path")


class AddressSequence(models.Model):
    """The last local number given in one village. Codes are taken from here under a row lock
    and never given again, so an address keeps its code however it is renamed or moved."""

    village = models.OneToOneField("grids.Region", on_delete=models.PROTECT, related_name="+")
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.village_id}: {self.last}"


class Address(models.Model):
    """A standard address (标准地址): one node of the tree below a village.

    ``code`` is the village's 12-digit division code followed by a 6-digit local number taken
    from ``AddressSequence``: stable (never recomputed from names or position, never reused after
    a deletion), unique city-wide, and telling at a glance which village an address is in.
    """

    class Level(models.TextChoices):
        ROAD = "road", _("Road or group")
        BUILDING = "building", _("Building")
        UNIT = "unit", pgettext_lazy("address", "Unit")
        ROOM = "room", _("Room")

    code = models.CharField(_("address code"), max_length=18, unique=True, editable=False)
    village = models.ForeignKey(
        "grids.Region",
        verbose_name=_("village / community"),
        on_delete=models.PROTECT,
        related_name="registry_addresses",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    level = models.CharField(_("level"), max_length=8, choices=Level.choices)
    name = models.CharField(pgettext_lazy("address", "name"), max_length=60)
    full_name = models.CharField(_("full address"), max_length=300, editable=False)
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    grid = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("grid"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="registry_addresses",
    )
    is_demo = models.BooleanField(_("demo record"), default=False)

    objects = ScopedQuerySet.as_manager()
    scope_rule = BY_VILLAGE

    class Meta:
        verbose_name = _("standard address")
        verbose_name_plural = _("standard addresses")
        ordering = ["code"]
        indexes = [models.Index(fields=["village", "level"])]

    def __str__(self) -> str:
        return f"{self.code} {self.full_name}"


class House(models.Model):
    """An actual house (实有房屋) at one address: its use, its owner and its tenancies."""

    class Use(models.TextChoices):
        OWNER_OCCUPIED = "owner", _("Owner-occupied")
        RENTED = "rented", _("Rented (rental housing)")
        VACANT = "vacant", _("Vacant")
        BUSINESS = "business", _("Business premises")

    address = models.OneToOneField(
        Address, verbose_name=_("address"), on_delete=models.PROTECT, related_name="house"
    )
    # Copied from the address (placed by PostGIS) so coverage counts read one table.
    village = models.ForeignKey("grids.Region", on_delete=models.PROTECT, related_name="registry_houses")
    grid = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("grid"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    use = models.CharField(_("use"), max_length=10, choices=Use.choices, default=Use.OWNER_OCCUPIED)
    owner = models.ForeignKey(
        "Resident",
        verbose_name=pgettext_lazy("house", "owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned",
    )
    owner_name = EncryptedTextField(_("owner (not living here)"), blank=True)
    last_visited_on = models.DateField(_("last visited"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo record"), default=False)

    objects = ScopedQuerySet.as_manager()
    scope_rule = BY_VILLAGE

    class Meta:
        verbose_name = _("house")
        verbose_name_plural = _("houses")
        ordering = ["address__code"]
        indexes = [
            # Coverage per grid / office / township reads (village or grid, last visit) only.
            models.Index(fields=["village", "last_visited_on"], name="house_village_visit"),
            models.Index(fields=["grid", "last_visited_on"], name="house_grid_visit"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.address.code}"


class Resident(models.Model):
    """An actual person (实有人口) living at an address. This is the registry person a
    special-population record refers to (``special_groups.Person.registry_person``)."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("Household-registered")
        FLOATING = "floating", _("Floating population")
        OVERSEAS = "overseas", _("Overseas")
        LEFT_BEHIND = "left_behind", _("Left-behind")
        ELDERLY_ALONE = "elderly_alone", _("Elderly living alone")

    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices, default=Kind.REGISTERED)
    name = EncryptedTextField(pgettext_lazy("person", "name"))
    id_number = EncryptedTextField(_("ID number"), blank=True)
    id_number_hash = models.CharField(_("ID number lookup hash"), max_length=64, blank=True, editable=False)
    phone = EncryptedTextField(_("phone"), blank=True)
    address = models.ForeignKey(
        Address, verbose_name=_("address"), on_delete=models.PROTECT, related_name="residents"
    )
    house = models.ForeignKey(
        House,
        verbose_name=_("house"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="residents",
    )
    village = models.ForeignKey("grids.Region", on_delete=models.PROTECT, related_name="registry_residents")
    moved_in_on = models.DateField(_("moved in"), null=True, blank=True)
    moved_out_on = models.DateField(_("moved out"), null=True, blank=True)
    is_demo = models.BooleanField(_("synthetic demo person"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()
    scope_rule = BY_VILLAGE

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id_number_hash"], name="resident_id_hash", condition=~Q(id_number_hash="")),
            models.Index(fields=["house"], name="resident_current", condition=Q(moved_out_on__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"  # never the name (encrypted personal data)


class Tenancy(models.Model):
    """A tenant of a rented house over time (start, and end once they leave)."""

    house = models.ForeignKey(
        House, verbose_name=_("house"), on_delete=models.CASCADE, related_name="tenancies"
    )
    tenant = models.ForeignKey(
        Resident, verbose_name=_("tenant"), on_delete=models.PROTECT, related_name="tenancies"
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="house__village__path")

    class Meta:
        verbose_name = _("tenancy")
        verbose_name_plural = _("tenancies")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="tenancy_ends_after_start",
            ),
            models.UniqueConstraint(
                fields=["house", "tenant"],
                condition=Q(ends_on__isnull=True),
                name="one_open_tenancy_per_tenant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class Unit(models.Model):
    """An actual unit (实有单位) at an address, with a contact person."""

    class Kind(models.TextChoices):
        FIRM = "firm", _("Enterprise")
        NON_PUBLIC = "non_public", _("Non-public economic organisation")
        SOCIAL = "social", _("Social organisation")
        SCHOOL = "school", _("School")
        KEY_PLACE = "key_place", _("Key place")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(pgettext_lazy("unit", "name"), max_length=120)
    address = models.ForeignKey(
        Address, verbose_name=_("address"), on_delete=models.PROTECT, related_name="units"
    )
    village = models.ForeignKey("grids.Region", on_delete=models.PROTECT, related_name="registry_units")
    grid = models.ForeignKey("grids.Grid", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    contact_name = EncryptedTextField(_("contact"), blank=True)
    contact_phone = EncryptedTextField(_("contact phone"), blank=True)
    campus_note = models.TextField(
        _("campus surroundings"),
        blank=True,
        help_text=_("For schools: the campus perimeter (校园周边) and what around it needs watching."),
    )
    last_visited_on = models.DateField(_("last visited"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo record"), default=False)

    objects = ScopedQuerySet.as_manager()
    scope_rule = BY_VILLAGE

    class Meta:
        verbose_name = _("registered unit")
        verbose_name_plural = _("registered units")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class HouseholdVisit(models.Model):
    """A grid worker's visit (入户走访) to a house or unit. ``client_uuid`` is made on the phone
    when the visit is recorded, so a retry from the outbox is the same visit, never a second."""

    client_uuid = models.UUIDField(_("client id"), unique=True)
    house = models.ForeignKey(House, on_delete=models.CASCADE, null=True, blank=True, related_name="visits")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, null=True, blank=True, related_name="visits")
    village = models.ForeignKey("grids.Region", on_delete=models.PROTECT, related_name="+")
    grid = models.ForeignKey("grids.Grid", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    visited_on = models.DateField(_("visited on"))
    note = EncryptedTextField(_("note"), blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    request_digest = models.CharField(max_length=64, blank=True, editable=False)
    is_demo = models.BooleanField(_("demo record"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()
    scope_rule = BY_VILLAGE

    class Meta:
        verbose_name = _("household visit")
        verbose_name_plural = _("household visits")
        ordering = ["-visited_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(house__isnull=False, unit__isnull=True)
                | Q(house__isnull=True, unit__isnull=False),
                name="visit_house_or_unit",
            )
        ]
        indexes = [models.Index(fields=["house", "-visited_on"], name="visit_house_latest")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk} · {self.visited_on:%Y-%m-%d}"


def _auditors_only(actor) -> Q:
    from accounts.roles import Role

    return Q() if getattr(actor, "role", None) == Role.AUDITOR else NOTHING


class RevealRecord(models.Model):
    """Who was shown a resident's full personal data, when and why (append-only); auditors read it
    in their jurisdiction, as the special populations' access trail."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="reveals")
    village = models.ForeignKey("grids.Region", on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(_("stated purpose"), max_length=200)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="village__path", also_require=_auditors_only)

    class Meta:
        verbose_name = _("registry access record")
        verbose_name_plural = _("registry access records")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


def _own_imports(actor) -> Q:
    return Q(requester_id=getattr(actor, "pk", None))


class RegistryImport(models.Model):
    """One uploaded CSV/XLSX of addresses, houses, people or units, checked and written whole by
    a Celery worker; its progress and every bad row are kept for the uploader's page."""

    class Kind(models.TextChoices):
        ADDRESSES = "addresses", _("Addresses")
        HOUSES = "houses", _("Houses")
        RESIDENTS = "residents", _("Residents")
        UNITS = "units", _("Units")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Imported")
        REJECTED = "rejected", _("Rejected")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Where the requester worked when uploading: scoping, and a changed jurisdiction stops the run.
    region = models.ForeignKey("grids.Region", on_delete=models.PROTECT, related_name="+")
    scope = models.CharField(max_length=120, editable=False)
    file_name = models.CharField(_("file"), max_length=200)
    rows = models.JSONField(default=list, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows checked"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path", also_require=_own_imports)

    class Meta:
        verbose_name = _("registry import")
        verbose_name_plural = _("registry imports")
        ordering = ["-created_at", "-id"]

    @property
    def percent(self) -> int:
        return 100 if self.status == self.Status.DONE else int(100 * self.rows_done / max(self.rows_total, 1))

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"
