"""The outbox: e-mail written in the caller's transaction."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .tenants import Tenant


class OutboxBody(models.Model):
    """The text and HTML many messages share: a sweep that mails the same words to thousands (entitlement
    management's "Access has ended") renders them once per language and points each message here instead
    of storing a copy per recipient. Never carries secrets (those are per recipient)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return self.body_text[:60]


class OutboxMessage(models.Model):
    """An e-mail, written in the caller's transaction and delivered by a worker exactly once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Gave up")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="outbox")
    dedupe_key = models.CharField(
        max_length=200, null=True, blank=True, unique=True,
        help_text=_("The same key is never queued twice (for example invitation:<id>:initial)."),
    )
    from_email = models.CharField(_("from"), max_length=320)
    to = models.JSONField(_("to"), default=list)
    cc = models.JSONField(_("cc"), default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=998)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    #: Set: the bodies are this shared row's (``body_text``/``body_html`` stay empty); see :attr:`text`.
    shared_body = models.ForeignKey(OutboxBody, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    #: The secrets the bodies carry (link tokens, sign-in codes): kept while the message may still be sent,
    #: stripped from the bodies once it is delivered (see directory.redaction), never shown in the console.
    secrets = models.JSONField(default=list, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("queued"), default=timezone.now, editable=False)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("outbox message")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return self.subject

    @property
    def text(self) -> str:
        return self.shared_body.body_text if self.shared_body_id else self.body_text

    @property
    def html(self) -> str:
        return self.shared_body.body_html if self.shared_body_id else self.body_html
