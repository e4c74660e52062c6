"""Identity providers a tenant's guests sign in with (Graph ``/identity/identityProviders``): a generic
OpenID Connect provider, Google, Microsoft (an Entra ID tenant as identity provider) and a partner
deployment (another deployment of this product, by its issuer). E-mail one-time passcode is built in
(``CollaborationSettings.email_otp_enabled``) and has no row here.

Each tenant sees only its own. The client secret is stored encrypted (``policies.federation.secrets``,
key from ``FEDERATION_SECRET_KEY``) and never shown again."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Tenant


class IdentityProvider(models.Model):
    class Kind(models.TextChoices):
        OIDC = "oidc", _("OpenID Connect")
        GOOGLE = "google", _("Google")
        MICROSOFT = "microsoft", _("Microsoft")
        DEPLOYMENT = "deployment", _("Partner deployment")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="identity_providers")
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    display_name = models.CharField(_("display name"), max_length=256)
    client_id = models.CharField(_("client ID"), max_length=256)
    client_secret_encrypted = models.TextField(blank=True, editable=False)
    #: The issuer its ID tokens carry (``iss``). OIDC: from the discovery document; partner deployment: the
    #: deployment's address; Google and Microsoft: their well-known issuers.
    issuer = models.CharField(_("issuer"), max_length=500, blank=True)
    metadata_url = models.URLField(_("metadata URL"), max_length=500, blank=True,
                                   help_text=_("The OpenID Connect discovery document (…/.well-known/openid-"
                                               "configuration)."))
    scope = models.CharField(_("scope"), max_length=256, default="openid email profile")
    #: The e-mail domains whose guests are routed here (Google: gmail.com and googlemail.com by default).
    domains = models.JSONField(_("domains"), default=list, blank=True)
    #: Microsoft only: the Entra ID tenant ("organizations" for any work or school account).
    microsoft_tenant = models.CharField(_("Microsoft tenant"), max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("identity provider")
        verbose_name_plural = _("identity providers")
        # The list (tenant, ordered by name) and the resolvers' lookup (tenant, kind) share it.
        indexes = [models.Index(fields=["tenant", "kind", "display_name"], name="idp_tenant_kind_idx"),
                   models.Index(fields=["tenant", "display_name", "id"], name="idp_tenant_name_idx")]

    def __str__(self) -> str:
        return self.display_name
