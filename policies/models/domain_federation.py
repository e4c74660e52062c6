"""SAML 2.0 / WS-Fed identity provider federation with a partner's domains (Entra's "SAML/WS-Fed IdP
federation", Graph ``samlOrWsFedExternalDomainFederation``): guests whose e-mail domain is one of the
configuration's domains redeem and sign in at the partner's identity provider."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Tenant


class ExternalDomainFederation(models.Model):
    class Protocol(models.TextChoices):
        SAML = "saml", "SAML"
        WS_FED = "wsFed", "WS-Fed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="external_domain_federations")
    display_name = models.CharField(_("display name"), max_length=256)
    #: The IdP's entity ID (SAML) or issuer (WS-Fed): the Issuer its responses must carry, and the
    #: issuer federated accounts are keyed on.
    issuer_uri = models.CharField(_("issuer URI"), max_length=1000)
    #: Where the browser is sent to sign in (SAML: the HTTP-Redirect SingleSignOnService). https only.
    passive_sign_in_uri = models.CharField(_("passive authentication endpoint"), max_length=1000)
    metadata_exchange_uri = models.CharField(_("metadata URL"), max_length=1000, blank=True)
    preferred_authentication_protocol = models.CharField(_("protocol"), max_length=8, choices=Protocol.choices,
                                                         default=Protocol.SAML)
    #: The public part of the IdP's token-signing certificate, base64 DER (Graph's form: no PEM armour).
    signing_certificate = models.TextField(_("signing certificate"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    modified_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("SAML/WS-Fed identity provider")
        verbose_name_plural = _("SAML/WS-Fed identity providers")
        constraints = [models.UniqueConstraint(fields=["tenant", "issuer_uri"], name="ext_domain_fed_issuer")]
        indexes = [models.Index(fields=["tenant", "id"], name="ext_domain_fed_tenant_id")]

    def __str__(self) -> str:
        return self.display_name


class ExternalDomainName(models.Model):
    """One domain whose users sign in at the federation's IdP (Graph ``externalDomainName``, id = the name).
    A domain is federated by at most one configuration per tenant."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    federation = models.ForeignKey(ExternalDomainFederation, on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(_("domain"), max_length=253)  # stored lower-cased
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("federated domain")
        # Names are stored lower-cased, so the plain (tenant, name) index serves the lookups by domain.
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="ext_domain_name_per_tenant")]
        indexes = [models.Index(fields=["federation", "name"], name="ext_domain_name_list")]

    def __str__(self) -> str:
        return self.name
