"""A Tailwind tenant with a catalog, a package granting a group and an app, and helpers to move time."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from directory.actors import Actor
from directory.models import Application, Group, Tenant, User
from entitlements import services
from entitlements.models import AccessPackage, AssignmentPolicy, Catalog, CatalogResource
from tests.factories import ApplicationFactory, GroupFactory, TenantFactory, UserFactory, admin_of

T = AssignmentPolicy.TargetScope


def single(user: User) -> dict:
    return {"@odata.type": "#microsoft.graph.singleUser", "userId": str(user.pk)}


@dataclass
class Setup:
    tenant: Tenant
    admin: User
    admin_actor: Actor
    catalog: Catalog
    group: Group
    app: Application
    package: AccessPackage
    group_resource: CatalogResource
    app_resource: CatalogResource

    def policy(self, **fields) -> AssignmentPolicy:
        fields.setdefault("display_name", "Policy")
        fields.setdefault("allowed_target_scope", T.ALL_MEMBER_USERS)
        fields.setdefault("expiration_type", AssignmentPolicy.ExpirationType.AFTER_DURATION)
        fields.setdefault("expiration_duration", timedelta(days=30))
        return services.policy_create(actor=self.admin_actor, package=self.package, **fields)

    def stage(self, approvers, *, escalation=(), deny_days=7, escalate_days=None, justification=False) -> dict:
        stage = {"primary_approvers": [single(u) for u in approvers],
                 "duration_before_automatic_denial": timedelta(days=deny_days),
                 "is_approver_justification_required": justification}
        if escalation:
            stage.update(is_escalation_enabled=True, duration_before_escalation=timedelta(days=escalate_days or 1),
                         escalation_approvers=[single(u) for u in escalation])
        return stage


def tailwind(*, slug: str = "tailwind") -> Setup:
    tenant = TenantFactory(name="Tailwind Traders", slug=slug, initial_domain=f"{slug}.example")
    admin = admin_of(tenant)
    actor = Actor.for_user(admin)
    group = GroupFactory(tenant=tenant, display_name="Marketing partners")
    app = ApplicationFactory(tenant=tenant, display_name="Campaign planner")
    catalog = services.catalog_create(actor=actor, tenant=tenant, display_name="Marketing")
    group_resource = services.catalog_resource_add(actor=actor, catalog=catalog, obj=group)
    app_resource = services.catalog_resource_add(actor=actor, catalog=catalog, obj=app)
    package = services.package_create(actor=actor, catalog=catalog, display_name="Campaign collaboration")
    services.role_scope_add(actor=actor, package=package, resource=group_resource, role="Member")
    services.role_scope_add(actor=actor, package=package, resource=app_resource, role="DefaultAccess")
    return Setup(tenant, admin, actor, catalog, group, app, package, group_resource, app_resource)


def member(setup: Setup, **fields) -> User:
    return UserFactory(tenant=setup.tenant, **fields)


def system() -> Actor:
    return Actor.system(None, "tests")


def later(**delta):
    return timezone.now() + timedelta(**delta)
