from django.conf import settings
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anshun.scoping import ScopedQuerySet, ScopeRule
from audit.history import AuditedHistory


class MediationCommittee(models.Model):
    """A people's mediation committee (人民调解委员会).

    Professional committees (行业性、专业性) serve one kind of dispute across a
    jurisdiction; township and village committees serve everyone in their place.
    """

    class Kind(models.TextChoices):
        PROFESSIONAL = "professional", _("Professional committee")
        TOWNSHIP = "township", _("Township committee")
        VILLAGE = "village", _("Village / community committee")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    dispute_type = models.CharField(
        _("dispute type served"),
        max_length=60,
        blank=True,
        help_text=_("For professional committees: the one kind of dispute they serve."),
    )
    region = models.ForeignKey(
        "grids.Region",
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="mediation_committees",
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # The article names four of the city's nine professional committees; the other five are
    # examples of what such committees serve, not Anshun's own (pages mark them as demo data).
    is_demo = models.BooleanField(
        _("demo example"),
        default=False,
        help_text=_("An example committee, not one the source names."),
    )

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path")

    class Meta:
        verbose_name = _("mediation committee")
        verbose_name_plural = _("mediation committees")
        ordering = ["region__code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="committee_unique_name_in_region")
        ]

    def __str__(self) -> str:
        return self.name


def mediator_committees(prefix: str = ""):
    """Scope condition for cases: only roles that work with mediation see cases at all, and a
    mediator sees only the cases of committees they sit on. ``prefix`` leads from the model to its
    case."""

    def condition(actor) -> models.Q:
        from accounts.roles import Role

        if not actor.can("mediation.view"):
            return models.Q(pk__in=[])
        if actor.role == Role.MEDIATOR:
            return models.Q(
                **{
                    f"{prefix}committee__memberships__user": actor,
                    f"{prefix}committee__memberships__is_active": True,
                }
            )
        return models.Q()

    return condition


def legal_service_staff(actor) -> models.Q:
    """Consultations, legal aid and the roster hold personal matters: legal-service staff only."""
    return models.Q() if actor.can("legal.serve") else models.Q(pk__in=[])


class CommitteeMembership(models.Model):
    """A mediator's seat on a committee, with the kind of dispute they are best at."""

    committee = models.ForeignKey(
        MediationCommittee, verbose_name=_("committee"), on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("mediator"),
        on_delete=models.CASCADE,
        related_name="mediation_memberships",
    )
    speciality = models.CharField(_("speciality"), max_length=60, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="committee__region__path")

    class Meta:
        verbose_name = _("committee membership")
        verbose_name_plural = _("committee memberships")
        constraints = [
            models.UniqueConstraint(fields=["committee", "user"], name="membership_unique_user_in_committee")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.committee}"


class MediationCase(models.Model):
    """One dispute, from intake to outcome (and, through its agreement, to a court's confirmation)."""

    class Source(models.TextChoices):
        WALK_IN = "walk_in", _("Walk-in")
        GRID_INCIDENT = "grid_incident", _("Referral from a grid incident")
        COURT = "court", _("Court pre-litigation referral")
        POLICE = "police", _("Police referral")
        PETITION = "petition", _("Petition")

    class Status(models.TextChoices):
        IN_MEDIATION = "in_mediation", _("In mediation")
        AGREEMENT = "agreement", _("Agreement reached")
        NO_AGREEMENT = "no_agreement", _("No agreement")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        REFERRED_ON = "referred_on", _("Referred on")

    committee = models.ForeignKey(
        MediationCommittee, verbose_name=_("committee"), on_delete=models.PROTECT, related_name="cases"
    )
    region = models.ForeignKey(
        "grids.Region",
        verbose_name=_("place of the dispute"),
        on_delete=models.PROTECT,
        related_name="mediation_cases",
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.WALK_IN)
    source_incident = models.ForeignKey(
        "incidents.Incident",
        verbose_name=_("source incident"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mediation_cases",
    )
    dispute_type = models.CharField(_("dispute type"), max_length=60)
    summary = models.TextField(_("summary"))
    amount_in_dispute = models.DecimalField(
        _("amount in dispute (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    mediator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible mediator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mediation_cases",
    )
    intake_date = models.DateField(_("intake date"))
    extension_days = models.PositiveSmallIntegerField(_("extension (days)"), default=0)
    extension_reason = models.CharField(_("reason for the extension"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.IN_MEDIATION, db_index=True
    )
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    outcome_note = models.TextField(_("outcome note"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # The deadline beat job's queue: the first day the job may have a notice to write for this
    # case (a warning starting or a deadline passing), NULL when it has none. The services that
    # change a case, its agreement or its confirmation set it (mediation.services), the job moves
    # it on after each pass, and a pass reads only the cases due today through a partial index.
    next_deadline_at = models.DateField(null=True, blank=True, editable=False)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path", also_require=mediator_committees())
    history = AuditedHistory(
        scope_rule=ScopeRule(region_path="region__path"), excluded_fields=["next_deadline_at"]
    )

    class Meta:
        verbose_name = _("mediation case")
        verbose_name_plural = _("mediation cases")
        ordering = ["-intake_date", "-id"]
        indexes = [
            models.Index(fields=["intake_date", "id"], name="mediation_case_intake"),
            models.Index(
                fields=["next_deadline_at"],
                name="mediation_deadline_queue",
                condition=models.Q(next_deadline_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return _("Mediation case %(number)s") % {"number": self.number}

    @property
    def number(self) -> str:
        return f"{self.intake_date:%Y}-{self.pk:05d}" if self.pk else "—"

    def clean(self) -> None:
        errors = {}
        if self.extension_days and not self.extension_reason.strip():
            errors["extension_reason"] = _("An extension needs a recorded reason.")
        if self.closed_on and self.closed_on < self.intake_date:
            errors["closed_on"] = _("A case cannot close before its intake date.")
        if errors:
            raise ValidationError(errors)


class CaseReferral(models.Model):
    """The record that a grid incident was sent to a committee: who sent it, when and why."""

    incident = models.OneToOneField(
        "incidents.Incident", verbose_name=_("incident"), on_delete=models.PROTECT, related_name="referral"
    )
    case = models.OneToOneField(
        MediationCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="referral"
    )
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    referred_at = models.DateTimeField(_("referred at"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · #{self.incident_id} → {self.case_id}"


class Party(models.Model):
    class Kind(models.TextChoices):
        PERSON = "person", pgettext_lazy("party kind", "Person")
        ORGANISATION = "organisation", _("Organisation")

    class Side(models.TextChoices):
        APPLICANT = "applicant", _("Applicant")
        RESPONDENT = "respondent", _("Respondent")
        THIRD = "third", _("Third party")

    case = models.ForeignKey(MediationCase, on_delete=models.CASCADE, related_name="parties")
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices, default=Kind.PERSON)
    side = models.CharField(_("side"), max_length=12, choices=Side.choices, default=Side.APPLICANT)
    name = models.CharField(_("name"), max_length=120)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    representative = models.CharField(_("representative"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["side", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.name.strip():
            raise ValidationError({"name": _("Every party needs a name.")})


class MediationSession(models.Model):
    case = models.ForeignKey(MediationCase, on_delete=models.CASCADE, related_name="sessions")
    held_at = models.DateTimeField(_("held at"))
    place = models.CharField(_("place"), max_length=200)
    attendees = models.CharField(_("who attended"), max_length=300)
    notes = models.TextField(pgettext_lazy("mediation session", "notes"), blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="case__region__path", also_require=mediator_committees("case__"))

    class Meta:
        verbose_name = _("mediation session")
        verbose_name_plural = _("mediation sessions")
        ordering = ["held_at", "id"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {timezone.localtime(self.held_at):%Y-%m-%d %H:%M} · {self.place}"


class MediationAgreement(models.Model):
    """The written agreement (调解协议书); its effective date starts the 30 days for confirmation."""

    class Performance(models.TextChoices):
        PENDING = "pending", _("Not yet due")
        PERFORMED = "performed", _("Performed")
        PARTLY = "partly", _("Partly performed")
        NOT_PERFORMED = "not_performed", _("Not performed")

    case = models.OneToOneField(MediationCase, on_delete=models.CASCADE, related_name="agreement")
    terms = models.TextField(_("terms"))
    signed_on = models.DateField(_("signed on"))
    effective_on = models.DateField(_("takes effect on"))
    performance = models.CharField(
        _("performance"), max_length=14, choices=Performance.choices, default=Performance.PENDING
    )
    performance_checked_on = models.DateField(_("performance checked on"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="case__region__path", also_require=mediator_committees("case__"))

    class Meta:
        verbose_name = _("mediation agreement")
        verbose_name_plural = _("mediation agreements")

    def clean(self) -> None:
        errors = {}
        if self.case_id and self.signed_on and self.signed_on < self.case.intake_date:
            errors["signed_on"] = _("The agreement cannot be signed before the case was taken in.")
        if self.signed_on and self.effective_on and self.effective_on < self.signed_on:
            errors["effective_on"] = _("An agreement cannot take effect before it is signed.")
        if errors:
            raise ValidationError(errors)

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.signed_on:%Y-%m-%d}"


class JudicialConfirmation(models.Model):
    """A court's confirmation of an agreement (司法确认), with the dates the court rules set."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("Awaiting acceptance")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Not accepted")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Pending")
        CONFIRMED = "confirmed", _("Confirmed (valid)")
        NOT_CONFIRMED = "not_confirmed", _("Not confirmed")

    agreement = models.OneToOneField(
        MediationAgreement, on_delete=models.CASCADE, related_name="confirmation"
    )
    court = models.CharField(_("court"), max_length=120)
    applied_on = models.DateField(_("applied on"))
    applied_late = models.BooleanField(
        _("applied after the 30-day limit"),
        default=False,
        help_text=_(
            "Allowed, but flagged: the parties applied more than 30 days after the agreement took effect."
        ),
    )
    decision = models.CharField(
        _("acceptance"), max_length=10, choices=Decision.choices, default=Decision.PENDING
    )
    decided_on = models.DateField(_("acceptance decided on"), null=True, blank=True)
    ruling_extended = models.BooleanField(_("ruling period extended by 10 days"), default=False)
    extension_reason = models.CharField(_("reason for the extension"), max_length=200, blank=True)
    ruled_on = models.DateField(_("ruled on"), null=True, blank=True)
    ruling_number = models.CharField(_("ruling number"), max_length=60, blank=True)
    outcome = models.CharField(_("outcome"), max_length=14, choices=Outcome.choices, default=Outcome.PENDING)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(
        region_path="agreement__case__region__path",
        also_require=mediator_committees("agreement__case__"),
    )

    class Meta:
        verbose_name = _("judicial confirmation")
        verbose_name_plural = _("judicial confirmations")

    def clean(self) -> None:
        errors = {}
        if self.agreement_id and self.applied_on and self.applied_on < self.agreement.effective_on:
            errors["applied_on"] = _("Confirmation cannot be applied for before the agreement takes effect.")
        if self.decided_on and self.applied_on and self.decided_on < self.applied_on:
            errors["decided_on"] = _("The court cannot decide before the application.")
        if self.ruled_on:
            if self.decision != self.Decision.ACCEPTED:
                errors["ruled_on"] = _("The court rules only on an accepted application.")
            elif self.decided_on and self.ruled_on < self.decided_on:
                errors["ruled_on"] = _("The ruling cannot come before the application was accepted.")
            if not self.ruling_number.strip():
                errors["ruling_number"] = _("A ruling has a number.")
        if self.ruling_extended and not self.extension_reason.strip():
            errors["extension_reason"] = _("An extension needs a recorded reason.")
        if errors:
            raise ValidationError(errors)

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.court} · {self.applied_on:%Y-%m-%d}"


class CaseEvent(models.Model):
    """The case's append-only timeline; joined with the source incident's events on the case page."""

    case = models.ForeignKey(MediationCase, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=32)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("case timeline entry")
        verbose_name_plural = _("case timeline entries")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} · {timezone.localtime(self.at):%Y-%m-%d %H:%M}"


def recipient_only(actor) -> models.Q:
    return models.Q(recipient=actor)


class DeadlineNotice(models.Model):
    """An in-app notice to the responsible mediator: a legal deadline is near, or was missed.

    Unique per case, deadline, due date and stage, so the beat job can run as often as it likes
    and never warns twice; an extension moves the due date, which deserves a fresh warning.
    """

    class Stage(models.TextChoices):
        WARNING = "warning", _("Deadline approaching")
        MISSED = "missed", _("Deadline missed")

    case = models.ForeignKey(MediationCase, on_delete=models.CASCADE, related_name="notices")
    deadline = models.CharField(_("deadline"), max_length=24)
    due_on = models.DateField(_("due on"))
    stage = models.CharField(_("stage"), max_length=8, choices=Stage.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mediation_notices",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    # A notice is its recipient's: nobody else sees it (an administrator sees everything).
    scope_rule = ScopeRule(region_path="case__region__path", also_require=recipient_only)

    @property
    def deadline_label(self) -> str:
        from mediation.deadlines import LABELS

        return str(LABELS.get(self.deadline, self.deadline))

    class Meta:
        verbose_name = _("deadline notice")
        verbose_name_plural = _("deadline notices")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "deadline", "due_on", "stage"], name="notice_once_per_deadline_stage"
            )
        ]

    # --- Public legal services -------------------------------------------------------------------

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.deadline} · {self.due_on:%Y-%m-%d}"


class LegalServiceCentre(models.Model):
    """A public legal service centre (公共法律服务中心) of the city, a county or a township."""

    name = models.CharField(_("name"), max_length=120)
    region = models.OneToOneField(
        "grids.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="legal_centre"
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path")

    class Meta:
        verbose_name = _("legal service centre")
        verbose_name_plural = _("legal service centres")
        ordering = ["region__code"]

    def __str__(self) -> str:
        return self.name


class Consultation(models.Model):
    centre = models.ForeignKey(LegalServiceCentre, on_delete=models.PROTECT, related_name="consultations")
    asked_at = models.DateTimeField(_("asked at"), default=timezone.now)
    person_name = models.CharField(pgettext_lazy("legal consultation", "person"), max_length=120, blank=True)
    topic = models.CharField(_("topic"), max_length=120)
    question = models.TextField(pgettext_lazy("legal consultation", "question"), blank=True)
    answer = models.TextField(pgettext_lazy("legal consultation", "answer"), blank=True)
    referral = models.CharField(_("referred to"), max_length=200, blank=True)
    lawyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="centre__region__path", also_require=legal_service_staff)

    class Meta:
        verbose_name = _("legal consultation")
        verbose_name_plural = _("legal consultations")
        ordering = ["-asked_at", "-id"]

    def __str__(self) -> str:
        # The person's name stays out: this label shows in lists and dropdowns.
        return f"{self._meta.verbose_name} · {timezone.localtime(self.asked_at):%Y-%m-%d} · {self.topic}"


class LegalAidApplication(models.Model):
    class Eligibility(models.TextChoices):
        PENDING = "pending", _("Under review")
        ELIGIBLE = "eligible", _("Eligible")
        INELIGIBLE = "ineligible", _("Not eligible")

    centre = models.ForeignKey(LegalServiceCentre, on_delete=models.PROTECT, related_name="aid_applications")
    applicant_name = models.CharField(_("applicant"), max_length=120)
    applicant_phone = models.CharField(_("phone"), max_length=30, blank=True)
    matter = models.TextField(_("matter"))
    applied_on = models.DateField(_("applied on"))
    eligibility = models.CharField(
        _("eligibility"), max_length=10, choices=Eligibility.choices, default=Eligibility.PENDING
    )
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    decision_reason = models.CharField(_("reason for the decision"), max_length=300, blank=True)
    assigned_lawyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="centre__region__path", also_require=legal_service_staff)

    class Meta:
        verbose_name = _("legal-aid application")
        verbose_name_plural = _("legal-aid applications")
        ordering = ["-applied_on", "-id"]

    def clean(self) -> None:
        errors = {}
        if not self.applicant_name.strip():
            errors["applicant_name"] = _("The applicant needs a name.")
        if self.eligibility != self.Eligibility.PENDING and not self.decision_reason.strip():
            errors["decision_reason"] = _("A decision needs a reason.")
        if self.decided_on and self.applied_on and self.decided_on < self.applied_on:
            errors["decided_on"] = _("A decision cannot come before the application.")
        if errors:
            raise ValidationError(errors)

    def __str__(self) -> str:
        # Shown in the lawyers' dropdowns: the applicant by surname only (王**).
        name = self.applicant_name
        masked = name[:1] + "*" * (len(name) - 1)
        return f"{self._meta.verbose_name} #{self.pk} · {self.applied_on:%Y-%m-%d} · {masked}"


class LitigationRepresentation(models.Model):
    """A lawsuit in which a centre's lawyer represents a party (代理诉讼), one of the three
    services of a public legal service centre beside consultation and legal aid."""

    class Status(models.TextChoices):
        ONGOING = "ongoing", pgettext_lazy("litigation", "In progress")
        CONCLUDED = "concluded", pgettext_lazy("litigation", "Concluded")

    centre = models.ForeignKey(
        LegalServiceCentre,
        verbose_name=_("centre"),
        on_delete=models.PROTECT,
        related_name="representations",
    )
    client_name = models.CharField(_("client"), max_length=120)
    cause = models.CharField(_("cause of action"), max_length=120)
    court = models.CharField(_("court"), max_length=120)
    lawyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lawyer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    legal_aid = models.ForeignKey(
        LegalAidApplication,
        verbose_name=_("legal-aid application"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="representations",
        help_text=_("When the representation is given as legal aid."),
    )
    accepted_on = models.DateField(_("accepted on"))
    status = models.CharField(
        pgettext_lazy("litigation", "status"), max_length=10, choices=Status.choices, default=Status.ONGOING
    )
    concluded_on = models.DateField(_("concluded on"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo record"), default=False)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="centre__region__path", also_require=legal_service_staff)

    class Meta:
        verbose_name = _("litigation representation")
        verbose_name_plural = _("litigation representations")
        ordering = ["-accepted_on", "-id"]

    def __str__(self) -> str:
        # As the legal-aid application: the client by surname only (王**), beside the cause.
        name = self.client_name
        masked = name[:1] + "*" * (len(name) - 1)
        return f"{self._meta.verbose_name} #{self.pk} · {self.accepted_on:%Y-%m-%d} · {self.cause} · {masked}"


class ReceptionDay(models.Model):
    """A day on which a district leader receives petitioners (接访); a lawyer must sit in."""

    centre = models.ForeignKey(LegalServiceCentre, on_delete=models.PROTECT, related_name="reception_days")
    date = models.DateField(_("date"))
    leader = models.CharField(_("receiving leader"), max_length=80, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="centre__region__path", also_require=legal_service_staff)

    class Meta:
        verbose_name = _("petition-reception day")
        verbose_name_plural = _("petition-reception days")
        ordering = ["date", "centre_id"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "date"], name="reception_day_once_per_centre")
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.date:%Y-%m-%d}"


class DutyShift(models.Model):
    """A lawyer on duty at a centre on one day."""

    centre = models.ForeignKey(LegalServiceCentre, on_delete=models.PROTECT, related_name="duty_shifts")
    date = models.DateField(_("date"), db_index=True)
    lawyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lawyer"),
        on_delete=models.PROTECT,
        related_name="duty_shifts",
    )

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="centre__region__path", also_require=legal_service_staff)

    class Meta:
        verbose_name = _("duty shift")
        verbose_name_plural = _("duty shifts")
        ordering = ["date", "centre_id"]
        constraints = [models.UniqueConstraint(fields=["centre", "date", "lawyer"], name="duty_shift_unique")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.date:%Y-%m-%d}"
