"""Conditional access policies and named locations, stored in Graph's shape.

A policy's ``conditions``, ``grant_controls`` and ``session_controls`` are kept as the JSON Graph
sends and returns (``conditionalAccessPolicy``), normalized and checked by
:mod:`policies.conditional_access` before any service saves them: one representation for the API, the
admin console and the evaluator, and nothing lost in a round trip.
"""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Tenant

#: Entra: at most 195 conditional access policies and 195 named locations per tenant.
MAX_POLICIES_PER_TENANT = 195
MAX_NAMED_LOCATIONS_PER_TENANT = 195
MAX_IP_RANGES_PER_LOCATION = 2000


class ConditionalAccessPolicy(models.Model):
    class State(models.TextChoices):
        ENABLED = "enabled", _("On")
        DISABLED = "disabled", _("Off")
        REPORT_ONLY = "enabledForReportingButNotEnforced", _("Report-only")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="conditional_access_policies")
    display_name = models.CharField(_("name"), max_length=256)
    state = models.CharField(_("enable policy"), max_length=40, choices=State.choices, default=State.REPORT_ONLY)
    conditions = models.JSONField(_("conditions"), default=dict)
    grant_controls = models.JSONField(_("grant controls"), null=True, blank=True)
    session_controls = models.JSONField(_("session controls"), null=True, blank=True)
    template_id = models.CharField(max_length=36, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    modified_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("conditional access policy")
        verbose_name_plural = _("conditional access policies")
        indexes = [models.Index(fields=["tenant", "id"], name="ca_policy_tenant_id")]

    def __str__(self) -> str:
        return self.display_name


class NamedLocation(models.Model):
    """Graph's ``ipNamedLocation`` (``kind`` ip) or ``countryNamedLocation`` (``kind`` country)."""

    class Kind(models.TextChoices):
        IP = "ip", _("IP ranges location")
        COUNTRY = "country", _("Countries location")

    class CountryLookupMethod(models.TextChoices):
        CLIENT_IP = "clientIpAddress", _("Determine location by IP address")
        # Graph's authenticatorAppGps needs the Authenticator app's GPS: not available here.

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="named_locations")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    display_name = models.CharField(_("name"), max_length=256)
    # ip
    is_trusted = models.BooleanField(_("mark as trusted location"), default=False)
    ip_ranges = models.JSONField(_("IP ranges"), default=list, blank=True)  # ["10.0.0.0/8", "2001:db8::/32"]
    # country
    countries_and_regions = models.JSONField(_("countries/regions"), default=list, blank=True)  # ISO 3166-1 alpha-2
    include_unknown_countries_and_regions = models.BooleanField(_("include unknown countries/regions"),
                                                                default=False)
    country_lookup_method = models.CharField(max_length=20, choices=CountryLookupMethod.choices,
                                             default=CountryLookupMethod.CLIENT_IP)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    modified_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("named location")
        verbose_name_plural = _("named locations")
        indexes = [models.Index(fields=["tenant", "id"], name="named_location_tenant_id")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def odata_type(self) -> str:
        return "#microsoft.graph.ipNamedLocation" if self.kind == self.Kind.IP else "#microsoft.graph.countryNamedLocation"
