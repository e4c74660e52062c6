"""Requests to join a group or to get an application (self-service access), decided by people.

One model and one service family (``directory/services/requests.py``) for both: an application's
self-service access adds the requester to the app's group (or assigns the app), a group join request
adds the requester to the group; approvers are the group's owners or the application's approvers.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import TenantOwnedQuerySet
from .objects import Application, Group
from .people import User
from .tenants import Tenant


class SelfServiceRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pendingApproval", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        DENIED = "denied", _("Denied")
        CANCELED = "canceled", _("Withdrawn")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="self_service_requests")
    requester = models.ForeignKey(User, on_delete=models.CASCADE, related_name="self_service_requests")
    #: A group join request: the group. An app request: the app (and its group, if it has one, at request time).
    group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True, related_name="self_service_requests")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="self_service_requests")
    justification = models.TextField(_("business justification"), max_length=1024, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decision_note = models.TextField(_("note"), max_length=1024, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(group__isnull=False) | Q(application__isnull=False),
                                   name="self_service_request_has_target"),
            # One open request per person and thing asked for (a second click finds the first).
            models.UniqueConstraint("requester", "group", condition=Q(status="pendingApproval", application=None),
                                    name="self_service_request_one_pending_group"),
            models.UniqueConstraint("requester", "application", condition=Q(status="pendingApproval"),
                                    name="self_service_request_one_pending_app"),
        ]
        indexes = [
            # the approvers' lists: pending requests of groups / apps, oldest first
            models.Index(fields=["group", "status", "created_at"], name="self_service_request_group_idx"),
            models.Index(fields=["application", "status", "created_at"], name="self_service_request_app_idx"),
            # the admin console's list: a tenant's requests by status, oldest first (directory/admin/requests.py)
            models.Index(fields=["tenant", "status", "created_at", "id"], name="self_service_req_tenant_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.requester} → {self.application or self.group}"

    @property
    def target(self):
        return self.application or self.group
