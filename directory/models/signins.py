"""The sign-in log (Graph's ``signIn``): one row per interactive sign-in, tenant or app entry, and token
issuance, with each conditional access policy's result. Written, never changed."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import TenantOwnedQuerySet
from .objects import Application
from .people import Account, User
from .tenants import Tenant


class SignInEvent(models.Model):
    class Result(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILURE = "failure", _("Failure")
        #: Graph shows these as failures with error code 50074/50158 ("strong authentication required" /
        #: "external security challenge not satisfied"): the person was sent to meet a requirement.
        INTERRUPTED = "interrupted", _("Interrupted")

    class Resource(models.TextChoices):
        PANEL = "panel", _("Access panel")
        APP = "app", _("Application")
        CONSOLE = "console", _("Admin console")
        REGISTER_SECURITY_INFO = "registerSecurityInfo", _("Register security info")
        TOKEN = "token", _("Token")

    class ConditionalAccessStatus(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILURE = "failure", _("Failure")
        NOT_APPLIED = "notApplied", _("Not applied")

    #: Graph's status.errorCode per result (0 = success; Entra's AADSTS numbers).
    ERROR_CODES = {Result.SUCCESS: 0, Result.FAILURE: 53003, Result.INTERRUPTED: 50074}

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(_("date"), default=timezone.now)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sign_in_events",
                               help_text=_("The resource tenant: where the person signed in to."))
    home_tenant = models.ForeignKey(Tenant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="sign_in_events")
    account = models.ForeignKey(Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    user_principal_name = models.CharField(_("user"), max_length=256, blank=True)
    user_display_name = models.CharField(_("user name"), max_length=256, blank=True)
    application = models.ForeignKey(Application, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    app_display_name = models.CharField(_("application"), max_length=256, blank=True)
    resource = models.CharField(_("resource"), max_length=24, choices=Resource.choices, default=Resource.PANEL)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    country = models.CharField(_("country"), max_length=16, blank=True,
                               help_text=_("ISO code, or empty when no evaluator told it."))
    client_app_used = models.CharField(_("client app"), max_length=32, default="browser")
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    is_interactive = models.BooleanField(_("interactive"), default=True)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices)
    error_code = models.IntegerField(_("error code"), default=0)
    failure_reason = models.CharField(_("failure reason"), max_length=512, blank=True)
    authentication_methods = models.JSONField(_("authentication methods"), default=list, blank=True)
    authentication_requirement = models.CharField(max_length=40, default="singleFactorAuthentication")
    conditional_access_status = models.CharField(
        _("conditional access"), max_length=16, choices=ConditionalAccessStatus.choices,
        default=ConditionalAccessStatus.NOT_APPLIED)
    applied_policies = models.JSONField(_("conditional access policies"), default=list, blank=True)
    correlation_id = models.UUIDField(default=uuid.uuid4)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            # the admin list and /auditLogs/signIns: newest first, keyset on (created_at desc, id) as odata orders
            models.Index(fields=["tenant", "-created_at", "id"], name="signin_tenant_time_idx"),
            models.Index(fields=["tenant", "user", "-created_at"], name="signin_tenant_user_idx"),
            models.Index(fields=["tenant", "result", "-created_at"], name="signin_tenant_result_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_principal_name or '?'} → {self.get_resource_display()} ({self.result})"
