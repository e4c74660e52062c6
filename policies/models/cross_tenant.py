"""Cross-tenant access settings (Graph ``crossTenantAccessPolicy``): a default per tenant and one entry per
partner organization, on this platform or on another deployment.

Settings are stored in Graph's own shapes (``crossTenantAccessPolicyB2BSetting``, ``inboundTrust``, …), so
the API returns them as they are and the evaluator reads one vocabulary. A partner's property left null is
"inherited from default", as in Entra.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Tenant

ALL_USERS = "AllUsers"
ALL_APPLICATIONS = "AllApplications"


def b2b_setting(access_type: str = "allowed") -> dict:
    """A ``crossTenantAccessPolicyB2BSetting`` that allows (or blocks) all users for all applications."""
    return {
        "usersAndGroups": {"accessType": access_type, "targets": [{"target": ALL_USERS, "targetType": "user"}]},
        "applications": {"accessType": access_type,
                         "targets": [{"target": ALL_APPLICATIONS, "targetType": "application"}]},
    }


def default_b2b_collaboration() -> dict:
    return b2b_setting("allowed")


def default_b2b_direct_connect() -> dict:
    return b2b_setting("blocked")


def default_inbound_trust() -> dict:
    return {"isMfaAccepted": False, "isCompliantDeviceAccepted": False, "isHybridAzureADJoinedDeviceAccepted": False}


def default_automatic_user_consent() -> dict:
    return {"inboundAllowed": False, "outboundAllowed": False}


#: Entra's redemption order (graph-and-entra.md §2): a home tenant (here or on a federated deployment),
#: then a domain-matched SAML/OIDC IdP, then Google/Microsoft; the fallback the tenant's configured one.
IDENTITY_PROVIDER_TYPES = ("azureActiveDirectory", "externalFederation", "socialIdentityProviders",
                           "emailOneTimePasscode", "microsoftAccount", "defaultConfiguredIdp")
PRIMARY_PROVIDER_TYPES = ("azureActiveDirectory", "externalFederation", "socialIdentityProviders")
FALLBACK_PROVIDER_TYPES = ("defaultConfiguredIdp", "emailOneTimePasscode", "microsoftAccount")


def default_redemption_configuration() -> dict:
    return {"primaryIdentityProviderPrecedenceOrder": list(PRIMARY_PROVIDER_TYPES),
            "fallbackIdentityProvider": "defaultConfiguredIdp"}


class CrossTenantAccessDefault(models.Model):
    """``crossTenantAccessPolicyConfigurationDefault``: what applies to every external organization that has
    no settings of its own. Every tenant has one from its creation on (Entra's service defaults)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="cross_tenant_access_default")
    b2b_collaboration_inbound = models.JSONField(default=default_b2b_collaboration)
    b2b_collaboration_outbound = models.JSONField(default=default_b2b_collaboration)
    b2b_direct_connect_inbound = models.JSONField(default=default_b2b_direct_connect)
    b2b_direct_connect_outbound = models.JSONField(default=default_b2b_direct_connect)
    inbound_trust = models.JSONField(default=default_inbound_trust)
    automatic_user_consent_settings = models.JSONField(default=default_automatic_user_consent)
    invitation_redemption_identity_provider_configuration = models.JSONField(
        default=default_redemption_configuration)
    is_service_default = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("cross-tenant access: default settings")
        verbose_name_plural = _("cross-tenant access: default settings")

    def __str__(self) -> str:
        return str(self.tenant)


class CrossTenantAccessPartner(models.Model):
    """``crossTenantAccessPolicyConfigurationPartner``: one external organization's settings. The partner is
    a tenant on this platform (``issuer`` empty, ``partner_tenant_id`` its id) or a tenant on another
    deployment (that deployment's OIDC issuer and the tenant id its ID tokens carry)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="cross_tenant_access_partners")
    partner_tenant_id = models.UUIDField(_("tenant ID"))
    issuer = models.URLField(_("issuer"), max_length=500, blank=True,
                             help_text=_("Empty for a tenant on this platform; another deployment's issuer."))
    b2b_collaboration_inbound = models.JSONField(null=True, blank=True)  # null: inherited from default
    b2b_collaboration_outbound = models.JSONField(null=True, blank=True)
    b2b_direct_connect_inbound = models.JSONField(null=True, blank=True)
    b2b_direct_connect_outbound = models.JSONField(null=True, blank=True)
    inbound_trust = models.JSONField(null=True, blank=True)
    automatic_user_consent_settings = models.JSONField(default=default_automatic_user_consent)
    is_service_provider = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("cross-tenant access: organizational settings")
        verbose_name_plural = _("cross-tenant access: organizational settings")
        constraints = [models.UniqueConstraint(fields=["tenant", "issuer", "partner_tenant_id"],
                                               name="cross_tenant_partner_unique")]
        # The enforcer's lookup (tenant, issuer, partner id) is the unique index; the list orders by id.
        indexes = [models.Index(fields=["tenant", "partner_tenant_id"], name="xt_partner_tenant_idx")]

    def __str__(self) -> str:
        return f"{self.tenant}: {self.partner_tenant_id}"
