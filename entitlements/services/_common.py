"""What every entitlement management service shares: who may act in a catalog, the audit catalog."""


from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from directory import authz
from directory.actors import Actor, require_actor
from directory.audit import (
    apply_changes,  # noqa: F401  (re-exported for the services)
    register_activities,
    register_target_type,
)

from ..models import (
    AccessPackage,
    Assignment,
    AssignmentPolicy,
    AssignmentRequest,
    Catalog,
    CatalogResource,
    CatalogRoleAssignment,
    ConnectedOrganization,
    EntitlementRoleAssignment,
    EntitlementSettings,
)

CATEGORY = "EntitlementManagement"
register_activities(CATEGORY, {
    "Create access package catalog": "Add", "Update access package catalog": "Update",
    "Delete access package catalog": "Delete", "Add catalog role assignment": "Assign",
    "Remove catalog role assignment": "Unassign",
    "Add entitlement management role assignment": "Assign",
    "Remove entitlement management role assignment": "Unassign", "Add resource to catalog": "Add",
    "Remove resource from catalog": "Delete", "Create access package": "Add", "Update access package": "Update",
    "Delete access package": "Delete", "Add resource role to access package": "Add",
    "Remove resource role from access package": "Delete", "Create access package assignment policy": "Add",
    "Update access package assignment policy": "Update", "Delete access package assignment policy": "Delete",
    "Create connected organization": "Add", "Update connected organization": "Update",
    "Delete connected organization": "Delete", "Create proposed connected organization": "Add",
    "Update entitlement management settings": "Update",
    "Create access package assignment request": "Add", "Cancel access package assignment request": "Update",
    "Approve access package assignment request": "Update", "Deny access package assignment request": "Update",
    "Escalate access package assignment request": "Update",
    "Access package assignment request timed out": "Update",
    "Fulfill access package assignment request": "Update", "Access package assignment request delivery failed": "Update",
    "Reprocess access package assignment request": "Update",
    "Create access package assignment": "Assign", "Update access package assignment": "Update",
    "Remove access package assignment": "Unassign", "Access package assignment expired": "Unassign",
})
for model, graph_type in ((Catalog, "AccessPackageCatalog"), (CatalogResource, "AccessPackageResource"),
                          (AccessPackage, "AccessPackage"), (AssignmentPolicy, "AccessPackageAssignmentPolicy"),
                          (AssignmentRequest, "AccessPackageAssignmentRequest"),
                          (Assignment, "AccessPackageAssignment"), (ConnectedOrganization, "ConnectedOrganization"),
                          (EntitlementSettings, "EntitlementManagementSettings"),
                          (CatalogRoleAssignment, "AccessPackageCatalogRoleAssignment"),
                          (EntitlementRoleAssignment, "UnifiedRoleAssignment")):
    register_target_type(model, graph_type)


def catalog_capabilities(actor: Actor, catalog: Catalog) -> frozenset[str]:
    """What ``actor`` may do in ``catalog`` (:func:`directory.authz.catalog_capabilities`)."""
    require_actor(actor)
    if not actor.acts_in(catalog.tenant_id):
        return frozenset()
    roles: list[str] = []
    user = _role_holder(actor)
    if user is not None:
        roles = list(CatalogRoleAssignment.objects.filter(catalog=catalog, user=user).values_list("role", flat=True))
    return authz.catalog_capabilities(tenant_capabilities=actor.capabilities, catalog_roles=roles)


def _role_holder(actor: Actor):
    """The person whose entitlement-management roles count for ``actor``: an enabled user, through a
    delegated token only when it carries the entitlement scope."""
    user = actor.user
    if user is not None and user.account_enabled and not user.deleted_at and (
            actor.app is None or actor.granted_scopes & {"EntitlementManagement.ReadWrite.All"}):
        return user
    return None


def authorize_catalog_create(actor: Actor, tenant) -> Actor:
    """Refuse unless ``actor`` may create a catalog in ``tenant`` (:func:`directory.authz.may_create_catalog`:
    the tenant-wide write permission, or Entra's catalog creator role there)."""
    try:
        return authorize_tenant(actor, tenant)
    except PermissionDenied:
        user = _role_holder(actor) if actor.acts_in(tenant.pk) else None
        roles = (EntitlementRoleAssignment.objects.filter(user=user, tenant=tenant).values_list("role", flat=True)
                 if user is not None else [])
        if not authz.may_create_catalog(tenant_capabilities=(), entitlement_roles=list(roles)):
            raise PermissionDenied(_("You do not have permission to create catalogs in this organization.")) from None
    return actor.in_tenant(tenant)


def authorize_catalog(actor: Actor, catalog: Catalog, need: str) -> Actor:
    """Refuse unless ``actor`` may do ``need`` (read, catalog, packages, assignments) in ``catalog``."""
    if need not in catalog_capabilities(actor, catalog):
        raise PermissionDenied(_("You do not have permission to do this in this catalog."))
    return actor.in_tenant(catalog.tenant)


def authorize_tenant(actor: Actor, tenant, capability: str = "EntitlementManagement.ReadWrite.All") -> Actor:
    require_actor(actor).require(capability, tenant=tenant)
    return actor.in_tenant(tenant)




def validate_and_save(instance: models.Model, **save) -> None:
    instance.full_clean()
    try:
        with transaction.atomic():
            instance.save(**save)
    except IntegrityError as exc:
        try:
            instance.validate_constraints()
        except ValidationError as precise:
            raise precise from exc
        raise ValidationError(_("This conflicts with an object that was saved at the same time.")) from exc
