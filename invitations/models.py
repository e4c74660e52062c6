import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Account, Application, Group, Tenant, TenantOwnedQuerySet, User


class InvitationQuerySet(TenantOwnedQuerySet):
    def redeemable(self, now=None):
        now = now or timezone.now()
        return self.filter(status=Invitation.Status.PENDING_ACCEPTANCE).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class Invitation(models.Model):
    """An invitation to a guest (Graph's ``invitation``), redeemable once through its secret link."""

    class Status(models.TextChoices):
        PENDING_ACCEPTANCE = "PendingAcceptance", _("Pending acceptance")
        COMPLETED = "Completed", _("Completed")
        IN_PROGRESS = "InProgress", _("In progress")
        ERROR = "Error", _("Error")
        REVOKED = "Revoked", _("Revoked")

    class Language(models.TextChoices):
        EN = "en", _("English")
        DE = "de", _("Deutsch")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    invited_user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    invited_email = models.EmailField(_("invited e-mail address"))
    invited_display_name = models.CharField(_("display name"), max_length=256, blank=True)
    invited_user_type = models.CharField(
        _("user type"), max_length=8, choices=User.UserType.choices, default=User.UserType.GUEST
    )
    redirect_url = models.URLField(_("redirect URL"), max_length=2000)
    send_message = models.BooleanField(_("send invitation message"), default=False)
    message_body = models.TextField(_("personal message"), max_length=10_000, blank=True)
    message_language = models.CharField(_("message language"), max_length=8, choices=Language.choices, default="en")
    cc_recipients = models.JSONField(_("cc"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING_ACCEPTANCE)
    status_reason = models.CharField(max_length=256, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("invited by")
    )
    invited_by_account = models.ForeignKey(Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    groups = models.ManyToManyField(Group, blank=True, related_name="+", verbose_name=_("add to groups"))
    applications = models.ManyToManyField(
        Application, blank=True, related_name="+", verbose_name=_("assign applications")
    )
    created_at = models.DateTimeField(_("invited"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    send_count = models.PositiveIntegerField(default=0)
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="invitation_tenant_status_idx"),
            models.Index(fields=["tenant", "invited_email"], name="invitation_tenant_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.invited_email} → {self.tenant}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class BulkInvitationJob(models.Model):
    """One uploaded CSV of invitations, processed in the background with progress and a results file."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="bulk_invitation_jobs")
    created_by = models.ForeignKey(Account, on_delete=models.SET_NULL, null=True, related_name="+")
    # Jobs started by the platform (the CLI) run with its rights; an uploader's job never does, even
    # when the uploader's account is deleted before the job runs.
    run_as_platform = models.BooleanField(default=False, editable=False)
    file_name = models.CharField(max_length=256)
    source = models.TextField(editable=False)  # the decoded CSV; kept out of public media storage
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    existing_count = models.PositiveIntegerField(_("already invited"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    results = models.TextField(blank=True, editable=False)  # CSV, one row per input row
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("bulk invitation")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_state_display()})"

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else int(self.processed_rows * 100 / self.total_rows)


class BulkInvitationResultChunk(models.Model):
    """The result lines of one committed chunk of a bulk job, written in the chunk's transaction.

    Appending to ``BulkInvitationJob.results`` instead would rewrite the whole (growing) text on every
    chunk: quadratic time and write-ahead log for a 50,000-row file. When the job ends its chunks are
    joined into ``results`` once and deleted.
    """

    job = models.ForeignKey(BulkInvitationJob, on_delete=models.CASCADE, related_name="result_chunks")
    first_row = models.PositiveIntegerField()  # position of the chunk's first row among the job's rows
    lines = models.TextField()  # CSV lines, no header

    class Meta:
        ordering = ["job", "first_row"]
        constraints = [models.UniqueConstraint("job", "first_row", name="bulk_result_chunk_unique")]

    def __str__(self) -> str:
        return f"{self.job_id} from row {self.first_row}"

