"""Second factors: which of an account's django-otp devices are its authentication methods, and where.

django-otp keeps the secrets (``TOTPDevice``, ``StaticDevice``); this row says what the device is to
the person and to admins (Graph's ``authenticationMethod``) and records the tenant it was registered in:
a method counts in that tenant only, until cross-tenant settings say a partner's MFA is trusted
(DESIGN §6).
"""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .people import Account
from .tenants import Tenant


class AuthenticationMethod(models.Model):
    class Kind(models.TextChoices):
        #: Graph: #microsoft.graph.softwareOathAuthenticationMethod
        TOTP = "totp", _("Authenticator app")
        #: Graph has no v1.0 type for backup codes; the nearest is a temporary access pass. Ours.
        BACKUP_CODES = "backupCodes", _("Backup codes")
        #: Graph: #microsoft.graph.fido2AuthenticationMethod (django-otp-webauthn's credential)
        PASSKEY = "passkey", _("Passkey or security key")

    #: How strong each kind is, in Graph's authentication strength terms: a passkey meets all three
    #: (multifactor, passwordless, phishing-resistant).
    STRENGTHS = {Kind.TOTP: frozenset({"mfa"}), Kind.BACKUP_CODES: frozenset({"mfa"}),
                 Kind.PASSKEY: frozenset({"mfa", "passwordless", "phishingResistant"})}

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="authentication_methods")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="authentication_methods",
                               help_text=_("The tenant the method was registered in; it counts there."))
    kind = models.CharField(_("method"), max_length=16, choices=Kind.choices)
    display_name = models.CharField(_("name"), max_length=64, blank=True)
    totp_device = models.OneToOneField(TOTPDevice, on_delete=models.CASCADE, null=True, blank=True,
                                       related_name="method")
    static_device = models.OneToOneField(StaticDevice, on_delete=models.CASCADE, null=True, blank=True,
                                         related_name="method")
    webauthn_credential = models.OneToOneField("django_otp_webauthn.WebAuthnCredential", on_delete=models.CASCADE,
                                               null=True, blank=True, related_name="method")
    created_at = models.DateTimeField(_("registered"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["account", "tenant", "created_at"], name="authmethod_account_tenant_idx"),
                   models.Index(fields=["tenant", "created_at"], name="authmethod_tenant_idx")]
        constraints = [
            models.CheckConstraint(
                name="authmethod_one_device",
                condition=(models.Q(kind="totp", totp_device__isnull=False, static_device__isnull=True,
                                    webauthn_credential__isnull=True)
                           | models.Q(kind="backupCodes", static_device__isnull=False, totp_device__isnull=True,
                                      webauthn_credential__isnull=True)
                           | models.Q(kind="passkey", webauthn_credential__isnull=False, totp_device__isnull=True,
                                      static_device__isnull=True)),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.display_name})" if self.display_name else self.get_kind_display()

    @property
    def device(self):
        if self.kind == self.Kind.PASSKEY:
            return self.webauthn_credential
        return self.totp_device if self.kind == self.Kind.TOTP else self.static_device

    @property
    def strengths(self) -> frozenset[str]:
        return self.STRENGTHS.get(self.kind, frozenset())
