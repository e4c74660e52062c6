"""Scoped reads of entitlement management, shared by the API, the admin console and the panel.

Administrators (``EntitlementManagement.Read.All`` in the tenant) see everything of their tenant;
catalog role holders see their catalogs and what is in them; everyone else sees nothing here (their
own requests and assignments come from the ``my_…`` selectors). Missing and other-tenant look alike.
"""

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from directory import authz
from directory.actors import Actor
from directory.models import Account, Tenant, User

from .evaluators import PackageFacts, Requestor, applicable_policies
from .models import (
    AccessPackage,
    AccessReviewDecision,
    AccessReviewDefinition,
    AccessReviewInstance,
    AccessReviewReviewer,
    Assignment,
    AssignmentPolicy,
    AssignmentRequest,
    Catalog,
    CatalogResource,
    CatalogRoleAssignment,
    ConnectedOrganization,
    EntitlementRoleAssignment,
    StageApprover,
)


def _catalog_filter(actor: Actor, prefix: str = "") -> Q | None:
    """None: everything in the actor's tenant; else the catalogs the actor holds a role in."""
    if actor.tenant is None:
        return Q(pk__in=[])
    if actor.can("EntitlementManagement.Read.All", tenant=actor.tenant):
        return None
    if actor.user is None or (actor.app is not None
                              and not actor.granted_scopes & {"EntitlementManagement.Read.All",
                                                             "EntitlementManagement.ReadWrite.All"}):
        return Q(pk__in=[])
    return Q(**{f"{prefix}role_assignments__user": actor.user})


def entitlement_roles_visible_to(actor: Actor) -> QuerySet:
    """The tenant's catalog creators, for those who read entitlement management tenant-wide."""
    if actor.tenant is None or not actor.can("EntitlementManagement.Read.All", tenant=actor.tenant):
        return EntitlementRoleAssignment.objects.none()
    return EntitlementRoleAssignment.objects.filter(tenant=actor.tenant)


def acts_through_catalog_roles(actor: Actor, *, write: bool) -> bool:
    """Does ``actor``, without the tenant-wide permission, act in entitlement management through a catalog
    role or as a catalog creator (a person holding one in the tenant; through a delegated token only with
    the entitlement scope, ReadWrite for writes)? What each role may do is the services'
    (``authz.CATALOG_ROLE_CAPABILITIES``, ``authz.may_create_catalog``)."""
    user = actor.user
    if actor.tenant is None or user is None or not user.account_enabled or user.deleted_at is not None:
        return False
    wanted = {"EntitlementManagement.ReadWrite.All"} if write else {"EntitlementManagement.Read.All",
                                                                    "EntitlementManagement.ReadWrite.All"}
    if actor.app is not None and not actor.granted_scopes & wanted:
        return False
    return (CatalogRoleAssignment.objects.filter(user=user, catalog__tenant=actor.tenant).exists()
            or EntitlementRoleAssignment.objects.filter(user=user, tenant=actor.tenant).exists())


def _scoped(qs: QuerySet, actor: Actor, prefix: str) -> QuerySet:
    if actor.tenant is None:
        return qs.none()
    qs = qs.filter(tenant=actor.tenant)
    condition = _catalog_filter(actor, prefix)
    if condition is None:
        return qs
    if condition == Q(pk__in=[]):
        return qs.none()
    return qs.filter(condition).distinct()


def catalogs_visible_to(actor: Actor) -> QuerySet[Catalog]:
    return _scoped(Catalog.objects.all(), actor, "")


def packages_visible_to(actor: Actor) -> QuerySet[AccessPackage]:
    return _scoped(AccessPackage.objects.select_related("catalog"), actor, "catalog__")


def resources_visible_to(actor: Actor) -> QuerySet[CatalogResource]:
    return _scoped(CatalogResource.objects.select_related("group", "application", "catalog"), actor, "catalog__")


def policies_visible_to(actor: Actor) -> QuerySet[AssignmentPolicy]:
    return _scoped(AssignmentPolicy.objects.select_related("package__catalog"), actor, "package__catalog__")


def requests_visible_to(actor: Actor) -> QuerySet[AssignmentRequest]:
    return _scoped(AssignmentRequest.objects.select_related("package", "target", "policy"), actor,
                   "package__catalog__")


def assignments_visible_to(actor: Actor) -> QuerySet[Assignment]:
    return _scoped(Assignment.objects.select_related("package", "target", "policy"), actor, "package__catalog__")


def connected_organizations_visible_to(actor: Actor) -> QuerySet[ConnectedOrganization]:
    if actor.tenant is None or not actor.can("EntitlementManagement.Read.All", tenant=actor.tenant):
        return ConnectedOrganization.objects.none()
    return ConnectedOrganization.objects.filter(tenant=actor.tenant)


def _get(queryset: QuerySet, object_id):
    try:
        return queryset.get(pk=object_id)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such object.")) from None
    except Exception as exc:  # a malformed UUID
        if type(exc).__name__ == "ValidationError":
            raise Http404(_("No such object.")) from None
        raise


def access_catalog(actor: Actor, catalog_id) -> Catalog:
    return _get(catalogs_visible_to(actor), catalog_id)


def access_package(actor: Actor, package_id) -> AccessPackage:
    return _get(packages_visible_to(actor), package_id)


def access_policy(actor: Actor, policy_id) -> AssignmentPolicy:
    return _get(policies_visible_to(actor), policy_id)


def access_request(actor: Actor, request_id) -> AssignmentRequest:
    """A request the actor administers, asked for, or may approve."""
    return _get(AssignmentRequest.objects.filter(
        Q(pk__in=requests_visible_to(actor).values("pk")) | _mine(actor)), request_id)


def access_assignment(actor: Actor, assignment_id) -> Assignment:
    mine = Q(target=actor.user) if actor.user is not None else Q(pk__in=[])
    return _get(Assignment.objects.filter(Q(pk__in=assignments_visible_to(actor).values("pk")) | mine)
                .select_related("package", "target", "policy"), assignment_id)


def access_connected_organization(actor: Actor, organization_id) -> ConnectedOrganization:
    return _get(connected_organizations_visible_to(actor), organization_id)


# --- the person's own --------------------------------------------------------------------------------


def _mine(actor: Actor) -> Q:
    q = Q(pk__in=[])
    if actor.user is not None:
        q |= Q(target=actor.user) | Q(requestor=actor.user)
        # a subquery, not a join: one request has several approver rows
        q |= Q(pk__in=StageApprover.objects.filter(user=actor.user).values("stage__request_id"))
    if actor.account is not None:
        q |= Q(requestor_account=actor.account)
    return q


def my_requests(actor: Actor) -> QuerySet[AssignmentRequest]:
    """Requests the actor made or that are for them, in the actor's tenant."""
    if actor.tenant is None:
        return AssignmentRequest.objects.none()
    q = Q(pk__in=[])
    if actor.user is not None:
        q |= Q(target=actor.user) | Q(requestor=actor.user)
    if actor.account is not None:
        q |= Q(requestor_account=actor.account)
    return AssignmentRequest.objects.filter(q, tenant=actor.tenant).select_related("package")


def my_assignments(actor: Actor) -> QuerySet[Assignment]:
    if actor.tenant is None or actor.user is None:
        return Assignment.objects.none()
    return Assignment.objects.filter(tenant=actor.tenant, target=actor.user).select_related("package", "policy")


def approvals_for(actor: Actor) -> QuerySet[AssignmentRequest]:
    """Requests waiting for the actor's decision: they approve the current stage (an alternate
    approver once it was forwarded), and are neither its target nor its requestor."""
    if actor.user is None:
        return AssignmentRequest.objects.none()
    waiting = StageApprover.objects.filter(
        user=actor.user, stage__status="InProgress").filter(
        Q(is_escalation=False) | Q(stage__escalated=True)).values("stage__request_id")
    return (AssignmentRequest.objects.filter(pk__in=waiting, state=AssignmentRequest.State.PENDING_APPROVAL,
                                             tenant=actor.tenant)
            .exclude(target=actor.user).select_related("package", "target", "connected_organization"))


# --- facts for the evaluators ----------------------------------------------------------------------


def home_tenant_of(account: Account | None) -> Tenant | None:
    if account is None:
        return None
    member = User.objects.filter(account=account, user_type=User.UserType.MEMBER, deleted_at__isnull=True)
    return Tenant.objects.filter(pk__in=member.values("tenant_id")).first()


def organization_of(*, tenant: Tenant, email: str, account: Account | None) -> ConnectedOrganization | None:
    """The connected organization an external person belongs to: their home tenant on this platform,
    else their address's domain."""
    home = home_tenant_of(account)
    if home is not None:
        found = ConnectedOrganization.objects.filter(tenant=tenant, external_tenant_id=home.pk).first()
        if found is not None:
            return found
    domain = email.rsplit("@", 1)[-1].lower() if "@" in email else ""
    return ConnectedOrganization.objects.filter(tenant=tenant, domain_name__iexact=domain).first() if domain else None


def requestor_facts(*, tenant: Tenant, user: User | None, email: str = "", account: Account | None = None
                    ) -> tuple[Requestor, ConnectedOrganization | None]:
    """What the policies need to know about who would get access (a fixed number of queries)."""
    organization = None
    if user is None or user.is_guest:
        organization = organization_of(tenant=tenant, email=email or (user.mail if user else ""),
                                       account=account or (user.account if user else None))
    if user is None:
        held: frozenset[str] = frozenset()
        open_ = frozenset(str(p) for p in AssignmentRequest.objects.filter(
            tenant=tenant, requestor_account=account, target__isnull=True,
            state__in=AssignmentRequest.OPEN_STATES).values_list("package_id", flat=True)) if account else frozenset()
        return Requestor(in_directory=False, organization_id=str(organization.pk) if organization else None,
                         organization_state=organization.state if organization else None,
                         open_request_package_ids=open_), organization
    held = frozenset(str(p) for p in Assignment.objects.filter(
        target=user, state__in=Assignment.ACTIVE_STATES).values_list("package_id", flat=True))
    open_ = frozenset(str(p) for p in AssignmentRequest.objects.filter(
        target=user, state__in=AssignmentRequest.OPEN_STATES,
        request_type__in=["userAdd", "adminAdd", "onBehalfAdd", "systemAdd"]).values_list("package_id", flat=True))
    groups = frozenset(str(g) for g in user.member_of.values_list("pk", flat=True))
    return Requestor(
        in_directory=True, is_guest=user.is_guest, user_id=str(user.pk), group_ids=groups,
        organization_id=str(organization.pk) if organization else None,
        organization_state=organization.state if organization else None,
        blocked=not user.account_enabled or bool(user.deleted_at),
        held_package_ids=held, open_request_package_ids=open_), organization


def package_facts(package: AccessPackage) -> PackageFacts:
    return PackageFacts(
        id=str(package.pk), catalog_published=package.catalog.state == Catalog.State.PUBLISHED,
        catalog_external=package.catalog.is_externally_visible,
        incompatible_package_ids=frozenset(str(p) for p in package.incompatible_packages.values_list("pk", flat=True)),
        incompatible_group_ids=frozenset(str(g) for g in package.incompatible_groups.values_list("pk", flat=True)))


def requestable_packages(actor: Actor, tenant: Tenant, *, limit: int | None = None) -> list[AccessPackage]:
    """The packages the actor may request (not hidden, in enabled catalogs, with a policy that lets
    them), with the policies they may choose from: a fixed number of queries however many packages."""
    who, _org = requestor_facts(tenant=tenant, user=actor.user, account=actor.account,
                                email=actor.account.email if actor.account else "")
    packages = (AccessPackage.objects.filter(tenant=tenant, is_hidden=False, catalog__state=Catalog.State.PUBLISHED)
                .select_related("catalog").prefetch_related("policies").order_by("display_name", "id"))
    if who.is_external:
        packages = packages.filter(catalog__is_externally_visible=True)
    out = []
    for package in packages:
        if str(package.pk) in who.held_package_ids:
            continue
        if applicable_policies(package.policies.all(), who):
            out.append(package)
            if limit and len(out) >= limit:
                break
    return out


# --- access reviews ---------------------------------------------------------------------------------------

def _review_reader(actor: Actor) -> bool:
    return actor.tenant is not None and actor.can("AccessReview.Read.All", tenant=actor.tenant)


def review_definitions_visible_to(actor: Actor) -> QuerySet[AccessReviewDefinition]:
    """Administrators holding ``AccessReview.Read.All`` see their tenant's access reviews."""
    if not _review_reader(actor):
        return AccessReviewDefinition.objects.none()
    return AccessReviewDefinition.objects.filter(tenant=actor.tenant).select_related("group", "application", "package")


def review_instances_visible_to(actor: Actor) -> QuerySet[AccessReviewInstance]:
    if not _review_reader(actor):
        return AccessReviewInstance.objects.none()
    return AccessReviewInstance.objects.filter(tenant=actor.tenant).select_related(
        "definition", "group", "application", "package")


def review_decisions_visible_to(actor: Actor) -> QuerySet[AccessReviewDecision]:
    if not _review_reader(actor):
        return AccessReviewDecision.objects.none()
    return AccessReviewDecision.objects.filter(instance__tenant=actor.tenant).select_related("principal",
                                                                                           "reviewed_by")


def may_review(actor: Actor) -> bool:
    """A person (enabled, here) acting interactively, or through a delegated token carrying a reviewer scope
    (:data:`directory.authz.ACCESS_REVIEW_REVIEWER_SCOPES`); what they review is what the items name."""
    user = actor.user
    if actor.kind != "user" or user is None or actor.tenant is None or user.deleted_at or not user.account_enabled:
        return False
    return actor.app is None or bool(actor.granted_scopes & authz.ACCESS_REVIEW_REVIEWER_SCOPES)


def my_review_instances(actor: Actor) -> QuerySet[AccessReviewInstance]:
    """Instances in progress where the actor reviews at least one item (whatever their roles)."""
    user = actor.user
    if not may_review(actor):
        return AccessReviewInstance.objects.none()
    return AccessReviewInstance.objects.filter(
        tenant=actor.tenant, status=AccessReviewInstance.Status.IN_PROGRESS,
        pk__in=AccessReviewReviewer.objects.filter(user=user).values("instance_id"),
    ).select_related("definition", "group", "application", "package")


def my_review_decisions(actor: Actor) -> QuerySet[AccessReviewDecision]:
    """The decision items the actor reviews (the panel's and Graph's ``filterByCurrentUser(on='reviewer')``)."""
    user = actor.user
    if not may_review(actor):
        return AccessReviewDecision.objects.none()
    return AccessReviewDecision.objects.filter(
        instance__tenant=actor.tenant,
        pk__in=AccessReviewReviewer.objects.filter(user=user).values("decision_id"),
    ).select_related("principal", "reviewed_by")
