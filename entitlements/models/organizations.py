"""Connected organizations and the tenant's entitlement management settings."""

import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Tenant, User


class ConnectedOrganization(models.Model):
    class State(models.TextChoices):
        CONFIGURED = "configured", _("Configured")
        PROPOSED = "proposed", _("Proposed")

    class SourceType(models.TextChoices):
        TENANT = "azureActiveDirectoryTenant", _("A tenant")
        DOMAIN = "domainIdentitySource", _("A domain")
        FEDERATION = "externalDomainFederation", _("A federated domain")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connected_organizations")
    display_name = models.CharField(_("name"), max_length=256)
    description = models.TextField(_("description"), max_length=1024, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.CONFIGURED)
    source_type = models.CharField(max_length=32, choices=SourceType.choices)
    #: A tenant on this platform (``source_tenant``) (its id in ``external_tenant_id`` too) or elsewhere (only the id).
    source_tenant = models.ForeignKey(Tenant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    external_tenant_id = models.UUIDField(null=True, blank=True)
    domain_name = models.CharField(_("domain"), max_length=253, blank=True)
    issuer_uri = models.URLField(max_length=500, blank=True)
    internal_sponsors = models.ManyToManyField(User, blank=True, related_name="+")
    external_sponsors = models.ManyToManyField(User, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            # "A policy for all external users creates a proposed organization per new domain": once.
            models.UniqueConstraint("tenant", Lower("domain_name"), condition=~Q(domain_name=""),
                                    name="connected_org_domain_unique",
                                    violation_error_message=_("An organization for this domain exists already.")),
            models.UniqueConstraint("tenant", "external_tenant_id", condition=Q(external_tenant_id__isnull=False),
                                    name="connected_org_tenant_unique",
                                    violation_error_message=_("An organization for this tenant exists already.")),
        ]
        indexes = [models.Index(models.F("tenant"), Lower("display_name"), models.F("id"),
                                name="connected_org_name_idx")]

    def __str__(self) -> str:
        return self.display_name


class EntitlementSettings(models.Model):
    """Graph's ``entitlementManagementSettings``: stored now; the external-user lifecycle applies it
    (the access reviews issue)."""

    class LifecycleAction(models.TextChoices):
        NONE = "none", _("None")
        BLOCK_SIGN_IN = "blockSignIn", _("Block sign-in")
        BLOCK_SIGN_IN_AND_DELETE = "blockSignInAndDelete", _("Block sign-in, then remove")

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, primary_key=True,
                                  related_name="entitlement_settings")
    external_user_lifecycle_action = models.CharField(max_length=24, choices=LifecycleAction.choices,
                                                      default=LifecycleAction.BLOCK_SIGN_IN_AND_DELETE)
    duration_until_external_user_deleted_after_blocked = models.DurationField(default=timezone.timedelta(days=30))

    class Meta:
        verbose_name_plural = _("entitlement settings")

    def __str__(self) -> str:
        return str(self.tenant)
