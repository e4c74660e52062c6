"""Catalogs, their roles and resources."""

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from directory import authz
from directory.actors import Actor
from directory.audit import Change, Target, audit
from directory.models import Application, Group, Tenant, User

from ..models import Catalog, CatalogResource, CatalogRoleAssignment, EntitlementRoleAssignment, ResourceRoleScope
from ._common import (
    apply_changes,
    authorize_catalog,
    authorize_catalog_create,
    authorize_tenant,
    validate_and_save,
)

CATALOG_FIELDS = {"display_name", "description", "state", "is_externally_visible"}


@transaction.atomic
def catalog_create(*, actor: Actor, tenant: Tenant, display_name: str, **fields: Any) -> Catalog:
    """Create a catalog (tenant-wide administrators and Entra's catalog creators); a person who creates
    one becomes its first owner."""
    actor = authorize_catalog_create(actor, tenant)
    unknown = set(fields) - CATALOG_FIELDS
    if unknown:
        raise ValidationError(_("Unknown catalog properties: %(names)s") % {"names": ", ".join(sorted(unknown))})
    catalog = Catalog(tenant=tenant, display_name=display_name, **fields)
    validate_and_save(catalog)
    audit(tenant=tenant, actor=actor, activity="Create access package catalog", targets=[Target(catalog, [
        Change(name, None, getattr(catalog, name)) for name in ("display_name", "state", "is_externally_visible")])])
    if actor.user is not None:
        CatalogRoleAssignment.objects.create(tenant=tenant, catalog=catalog, user=actor.user,
                                             role=CatalogRoleAssignment.CatalogRole.OWNER)
    return catalog


@transaction.atomic
def catalog_update(*, actor: Actor, catalog: Catalog, changes: dict[str, Any]) -> Catalog:
    actor = authorize_catalog(actor, catalog, "catalog")
    unknown = set(changes) - CATALOG_FIELDS
    if unknown:
        raise ValidationError(_("Unknown catalog properties: %(names)s") % {"names": ", ".join(sorted(unknown))})
    catalog = Catalog.objects.select_for_update().get(pk=catalog.pk)
    applied = apply_changes(catalog, changes)
    if applied:
        validate_and_save(catalog)
        audit(tenant=catalog.tenant, actor=actor, activity="Update access package catalog",
              targets=[Target(catalog, applied)])
    return catalog


@transaction.atomic
def catalog_delete(*, actor: Actor, catalog: Catalog) -> None:
    """Delete an empty catalog (Entra refuses while it holds access packages)."""
    actor = authorize_catalog(actor, catalog, "catalog")
    if catalog.access_packages.exists():
        raise ValidationError(_("Delete the catalog's access packages first."))
    audit(tenant=catalog.tenant, actor=actor, activity="Delete access package catalog", targets=[Target(catalog)])
    catalog.delete()


@transaction.atomic
def catalog_role_add(*, actor: Actor, catalog: Catalog, user: User, role: str) -> CatalogRoleAssignment:
    actor = authorize_catalog(actor, catalog, "catalog")
    if user.tenant_id != catalog.tenant_id:
        raise ValidationError({"user": _("“%(obj)s” is not in this tenant.") % {"obj": user}})
    assignment, created = CatalogRoleAssignment.objects.get_or_create(
        catalog=catalog, user=user, role=role, defaults={"tenant": catalog.tenant})
    if created:
        assignment.full_clean()
        audit(tenant=catalog.tenant, actor=actor, activity="Add catalog role assignment",
              targets=[Target(catalog, [Change("role", None, assignment.get_role_display())]), Target(user)])
    return assignment


@transaction.atomic
def catalog_role_remove(*, actor: Actor, assignment: CatalogRoleAssignment) -> None:
    actor = authorize_catalog(actor, assignment.catalog, "catalog")
    audit(tenant=assignment.catalog.tenant, actor=actor, activity="Remove catalog role assignment",
          targets=[Target(assignment.catalog, [Change("role", assignment.get_role_display(), None)]),
                   Target(assignment.user)])
    assignment.delete()


@transaction.atomic
def catalog_resource_add(*, actor: Actor, catalog: Catalog, obj: Group | Application) -> CatalogResource:
    """Add a group or an application of the catalog's tenant (Graph: an ``adminAdd`` resource request).
    A catalog owner adds only what they may manage themselves (Entra: owners add resources they own)."""
    actor = authorize_catalog(actor, catalog, "catalog")
    if obj.tenant_id != catalog.tenant_id:
        raise ValidationError({"originId": _("The resource is not in this tenant.")})
    is_group = isinstance(obj, Group)
    capability = "GroupMember.ReadWrite.All" if is_group else "AppRoleAssignment.ReadWrite.All"
    if not (actor.can(capability, obj=obj) or actor.can("EntitlementManagement.ReadWrite.All", tenant=catalog.tenant)):
        raise PermissionDenied(_("You may add only groups and applications you manage."))
    existing = CatalogResource.objects.filter(catalog=catalog, **({"group": obj} if is_group else {"application": obj}))
    if existing.exists():
        return existing.get()
    resource = CatalogResource(
        tenant=catalog.tenant, catalog=catalog,
        origin_system=CatalogResource.OriginSystem.GROUP if is_group else CatalogResource.OriginSystem.APPLICATION,
        group=obj if is_group else None, application=None if is_group else obj)
    validate_and_save(resource)
    audit(tenant=catalog.tenant, actor=actor, activity="Add resource to catalog",
          targets=[Target(catalog), Target(obj, [Change("catalog", None, catalog.display_name)])])
    return resource


@transaction.atomic
def catalog_resource_remove(*, actor: Actor, resource: CatalogResource) -> None:
    """Remove a resource no access package grants (Graph: an ``adminRemove`` resource request)."""
    actor = authorize_catalog(actor, resource.catalog, "catalog")
    if ResourceRoleScope.objects.filter(resource=resource).exists():
        raise ValidationError(_("An access package grants a role of this resource; remove it from the package first."))
    audit(tenant=resource.catalog.tenant, actor=actor, activity="Remove resource from catalog",
          targets=[Target(resource.catalog), Target(resource.obj, [Change("catalog", resource.catalog.display_name, None)])])
    resource.delete()


# --- Entra's catalog creators (a tenant-wide entitlement-management role) ----------------------------


def catalog_creator_validate(*, tenant: Tenant, user: User) -> None:
    """Who may be a catalog creator in ``tenant``: a member of it, not deleted (the console's form asks
    this before it saves, so a refusal is a message on the page)."""
    if user.tenant_id != tenant.pk or user.deleted_at is not None:
        raise ValidationError({"user": _("“%(obj)s” is not in this tenant.") % {"obj": user}})
    if user.is_guest:
        raise ValidationError({"user": _("Catalog creators are members of the organization, not guests.")})


@transaction.atomic
def catalog_creator_add(*, actor: Actor, tenant: Tenant, user: User) -> EntitlementRoleAssignment:
    """Let a member of ``tenant`` create catalogs (Entra: Identity Governance → Settings → Roles →
    Catalog creators); tenant-wide administrators decide."""
    actor = authorize_tenant(actor, tenant)
    catalog_creator_validate(tenant=tenant, user=user)
    assignment, created = EntitlementRoleAssignment.objects.get_or_create(user=user, role=authz.CATALOG_CREATOR,
                                                                         defaults={"tenant": tenant})
    if created:
        audit(tenant=tenant, actor=actor, activity="Add entitlement management role assignment",
              targets=[Target(user, [Change("role", None, str(assignment.get_role_display()))])])
    return assignment


@transaction.atomic
def catalog_creator_remove(*, actor: Actor, assignment: EntitlementRoleAssignment) -> None:
    """Take the role away; the catalogs the person created stay, and so does their ownership of them."""
    actor = authorize_tenant(actor, assignment.tenant)
    audit(tenant=assignment.tenant, actor=actor, activity="Remove entitlement management role assignment",
          targets=[Target(assignment.user, [Change("role", assignment.get_role_display(), None)])])
    assignment.delete()
