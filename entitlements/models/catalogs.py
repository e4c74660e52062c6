"""Catalogs, the people who manage them, and the resources (groups, applications) they hold."""

import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory import authz
from directory.models import Application, Group, Tenant, User


class Catalog(models.Model):
    class CatalogType(models.TextChoices):
        USER_MANAGED = "userManaged", _("User managed")
        SERVICE_DEFAULT = "serviceDefault", _("Service default")
        SERVICE_MANAGED = "serviceManaged", _("Service managed")

    class State(models.TextChoices):
        PUBLISHED = "published", _("Enabled")
        UNPUBLISHED = "unpublished", _("Disabled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="catalogs")
    display_name = models.CharField(_("name"), max_length=256)
    description = models.TextField(_("description"), max_length=1024, blank=True)
    catalog_type = models.CharField(_("type"), max_length=16, choices=CatalogType.choices,
                                    default=CatalogType.USER_MANAGED)
    state = models.CharField(_("enabled"), max_length=12, choices=State.choices, default=State.PUBLISHED)
    #: Entra: "Enabled for external users" (new catalogs: yes).
    is_externally_visible = models.BooleanField(_("enabled for external users"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint("tenant", Lower("display_name"), name="catalog_tenant_name_ci_unique",
                                    violation_error_message=_("A catalog with this name already exists.")),
        ]
        indexes = [models.Index(models.F("tenant"), Lower("display_name"), models.F("id"),
                                name="catalog_tenant_name_order_idx")]

    def __str__(self) -> str:
        return self.display_name


class CatalogRoleAssignment(models.Model):
    class CatalogRole(models.TextChoices):
        OWNER = authz.CATALOG_OWNER, _("Catalog owner")
        READER = authz.CATALOG_READER, _("Catalog reader")
        ACCESS_PACKAGE_MANAGER = authz.ACCESS_PACKAGE_MANAGER, _("Access package manager")
        ASSIGNMENT_MANAGER = authz.ACCESS_PACKAGE_ASSIGNMENT_MANAGER, _("Access package assignment manager")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    catalog = models.ForeignKey(Catalog, on_delete=models.CASCADE, related_name="role_assignments")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="catalog_roles")
    role = models.CharField(_("role"), max_length=36, choices=CatalogRole.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint("catalog", "user", "role", name="catalog_role_unique")]
        indexes = [models.Index(fields=["user", "catalog"], name="catalog_role_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.catalog}"


class EntitlementRoleAssignment(models.Model):
    """A tenant-wide entitlement-management role (Graph: a ``unifiedRoleAssignment`` of
    ``roleManagement/entitlementManagement`` with directory scope "/"): Entra's catalog creator."""

    class RoleDefinition(models.TextChoices):
        CATALOG_CREATOR = authz.CATALOG_CREATOR, _("Catalog creator")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="entitlement_roles")
    role = models.CharField(_("role"), max_length=36, choices=RoleDefinition.choices,
                            default=authz.CATALOG_CREATOR)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("catalog creator")
        constraints = [models.UniqueConstraint("user", "role", name="entitlement_role_unique",
                                               violation_error_message=_("This person holds this role already."))]
        indexes = [models.Index(fields=["tenant", "created_at"], name="entitlement_role_tenant_idx")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"


class CatalogResource(models.Model):
    """A group or application in a catalog (Graph's ``accessPackageResource``)."""

    class OriginSystem(models.TextChoices):
        GROUP = "AadGroup", _("Group")
        APPLICATION = "AadApplication", _("Application")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    catalog = models.ForeignKey(Catalog, on_delete=models.CASCADE, related_name="resources")
    origin_system = models.CharField(max_length=16, choices=OriginSystem.choices)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(origin_system="AadGroup", group__isnull=False, application__isnull=True)
                           | Q(origin_system="AadApplication", group__isnull=True, application__isnull=False)),
                name="catalog_resource_one_object"),
            models.UniqueConstraint("catalog", "group", condition=Q(group__isnull=False),
                                    name="catalog_resource_group_unique",
                                    violation_error_message=_("This group is already in the catalog.")),
            models.UniqueConstraint("catalog", "application", condition=Q(application__isnull=False),
                                    name="catalog_resource_app_unique",
                                    violation_error_message=_("This application is already in the catalog.")),
        ]
        indexes = [models.Index(fields=["catalog", "created_at", "id"], name="catalog_resource_list_idx")]

    def __str__(self) -> str:
        return str(self.obj)

    @property
    def obj(self):
        return self.group if self.group_id else self.application

    @property
    def origin_id(self) -> str:
        return str(self.group_id or self.application_id)

    @property
    def display_name(self) -> str:
        return self.obj.display_name


class ResourceRole(models.TextChoices):
    """The roles a resource offers: a group's members or owners, an application's default access."""

    MEMBER = "Member", _("Member")
    OWNER = "Owner", _("Owner")
    DEFAULT_ACCESS = "DefaultAccess", _("Default Access")


def role_origin_id(role: str, resource: CatalogResource) -> str:
    """Graph's resource role ``originId``: ``Member_<groupId>`` / ``Owner_<groupId>``; an application's
    default access is the all-zero app role id, as in Entra."""
    if role == ResourceRole.DEFAULT_ACCESS:
        return "00000000-0000-0000-0000-000000000000"
    return f"{role}_{resource.origin_id}"
