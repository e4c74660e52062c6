"""Groups, enterprise applications and their assignments."""

import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..validators import validate_logo_size, validate_mail_nickname, validate_visible_name
from .base import TenantOwnedQuerySet
from .people import User
from .tenants import Tenant


class Group(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="groups")
    display_name = models.CharField(_("name"), max_length=256, validators=[validate_visible_name])
    description = models.TextField(_("description"), max_length=1024, blank=True)
    #: Graph's mailNickname (required on create; security groups have no mailbox, so it is only a name).
    mail_nickname = models.CharField(_("mail nickname"), max_length=64, blank=True, validators=[validate_mail_nickname])
    members_can_join = models.BooleanField(
        _("members may join themselves"), default=False,
        help_text=_("People of this tenant may add themselves from the access panel."),
    )
    join_requires_approval = models.BooleanField(
        _("joining needs an owner's approval"), default=False,
        help_text=_("With “members may join”: a request that an owner approves or denies in the access panel."),
    )
    owners = models.ManyToManyField(User, related_name="owned_groups", blank=True, verbose_name=_("owners"))
    members = models.ManyToManyField(User, related_name="member_of", blank=True, verbose_name=_("members"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)  # the watermark of /groups/delta

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["display_name", "id"]
        # Names are not unique, as in Graph (two groups may share one; their ids tell them apart).
        indexes = [
            models.Index(fields=["tenant", "updated_at", "id"], name="group_tenant_changed_idx"),  # /groups/delta
            # Graph lists: ORDER BY lower(display_name), id with keyset paging (directory/api/odata.py)
            models.Index(models.F("tenant"), Lower("display_name"), models.F("id"), name="group_tenant_name_order_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name


class Application(models.Model):
    """An enterprise application (Graph's ``servicePrincipal``) that the access panel launches."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    app_id = models.UUIDField(_("application id"), default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="applications")
    display_name = models.CharField(_("name"), max_length=256)
    description = models.TextField(_("description"), max_length=1024, blank=True)
    launch_url = models.URLField(_("launch URL"), max_length=500, blank=True)
    logo = models.ImageField(_("logo"), upload_to="apps/", blank=True, validators=[validate_logo_size])
    owners = models.ManyToManyField(User, related_name="owned_applications", blank=True, verbose_name=_("owners"))
    assignment_required = models.BooleanField(
        _("assignment required"), default=True,
        help_text=_("Only assigned users and groups may open it."),
    )
    visible_to_users = models.BooleanField(_("shown in the access panel"), default=True)
    # Entra's "self-service" tab of an enterprise application (docs/self-service.md).
    self_service_enabled = models.BooleanField(_("people may request access in the access panel"), default=False)
    self_service_group = models.ForeignKey(
        Group, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("group to add people to"),
        help_text=_("Empty: people are assigned to the application directly."))
    self_service_requires_approval = models.BooleanField(_("require approval before granting access"),
                                                         default=True)
    self_service_approvers = models.ManyToManyField(
        User, related_name="approves_access_to", blank=True, verbose_name=_("approvers"),
        help_text=_("Up to 10 people; any one of them decides. Empty: the application's owners."))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint(
                "tenant", Lower("display_name"), name="application_tenant_name_ci_unique",
                violation_error_message=_("An application with this name already exists in this tenant."),
            )
        ]

    def __str__(self) -> str:
        return self.display_name


class AppRoleAssignment(models.Model):
    """An application assigned to a user or to a group (Graph's ``appRoleAssignment``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="app_assignments")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="app_assignments")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True, related_name="app_assignments")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True) | Q(user__isnull=True, group__isnull=False),
                name="app_assignment_one_principal",
                violation_error_message=_("Assign the application to a user or to a group, not both."),
            ),
            models.UniqueConstraint(
                "application", "user", condition=Q(user__isnull=False), name="app_assignment_user_unique",
                violation_error_message=_("This user is already assigned to the application."),
            ),
            models.UniqueConstraint(
                "application", "group", condition=Q(group__isnull=False), name="app_assignment_group_unique",
                violation_error_message=_("This group is already assigned to the application."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} → {self.user or self.group}"


class ManagedAccess(models.Model):
    """A group membership, group ownership or app assignment held *only* for a provisioning source
    (entitlement management's access packages), not directly.

    The membership and assignment rows stay what they are (Graph reads them as always); this row says
    who may take the access away again: the source removes access only while its row exists. Adding
    the same access directly (``group_member_add``, ``app_assignment_create`` without ``managed``)
    deletes the row, so a membership added by an admin after delivery survives the package's expiry;
    removing the access deletes it too."""

    class Kind(models.TextChoices):
        MEMBER = "member", _("Group member")
        OWNER = "owner", _("Group owner")
        APP = "app", _("App role assignment")

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind__in=["member", "owner"], group__isnull=False, application__isnull=True)
                           | Q(kind="app", group__isnull=True, application__isnull=False)),
                name="managed_access_one_object"),
            models.UniqueConstraint("group", "user", "kind", condition=Q(group__isnull=False),
                                    name="managed_access_group_unique"),
            models.UniqueConstraint("application", "user", condition=Q(application__isnull=False),
                                    name="managed_access_app_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} · {self.group_id or self.application_id} → {self.user_id}"

    @classmethod
    def of(cls, kind: str, obj, user) -> models.QuerySet:
        """The row (as a queryset) for ``user``'s ``kind`` access to ``obj`` (a group or an application)."""
        field = "application" if kind == cls.Kind.APP else "group"
        return cls.objects.filter(kind=kind, user=user, **{field: obj})
