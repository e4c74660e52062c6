"""Requests, their approval stages, assignments, and what an assignment delivered."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Account, Tenant, User

from .catalogs import CatalogResource, ResourceRole
from .organizations import ConnectedOrganization
from .packages import AccessPackage, AssignmentPolicy


class AssignmentRequest(models.Model):
    class RequestType(models.TextChoices):
        USER_ADD = "userAdd"
        USER_UPDATE = "userUpdate"
        USER_REMOVE = "userRemove"
        ADMIN_ADD = "adminAdd"
        ADMIN_UPDATE = "adminUpdate"
        ADMIN_REMOVE = "adminRemove"
        SYSTEM_ADD = "systemAdd"
        SYSTEM_UPDATE = "systemUpdate"
        SYSTEM_REMOVE = "systemRemove"
        ON_BEHALF_ADD = "onBehalfAdd"
        APPROVER_REMOVE = "approverRemove"

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        PENDING_APPROVAL = "pendingApproval", _("Pending approval")
        DELIVERING = "delivering", _("Delivering")
        DELIVERED = "delivered", _("Delivered")
        DELIVERY_FAILED = "deliveryFailed", _("Delivery failed")
        DENIED = "denied", _("Denied")
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELED = "canceled", _("Canceled")
        PARTIALLY_DELIVERED = "partiallyDelivered", _("Partially delivered")

    OPEN_STATES = (State.SUBMITTED, State.PENDING_APPROVAL, State.DELIVERING, State.SCHEDULED)
    CANCELABLE_STATES = (State.SUBMITTED, State.PENDING_APPROVAL, State.SCHEDULED, State.DELIVERY_FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    package = models.ForeignKey(AccessPackage, on_delete=models.CASCADE, related_name="requests")
    policy = models.ForeignKey(AssignmentPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    assignment = models.ForeignKey("Assignment", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="requests")
    request_type = models.CharField(max_length=16, choices=RequestType.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.SUBMITTED)
    #: Graph's free-text status ("Accepted", "PendingApproval", "Delivered", "Denied", "Expired", …).
    status = models.CharField(max_length=32, default="Accepted")
    #: Who gets access: a user here, or (not yet in the directory) an e-mail address and its organization.
    target = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    target_email = models.EmailField(blank=True)
    target_display_name = models.CharField(max_length=256, blank=True)
    connected_organization = models.ForeignKey(ConnectedOrganization, on_delete=models.SET_NULL, null=True,
                                               blank=True, related_name="+")
    #: Who asked: a user here, or the signed-in account of an external requestor.
    requestor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    requestor_account = models.ForeignKey(Account, on_delete=models.SET_NULL, null=True, blank=True,
                                          related_name="+")
    justification = models.TextField(blank=True, max_length=4000)
    #: ``[{"questionId", "value", "displayValue"}]``.
    answers = models.JSONField(default=list, blank=True)
    schedule_start = models.DateTimeField(null=True, blank=True)
    schedule_end = models.DateTimeField(null=True, blank=True)
    #: The policy's approval stages and expiration as they were when the request was made (Entra: edits
    #: to a policy do not change pending or approved requests).
    policy_snapshot = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The approval clock of the current stage (set-based sweeps read these).
    current_stage = models.PositiveSmallIntegerField(default=0)
    escalate_at = models.DateTimeField(null=True, blank=True)
    deny_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["tenant", "created_at", "id"], name="request_tenant_list_idx"),
            models.Index(fields=["target", "created_at"], name="request_target_idx"),
            models.Index(fields=["requestor_account", "created_at"], name="request_account_idx"),
            models.Index(fields=["deny_at"], condition=Q(state="pendingApproval"), name="request_deny_due_idx"),
            models.Index(fields=["escalate_at"], condition=Q(state="pendingApproval"), name="request_escalate_due_idx"),
            models.Index(fields=["remind_at"], condition=Q(state="pendingApproval"), name="request_remind_due_idx"),
            models.Index(fields=["created_at"], condition=Q(state="delivering"), name="request_delivery_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.request_type} {self.package} → {self.target or self.target_email}"

    @property
    def target_label(self) -> str:
        if self.target_id:
            return self.target.display_name
        return self.target_display_name or self.target_email


class ApprovalStageRecord(models.Model):
    """One stage of one request's approval (Graph's ``approvalStage`` under
    ``/assignmentApprovals/{requestId}/stages/{id}``)."""

    class Status(models.TextChoices):
        NOT_STARTED = "NotStarted"
        IN_PROGRESS = "InProgress"
        APPROVED = "Approved"
        DENIED = "Denied"
        TIMED_OUT = "TimedOut"
        CANCELED = "Canceled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(AssignmentRequest, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NOT_STARTED)
    escalated = models.BooleanField(default=False)
    is_approver_justification_required = models.BooleanField(default=False)
    reviewed_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    justification = models.TextField(blank=True, max_length=4000)

    class Meta:
        ordering = ["request", "order"]
        constraints = [models.UniqueConstraint("request", "order", name="approval_record_unique")]

    def __str__(self) -> str:
        return f"{self.request_id} · stage {self.order} · {self.status}"


class StageApprover(models.Model):
    """Who may decide a stage, resolved when the stage starts (primary) or escalates (escalation)."""

    stage = models.ForeignKey(ApprovalStageRecord, on_delete=models.CASCADE, related_name="approvers")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    is_escalation = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint("stage", "user", "is_escalation", name="stage_approver_unique")]
        indexes = [models.Index(fields=["user", "stage"], name="stage_approver_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.stage_id}"


class Assignment(models.Model):
    class State(models.TextChoices):
        DELIVERING = "delivering", _("Delivering")
        PARTIALLY_DELIVERED = "partiallyDelivered", _("Partially delivered")
        DELIVERED = "delivered", _("Delivered")
        EXPIRED = "expired", _("Expired")
        DELIVERY_FAILED = "deliveryFailed", _("Delivery failed")

    ACTIVE_STATES = (State.DELIVERING, State.PARTIALLY_DELIVERED, State.DELIVERED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    package = models.ForeignKey(AccessPackage, on_delete=models.CASCADE, related_name="assignments")
    policy = models.ForeignKey(AssignmentPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    target = models.ForeignKey(User, on_delete=models.CASCADE, related_name="package_assignments")
    state = models.CharField(max_length=20, choices=State.choices, default=State.DELIVERING)
    status = models.CharField(max_length=32, default="Delivering")
    start_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    #: The last expiry warning sent (days before the end: 14, then 1; 0 = none yet).
    warned_days = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint("package", "target",
                                    condition=Q(state__in=["delivering", "partiallyDelivered", "delivered"]),
                                    name="assignment_one_active_per_target",
                                    violation_error_message=_("This person has this access package already.")),
        ]
        indexes = [
            models.Index(fields=["tenant", "created_at", "id"], name="assignment_tenant_list_idx"),
            models.Index(fields=["target", "state"], name="assignment_target_idx"),
            models.Index(fields=["expires_at"], condition=Q(state="delivered"), name="assignment_expiry_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.package} → {self.target}"


class Grant(models.Model):
    """One resource role an assignment delivered to its target (kept after the assignment ends, as its
    history). The access is taken away when the last active assignment holding it ends, and only when
    it is managed (:class:`directory.models.ManagedAccess`), not held directly."""

    id = models.BigAutoField(primary_key=True)
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey(CatalogResource, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=16, choices=ResourceRole.choices)

    class Meta:
        constraints = [models.UniqueConstraint("assignment", "resource", "role", name="grant_unique")]
        indexes = [models.Index(fields=["user", "resource", "role"], name="grant_holder_idx")]

    def __str__(self) -> str:
        return f"{self.role} · {self.resource_id} → {self.user_id}"
