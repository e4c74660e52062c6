"""API clients (OAuth app registrations)."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import TenantOwnedQuerySet
from .tenants import Tenant


class AppRegistration(models.Model):
    """An API client of one tenant: an OAuth client (allauth's IdP) plus the Graph application
    permissions an admin granted it. Its secret is stored hashed and expires."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="app_registrations")
    client = models.OneToOneField("allauth_idp_oidc.Client", on_delete=models.CASCADE, related_name="app_registration")
    display_name = models.CharField(_("name"), max_length=256)
    application_permissions = models.JSONField(_("application permissions"), default=list, blank=True)
    delegated_permissions = models.JSONField(_("delegated permissions"), default=list, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    secret_expires_at = models.DateTimeField(_("secret expires"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["display_name", "id"]
        verbose_name = _("app registration")

    def __str__(self) -> str:
        return self.display_name

    @property
    def secret_expired(self) -> bool:
        return self.secret_expires_at is not None and self.secret_expires_at <= timezone.now()
