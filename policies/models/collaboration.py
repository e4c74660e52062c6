import json

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Tenant
from directory.validators import validate_domain_name

DOMAIN_LIST_MAX_BYTES = 25 * 1024  # Entra: the whole allow/deny policy is at most 25 KB


def validate_domain_pattern(value: str) -> None:
    """A domain, or a wildcard for all its subdomains (``*.contoso.com``)."""
    validate_domain_name(value[2:] if value.startswith("*.") else value)


def validate_domain_list(value) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(_("The domain list must be a list of domain names."), code="invalid")
    size = len(json.dumps(value).encode())
    if size > DOMAIN_LIST_MAX_BYTES:
        raise ValidationError(
            _("The domain list is %(size)s bytes; at most %(max)s bytes (25 KB) are allowed."),
            code="too_large", params={"size": size, "max": DOMAIN_LIST_MAX_BYTES},
        )
    for domain in value:
        validate_domain_pattern(domain)


class CollaborationSettings(models.Model):
    """External collaboration settings of one tenant (Graph ``authorizationPolicy`` + the B2B domain list)."""

    class AllowInvitesFrom(models.TextChoices):
        NONE = "none", _("No one in the organization can invite guests, including admins")
        ADMINS_AND_GUEST_INVITERS = "adminsAndGuestInviters", _("Only admins and users in the Guest Inviter role")
        ADMINS_GUEST_INVITERS_AND_ALL_MEMBERS = "adminsGuestInvitersAndAllMembers", _(
            "Member users and admins (including Guest Inviters)")
        EVERYONE = "everyone", _("Anyone in the organization, including guests")

    class GuestAccess(models.TextChoices):
        # Graph's guestUserRoleId values.
        SAME_AS_MEMBERS = "a0b1b346-4d3e-4e8b-98f8-753987be4970", _("Same access as members")
        LIMITED = "10dae51f-b6af-4016-8d66-8c2a99b929b3", _(
            "Limited access: own memberships, no directory enumeration")
        RESTRICTED = "2af84b1e-32c8-42b7-82bc-daa82404023b", _("Restricted access: own profile only")

    class DomainListType(models.TextChoices):
        NONE = "none", _("Allow invitations to any domain")
        ALLOW = "allow", _("Allow invitations only to the listed domains")
        BLOCK = "block", _("Deny invitations to the listed domains")

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="collaboration_settings")
    allow_invites_from = models.CharField(
        _("guest invite restrictions"), max_length=40, choices=AllowInvitesFrom.choices,
        default=AllowInvitesFrom.ADMINS_GUEST_INVITERS_AND_ALL_MEMBERS,
    )
    guest_user_role_id = models.CharField(
        _("guest user access"), max_length=36, choices=GuestAccess.choices, default=GuestAccess.LIMITED
    )
    domain_list_type = models.CharField(
        _("collaboration restrictions"), max_length=8, choices=DomainListType.choices, default=DomainListType.NONE
    )
    domains = models.JSONField(_("domains"), default=list, blank=True, validators=[validate_domain_list])
    email_otp_enabled = models.BooleanField(_("email one-time passcode for guests"), default=True)
    self_service_sign_up_enabled = models.BooleanField(_("guest self-service sign-up"), default=False)
    guests_can_leave = models.BooleanField(_("external users may leave the organization"), default=True)
    invitation_lifetime_days = models.PositiveIntegerField(
        _("invitations expire after (days)"), null=True, blank=True, default=30,
        help_text=_("Empty: invitations never expire."),
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("external collaboration settings")
        verbose_name_plural = _("external collaboration settings")

    def __str__(self) -> str:
        return str(self.tenant)

    def clean(self):
        super().clean()
        self.domains = sorted({d.strip().lower() for d in self.domains or [] if d.strip()})
        if self.domain_list_type == self.DomainListType.NONE and self.domains:
            raise ValidationError({"domains": _("Choose allow or deny before listing domains.")})
        if self.invitation_lifetime_days == 0:
            raise ValidationError({"invitation_lifetime_days": _("Use at least one day, or leave empty for never.")})
