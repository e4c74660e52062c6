"""Access reviews (Graph's ``accessReviewScheduleDefinition``, ``accessReviewInstance`` and
``accessReviewInstanceDecisionItem``).

A definition says what is reviewed (its scope), who reviews, when (recurrence, duration) and what
happens at the end. Beat's sweep starts an instance per period (and, for "every group and app with
guests", one per resource), snapshotting who holds the access as decision items with a recommendation
from the sign-in log; reviewers decide in the access panel or through Graph; at the end the default
decision fills what nobody answered and, where the definition says so, denials are applied.
"""

import uuid
from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Application, Group, Tenant, User

from .packages import AccessPackage
from .requests import Assignment


class AccessReviewDefinition(models.Model):
    class ScopeKind(models.TextChoices):
        GROUP = "group", _("Members of a group")
        APPLICATION = "application", _("Users assigned to an application")
        ACCESS_PACKAGE = "accessPackage", _("Assignments of an access package")
        GUEST_RESOURCES = "guestResources", _("Every group and application with guests")

    class ReviewerKind(models.TextChoices):
        SELF = "self", _("Users review their own access")
        OWNERS = "owners", _("Group or application owners")
        SELECTED = "selected", _("Selected users or groups")
        SPONSORS = "sponsors", _("Sponsors of the users")
        MANAGERS = "managers", _("Managers of the users")

    class Recurrence(models.TextChoices):
        ONE_TIME = "oneTime", _("One time")
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")
        QUARTERLY = "quarterly", _("Quarterly")
        HALF_YEARLY = "halfYearly", _("Semi-annually")
        YEARLY = "yearly", _("Annually")

    class DefaultDecision(models.TextChoices):
        NONE = "None", _("No change")
        APPROVE = "Approve", _("Approve access")
        DENY = "Deny", _("Remove access")
        RECOMMENDATION = "Recommendation", _("Take recommendations")

    class DeniedGuestAction(models.TextChoices):
        REMOVE_ACCESS = "removeAccess", _("Remove the user's access to the resource")
        BLOCK_THEN_DELETE = "disableAndDelete", _("Block sign-in for 30 days, then remove the user from the tenant")

    class Status(models.TextChoices):
        NOT_STARTED = "NotStarted", _("Not started")
        IN_PROGRESS = "InProgress", _("In progress")
        COMPLETED = "Completed", _("Completed")

    #: Months between instances (weekly is 7 days, one time has none).
    MONTHS = {Recurrence.MONTHLY: 1, Recurrence.QUARTERLY: 3, Recurrence.HALF_YEARLY: 6, Recurrence.YEARLY: 12}

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    display_name = models.CharField(_("name"), max_length=256)
    description_for_admins = models.TextField(_("description for administrators"), max_length=1024, blank=True)
    description_for_reviewers = models.TextField(_("description for reviewers"), max_length=1024, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # what is reviewed
    scope_kind = models.CharField(_("what is reviewed"), max_length=16, choices=ScopeKind.choices)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                              verbose_name=_("group"))
    application = models.ForeignKey(Application, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                                    verbose_name=_("application"))
    package = models.ForeignKey(AccessPackage, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                                verbose_name=_("access package"))
    guests_only = models.BooleanField(_("guest users only"), default=False)
    #: Review only users who have not signed in for this long (Graph's accessReviewInactiveUsersQueryScope).
    inactive_duration = models.DurationField(_("only users inactive for"), null=True, blank=True)
    # who reviews
    reviewer_kind = models.CharField(_("reviewers"), max_length=10, choices=ReviewerKind.choices,
                                     default=ReviewerKind.OWNERS)
    #: Chosen reviewers (``selected``) and fallback reviewers: user ids and group ids (their members review).
    reviewer_user_ids = models.JSONField(default=list, blank=True)
    reviewer_group_ids = models.JSONField(default=list, blank=True)
    fallback_user_ids = models.JSONField(default=list, blank=True)
    # when
    recurrence = models.CharField(_("recurrence"), max_length=12, choices=Recurrence.choices,
                                  default=Recurrence.ONE_TIME)
    instance_duration_days = models.PositiveSmallIntegerField(_("duration (days)"), default=3)
    start_at = models.DateTimeField(_("start"), default=timezone.now)
    end_date = models.DateField(_("end"), null=True, blank=True)
    #: When beat starts the next instance (None: no more instances).
    next_instance_at = models.DateTimeField(null=True, blank=True, editable=False)
    # what happens (Graph's accessReviewScheduleSettings)
    default_decision_enabled = models.BooleanField(_("if reviewers don't respond, decide"), default=False)
    default_decision = models.CharField(_("if reviewers don't respond"), max_length=16,
                                        choices=DefaultDecision.choices, default=DefaultDecision.NONE)
    auto_apply_decisions_enabled = models.BooleanField(_("auto apply results to resource"), default=False)
    recommendations_enabled = models.BooleanField(_("show recommendations"), default=True)
    recommendation_look_back = models.DurationField(_("no sign-in within"), default=timedelta(days=30))
    justification_required_on_approval = models.BooleanField(_("require reason on approval"), default=False)
    mail_notifications_enabled = models.BooleanField(_("mail notifications"), default=True)
    reminder_notifications_enabled = models.BooleanField(_("reminders"), default=True)
    denied_guest_action = models.CharField(_("action for denied guest users"), max_length=16,
                                           choices=DeniedGuestAction.choices, default=DeniedGuestAction.REMOVE_ACCESS)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NOT_STARTED)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = _("access review")
        indexes = [
            models.Index(fields=["tenant", "created_at", "id"], name="review_def_tenant_list_idx"),
            models.Index(fields=["next_instance_at"], condition=Q(next_instance_at__isnull=False),
                         name="review_def_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(instance_duration_days__gte=1), name="review_def_duration_positive"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def period_after(self, start):
        """When the instance after one starting at ``start`` begins (None: one time)."""
        if self.recurrence == self.Recurrence.WEEKLY:
            return start + timedelta(days=7)
        months = self.MONTHS.get(self.recurrence)
        if not months:
            return None
        month = start.month - 1 + months
        year, month = start.year + month // 12, month % 12 + 1
        day = min(start.day, 28)  # Graph's absoluteMonthly on the 29th–31st falls back; ours: the 28th
        return start.replace(year=year, month=month, day=day)


class AccessReviewInstance(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "InProgress", _("In progress")
        COMPLETED = "Completed", _("Completed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    definition = models.ForeignKey(AccessReviewDefinition, on_delete=models.CASCADE, related_name="instances")
    #: The reviewed resource (one of them).
    group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    package = models.ForeignKey(AccessPackage, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    #: The period this instance belongs to (with ``resource_key``: unique, so a sweep run twice adds nothing).
    period_start = models.DateTimeField()
    resource_key = models.CharField(max_length=40)
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    remind_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    #: Denials are applied once (auto apply at the end, or an administrator's "Apply").
    applied_at = models.DateTimeField(null=True, blank=True)
    apply_due = models.BooleanField(default=False)

    class Meta:
        ordering = ["-start_at", "id"]
        constraints = [models.UniqueConstraint("definition", "period_start", "resource_key",
                                               name="review_instance_period_unique")]
        indexes = [
            models.Index(fields=["definition", "start_at", "id"], name="review_instance_list_idx"),
            models.Index(fields=["end_at"], condition=Q(status="InProgress"), name="review_instance_end_due_idx"),
            models.Index(fields=["remind_at"], condition=Q(status="InProgress"), name="review_instance_remind_idx"),
            models.Index(fields=["completed_at"], condition=Q(apply_due=True), name="review_instance_apply_idx"),
        ]

    def __str__(self) -> str:
        return " · ".join(p for p in (self.definition.display_name, self.resource_name, f"{self.start_at:%Y-%m-%d}") if p)

    @property
    def resource(self):
        return self.group or self.application or self.package

    @property
    def resource_name(self) -> str:
        resource = self.resource
        return resource.display_name if resource is not None else ""


class AccessReviewDecision(models.Model):
    """One person's access to the instance's resource, and the decision about it."""

    class Decision(models.TextChoices):
        NOT_REVIEWED = "NotReviewed", _("Not reviewed")
        APPROVE = "Approve", _("Approve")
        DENY = "Deny", _("Deny")
        DONT_KNOW = "DontKnow", _("Don't know")

    class Recommendation(models.TextChoices):
        APPROVE = "Approve", _("Approve")
        DENY = "Deny", _("Deny")
        NO_INFO = "NoInfoAvailable", _("No info available")

    class AccessKind(models.TextChoices):
        GROUP_MEMBER = "groupMember", _("Group membership")
        APP_ASSIGNMENT = "appAssignment", _("Application assignment")
        PACKAGE_ASSIGNMENT = "packageAssignment", _("Access package assignment")

    class ApplyResult(models.TextChoices):
        NEW = "New"
        APPLIED = "AppliedSuccessfully"
        NOT_FOUND = "AppliedSuccessfullyButObjectNotFound"
        NOT_SUPPORTED = "ApplyNotSupported"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # (instance, …) indexes below serve every lookup by instance: no index of its own.
    instance = models.ForeignKey(AccessReviewInstance, on_delete=models.CASCADE, related_name="decisions",
                                 db_index=False)
    principal = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    access_kind = models.CharField(max_length=20, choices=AccessKind.choices)
    assignment = models.ForeignKey(Assignment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decision = models.CharField(max_length=12, choices=Decision.choices, default=Decision.NOT_REVIEWED)
    recommendation = models.CharField(max_length=16, choices=Recommendation.choices, default=Recommendation.NO_INFO)
    justification = models.TextField(blank=True, max_length=4000)
    reviewed_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    #: The instance's default decision filled this in at the end (nobody answered).
    by_default = models.BooleanField(default=False)
    apply_result = models.CharField(max_length=40, choices=ApplyResult.choices, default=ApplyResult.NEW)
    applied_at = models.DateTimeField(null=True, blank=True)
    #: The principal's last sign-in when the instance started (the recommendation's ground).
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["instance", "id"]
        constraints = [models.UniqueConstraint("instance", "principal", name="review_decision_unique")]
        # Graph's decisions list: one instance's items by id, or those with one decision.
        indexes = [models.Index(fields=["instance", "id"], name="review_decision_list_idx"),
                   models.Index(fields=["instance", "decision", "id"], name="review_decision_state_idx")]

    def __str__(self) -> str:
        return f"{self.principal_id} · {self.decision}"


class AccessReviewReviewer(models.Model):
    """Who may decide an item, resolved when the instance starts (Entra: owners fixed at start)."""

    decision = models.ForeignKey(AccessReviewDecision, on_delete=models.CASCADE, related_name="reviewers")
    instance = models.ForeignKey(AccessReviewInstance, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint("decision", "user", name="review_reviewer_unique")]
        indexes = [models.Index(fields=["user", "instance"], name="review_reviewer_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.decision_id}"
