"""Terms of use (Graph ``agreement``), their per-language files and who accepted which version."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Account, Tenant, User

#: Entra: at most 40 terms of use per tenant.
MAX_AGREEMENTS_PER_TENANT = 40


class Agreement(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="agreements")
    display_name = models.CharField(_("name"), max_length=256)
    is_viewing_before_acceptance_required = models.BooleanField(_("require users to expand the terms of use"),
                                                                default=False)
    #: Graph's userReacceptRequiredFrequency (a Duration): each user accepts again this many days after
    #: their last acceptance. Null: once is enough.
    user_reaccept_required_frequency_days = models.PositiveIntegerField(
        _("duration before re-acceptance required (days)"), null=True, blank=True)
    #: Bumped when a new file version requires everyone to accept again ("Require reaccept").
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    modified_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("terms of use")
        verbose_name_plural = _("terms of use")
        indexes = [models.Index(fields=["tenant", "id"], name="agreement_tenant_id")]

    def __str__(self) -> str:
        return self.display_name


class AgreementFile(models.Model):
    """One language's text (or PDF) of an agreement (Graph ``agreementFileLocalization``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="files")
    language = models.CharField(_("language"), max_length=35)  # "en", "de", "en-US"
    display_name = models.CharField(_("name shown"), max_length=256, blank=True)
    file_name = models.CharField(_("file name"), max_length=256, blank=True)
    is_default = models.BooleanField(_("default language"), default=False)
    text = models.TextField(_("text"), blank=True)
    pdf = models.FileField(_("PDF"), upload_to="agreements/", blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("terms of use file")
        constraints = [models.UniqueConstraint(fields=["agreement", "language"], name="agreement_file_language")]

    def __str__(self) -> str:
        return f"{self.agreement} ({self.language})"


class AgreementAcceptance(models.Model):
    """Graph ``agreementAcceptance``: who accepted (or declined) which version, when and from where."""

    class State(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="agreement_acceptances")
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="acceptances")
    agreement_version = models.PositiveIntegerField()
    agreement_file = models.ForeignKey(AgreementFile, on_delete=models.SET_NULL, null=True, blank=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="agreement_acceptances")
    account = models.ForeignKey(Account, on_delete=models.SET_NULL, null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACCEPTED)
    recorded_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)

    class Meta:
        verbose_name = _("terms of use acceptance")
        indexes = [
            models.Index(fields=["agreement", "user", "-recorded_at"], name="agreement_acceptance_latest"),
            models.Index(fields=["agreement", "id"], name="agreement_acceptance_list"),
            models.Index(fields=["tenant", "user", "-recorded_at"], name="agreement_acceptance_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.state} {self.agreement} v{self.agreement_version}"
