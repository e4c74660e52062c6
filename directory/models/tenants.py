"""Tenants, their domains and their branding."""

import uuid

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..domain_proof import new_verification_token, txt_record_value
from ..validators import validate_domain_name, validate_hex_colour, validate_logo_size
from .base import TenantOwnedQuerySet


class Tenant(models.Model):
    class Configuration(models.TextChoices):
        WORKFORCE = "workforce", _("Workforce")
        EXTERNAL = "external", _("External")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=256)
    slug = models.SlugField(
        _("short name"), max_length=63, unique=True, help_text=_("Used in the tenant's web addresses: /t/<short name>/")
    )
    initial_domain = models.CharField(
        _("initial domain"), max_length=253, unique=True, validators=[validate_domain_name]
    )
    configuration = models.CharField(
        _("configuration"), max_length=16, choices=Configuration.choices, default=Configuration.WORKFORCE
    )
    privacy_statement_url = models.URLField(_("privacy statement URL"), blank=True, max_length=500)
    # Groups > General (Entra). Graph has the second in authorizationPolicy.defaultUserRolePermissions; the
    # other two have no Graph shape (docs/self-service.md).
    groups_self_service_enabled = models.BooleanField(
        _("self-service group management in the access panel"), default=True,
        help_text=_("Off: people see no My groups page (the Graph API is not affected)."))
    # False, as this deployment reported before the setting existed (Entra's own default is True).
    members_can_create_security_groups = models.BooleanField(
        _("members may create security groups"), default=False,
        help_text=_("Graph: authorizationPolicy.defaultUserRolePermissions.allowedToCreateSecurityGroups."))
    owners_manage_join_requests = models.BooleanField(
        _("owners manage group membership requests in the access panel"), default=False,
        help_text=_("On: people may ask to join groups that need an owner's approval, and the owners decide."))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("initial_domain"), name="tenant_initial_domain_ci_unique")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.initial_domain = (self.initial_domain or "").strip().lower()
        super().save(*args, **kwargs)


class Domain(models.Model):
    """A custom domain of a tenant. Verified domains are how guests from this tenant are recognised.

    A domain is verified only by proof of control (a DNS TXT record carrying ``verification_token``,
    see :mod:`directory.domain_proof`) or by the platform operator. Several tenants may have added the
    same unverified domain (it grants nothing); only one may hold it verified.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(_("domain"), max_length=253, validators=[validate_domain_name])
    is_verified = models.BooleanField(_("verified"), default=False)
    verification_token = models.CharField(
        _("verification token"), max_length=64, default=new_verification_token, editable=False)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="domain_tenant_name_ci_unique"),
            models.UniqueConstraint(
                Lower("name"), condition=models.Q(is_verified=True), name="domain_verified_name_ci_unique",
                violation_error_message=_("Another organization has already verified this domain."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name = (self.name or "").strip().lower()
        super().save(*args, **kwargs)

    @property
    def txt_record(self) -> str:
        """The TXT record value that proves control of this domain for this tenant."""
        return txt_record_value(self.verification_token)


class Branding(models.Model):
    """Company branding for one locale ('' is the default that applies to every locale)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="brandings")
    locale = models.CharField(_("locale"), max_length=10, blank=True, help_text=_("Empty for the default."))
    banner_logo = models.ImageField(
        _("banner logo"), upload_to="branding/", blank=True, validators=[validate_logo_size]
    )
    background_color = models.CharField(
        _("background colour"), max_length=7, blank=True, validators=[validate_hex_colour]
    )
    accent_color = models.CharField(_("accent colour"), max_length=7, blank=True, validators=[validate_hex_colour])
    sign_in_page_text = models.TextField(_("sign-in page text"), max_length=1024, blank=True)
    username_hint_text = models.CharField(_("username hint"), max_length=64, blank=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        verbose_name_plural = _("branding")
        constraints = [models.UniqueConstraint("tenant", "locale", name="branding_tenant_locale_unique")]

    def __str__(self) -> str:
        return f"{self.tenant} ({self.locale or 'default'})"
