"""Reads that more than one interface needs, scoped to the actor, with their joins done once.

Interfaces find objects only through ``access_<thing>(actor, id)`` (one object, or ``Http404`` for
"missing" and "another tenant's" alike) or the ``visible_to(actor)`` querysets below, applied once in
the admin base, the Graph base view and the panel base view.
"""

import json
import uuid

from django.db.models import (
    Aggregate,
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    When,
)
from django.db.models.functions import Lower
from django.http import Http404
from django.utils.translation import gettext as _

from . import lookups, visibility  # noqa: F401  (lookups registers field__lower__bytewise)
from .actors import Actor, ActorKind
from .compiled import CompiledQuery
from .models import (
    Account,
    Application,
    AppRoleAssignment,
    Branding,
    Group,
    Role,
    RoleAssignment,
    SelfServiceRequest,
    SignInEvent,
    Tenant,
    User,
)
from .tenant_cache import TenantCache


def tenant_user_for_account(*, tenant: Tenant, account: Account) -> User | None:
    """The tenant's user object for a signed-in account (None when it has none, or it is deleted).

    The one place this is looked up: whether the user may sign in (``account_enabled``) is for the
    caller to decide (the actor's capabilities are empty when it may not)."""
    return User.objects.of_account(tenant=tenant, account=account)


# --- visible_to ---------------------------------------------------------------------------------


def users_visible_to(actor: Actor) -> QuerySet[User]:
    """The (non-deleted) users of the actor's tenant it may read: everyone for admins, apps and members;
    for guests what the tenant's guest access level shows."""
    users = User.objects.active().filter(tenant=actor.tenant)
    if actor.kind == ActorKind.USER:
        if actor.user is None:
            return users.none()
        if actor.is_guest and not actor.can("Directory.Read.All"):
            users = users & visibility.rule().users_visible_to(actor.user)
    return users


def deleted_users_visible_to(actor: Actor) -> QuerySet[User]:
    """The actor's tenant's deleted users (restorable for 30 days): for those who read the directory;
    a guest reading only what its guest access level shows sees none."""
    users = User.objects.deleted().filter(tenant=actor.tenant)
    restricted = actor.user is None or (actor.is_guest and not actor.can("Directory.Read.All"))
    return users.none() if actor.kind == ActorKind.USER and restricted else users


def groups_visible_to(actor: Actor) -> QuerySet[Group]:
    groups = Group.objects.filter(tenant=actor.tenant)
    if actor.kind == ActorKind.USER:
        if actor.user is None:
            return groups.none()
        if actor.is_guest and not actor.can("Directory.Read.All"):
            groups = groups & visibility.rule().groups_visible_to(actor.user)
    return groups


def group_members_visible_to(actor: Actor, group: Group) -> QuerySet[User]:
    if actor.kind == ActorKind.USER:
        if actor.user is None:
            return User.objects.none()
        if actor.is_guest and not actor.can("Directory.Read.All"):
            return visibility.rule().group_members_visible_to(actor.user, group)
    return group.members.filter(deleted_at__isnull=True)


def owners_visible_to(actor: Actor, group: Group) -> QuerySet[User]:
    """A group's owners the actor may see: those it may read, or may see among this group's members (a
    limited guest sees the owners who are members of its own groups, a restricted one only itself)."""
    seen = (Q(pk__in=users_visible_to(actor).values("pk"))
            | Q(pk__in=group_members_visible_to(actor, group).values("pk")))
    return User.objects.filter(owned_groups=group, deleted_at__isnull=True).filter(seen)


def applications_visible_to(actor: Actor) -> QuerySet[Application]:
    """Enterprise applications of the actor's tenant (Graph lets every user read service principals)."""
    apps = Application.objects.filter(tenant=actor.tenant)
    if actor.kind == ActorKind.USER and actor.user is None:
        return apps.none()
    return apps


# --- access_<thing> -----------------------------------------------------------------------------


def _get(queryset: QuerySet, object_id):
    try:
        object_id = uuid.UUID(str(object_id))
    except ValueError:
        raise Http404(_("No such object.")) from None
    obj = queryset.filter(pk=object_id).first()
    if obj is None:
        raise Http404(_("No such object."))  # missing, and another tenant's, alike
    return obj


def access_user(actor: Actor, user_id) -> User:
    return _get(users_visible_to(actor), user_id)


def access_group(actor: Actor, group_id) -> Group:
    return _get(groups_visible_to(actor), group_id)


def access_application(actor: Actor, application_id) -> Application:
    return _get(applications_visible_to(actor), application_id)


# --- applications ---------------------------------------------------------------------------------


def applications_for_user(*, user: User, include_hidden: bool = False) -> QuerySet[Application]:
    """The apps this user may open in its tenant: assigned directly or through a group.

    One query, however many apps, groups and memberships there are.
    """
    assigned = AppRoleAssignment.objects.filter(application=OuterRef("pk")).filter(
        Q(user=user) | Q(group__members=user)
    )
    apps = Application.objects.filter(tenant_id=user.tenant_id).filter(Exists(assigned))
    if not include_hidden:
        apps = apps.filter(visible_to_users=True)
    return apps.order_by("display_name", "id")


class _Names(Aggregate):
    """The ``display_name`` of a group of rows as a JSON array (text) in name order: PostgreSQL's
    ``json_agg``, SQLite's ``json_group_array`` (which keeps the subquery's order)."""

    function = "JSON_AGG"
    template = "%(function)s(%(expressions)s ORDER BY %(expressions)s)::text"
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", template="%(function)s(%(expressions)s)",
                              **extra_context)


def my_apps(actor: Actor, *, search: str = "") -> QuerySet[Application]:
    """My Apps: the apps shown to the actor's user (assigned, directly or through a group, and visible to
    users), optionally those whose name contains ``search``, each with ``owner_names_json``: the names of
    its owners the actor may see (users_visible_to), a JSON array. One query, however many apps, owners
    and groups there are (the owners are a correlated subquery, not a second query: the panel's speed
    goal counts every round trip).

    The search filters the person's own assigned apps (at most what one person is assigned, Entra
    caps My Apps at 950), not the tenant's: no index is needed for it."""
    if actor.user is None:
        return Application.objects.none()
    apps = applications_for_user(user=actor.user)
    if search:
        apps = apps.filter(display_name__icontains=search)
    owners = (users_visible_to(actor).filter(owned_applications=OuterRef("pk")).order_by()
              .values("owned_applications").annotate(names=_Names("display_name")).values("names"))
    return apps.only("id", "tenant_id", "display_name", "description", "logo").annotate(
        owner_names_json=Subquery(owners, output_field=TextField()))


def _my_apps_rows(user_id, tenant_id, owners_visible: QuerySet[User], *, search: str = "",
                  with_requestable: bool) -> QuerySet:
    # The person's assignments as two uncorrelated sets (direct; through a group it belongs to), each found on
    # its foreign key's index and hashed once, instead of a probe per application: planning that was most of
    # this query's time (bench/panel.py).
    in_groups = Group.members.through.objects.filter(user_id=user_id).values("group_id")
    assigned = (Q(pk__in=AppRoleAssignment.objects.filter(user_id=user_id).values("application_id"))
                | Q(pk__in=AppRoleAssignment.objects.filter(group_id__in=in_groups).values("application_id")))
    mine = Q(is_assigned=True, visible_to_users=True)
    if search:
        mine &= Q(display_name__icontains=search)
    wanted = mine
    if with_requestable:
        wanted |= Q(is_assigned=False, self_service_enabled=True)
    owners = (owners_visible.filter(owned_applications=OuterRef("pk")).order_by()
              .values("owned_applications").annotate(names=_Names("display_name")).values("names"))
    return (Application.objects.filter(tenant_id=tenant_id)
            .annotate(is_assigned=ExpressionWrapper(assigned, output_field=BooleanField()))
            .filter(wanted).annotate(owner_names_json=Subquery(owners, output_field=TextField()))
            .order_by("display_name", "id")
            .values("id", "display_name", "description", "logo", "owner_names_json", "is_assigned"))


_my_apps_compiled = CompiledQuery(lambda key, *, user, tenant: _my_apps_rows(
    user, tenant, User.objects.active().filter(tenant_id=tenant), with_requestable=key[1]))


def my_apps_page(actor: Actor, *, search: str = "", with_requestable: bool = True) -> tuple[list[dict], list[dict]]:
    """My Apps' two lists from **one query**: the tiles (:func:`my_apps`: assigned and visible, matching
    ``search``, with ``owner_names_json``) and, with ``with_requestable``, the applications the actor may
    request (:func:`applications_requestable_by`: self-service ones it cannot open yet, members only).
    Rows are dicts (``id``, ``display_name``, ``description``, ``logo``, ``owner_names_json``); tiles in
    name order, requestable ones in case-insensitive name order."""
    user = actor.user
    if user is None:
        return [], []
    with_requestable = with_requestable and not actor.is_guest
    if actor.kind == ActorKind.USER and not actor.is_guest and not search:
        # A member sees every owner (users_visible_to): the query's shape is fixed, compiled once.
        rows = _my_apps_compiled.run(("member", with_requestable), user=user.pk, tenant=user.tenant_id)
    else:
        rows = _my_apps_rows(user.pk, user.tenant_id, users_visible_to(actor), search=search,
                             with_requestable=with_requestable)
    tiles, requestable = [], []
    for row in rows:
        (tiles if row["is_assigned"] else requestable).append(row)
    requestable.sort(key=lambda row: (row["display_name"].lower(), str(row["id"])))
    return tiles, requestable


def owner_names(owner_names_json: str | None) -> list[str]:
    """The owners' names :func:`my_apps` read with an app (its ``owner_names_json``), in name order."""
    return sorted(json.loads(owner_names_json)) if owner_names_json else []


def user_can_open_application(*, user: User, application: Application) -> bool:
    if user.tenant_id != application.tenant_id or user.deleted_at or not user.account_enabled:
        return False
    if not application.assignment_required:
        return True
    return applications_for_user(user=user, include_hidden=True).filter(pk=application.pk).exists()


def application_to_launch(actor: Actor, application_id) -> tuple[Application, list[User], bool]:
    """The application the actor asks to open (404 when missing or another tenant's, as
    :func:`access_application`), with its owners, and whether the actor's user may open it. Every user
    may read the tenant's applications (Graph's service principals), so a person who follows a link to
    one they are not assigned to is told so and whom to ask, as Entra's "not granted access" does."""
    app = access_application(actor, application_id)
    owners = list(app.owners.filter(deleted_at__isnull=True, account_enabled=True).order_by("display_name"))
    return app, owners, actor.user is not None and user_can_open_application(user=actor.user, application=app)


def tenant_roles_for_account(*, account: Account) -> dict:
    """{tenant_id: {Role, …}} for every tenant where the account's (non-deleted, enabled) user holds a role."""
    roles: dict = {}
    if not account.is_authenticated:
        return roles
    rows = RoleAssignment.objects.filter(
        user__account=account, user__deleted_at__isnull=True, user__account_enabled=True
    ).values_list("tenant_id", "role")
    for tenant_id, role in rows:
        roles.setdefault(tenant_id, set()).add(Role(role))
    return roles


def console_capabilities_for_account(*, account: Account) -> dict:
    """{tenant_id: capabilities} for every tenant where the account's (non-deleted, enabled) user holds a
    directory role: the admin console opens only there, and shows what those capabilities allow."""
    from . import authz

    if not account.is_authenticated:
        return {}
    rows = RoleAssignment.objects.filter(
        user__account=account, user__deleted_at__isnull=True, user__account_enabled=True
    ).values_list("tenant_id", "role", "user__user_type")
    roles: dict = {}
    guest: dict = {}
    for tenant_id, role, user_type in rows:
        roles.setdefault(tenant_id, set()).add(Role(role))
        guest[tenant_id] = user_type == User.UserType.GUEST
    return {tenant_id: authz.console_capabilities(is_guest=guest[tenant_id], roles=r) for tenant_id, r in roles.items()}


def organizations_for_account(*, account: Account, with_roles: bool = False) -> QuerySet[User]:
    """The signed-in person's organisations: where they are an enabled member or guest, their home
    organization (where they are a member who was not invited from outside) first, as Entra's My Account
    lists them; then by name. One query, with each tenant (each user's ``account`` is ``account``: callers
    that need the object set it, rather than join it again). ``with_roles``: each user also carries
    ``role_values_json``, its directory roles (a JSON array), in the same query — the panel's actor needs
    them on every page (:func:`role_values`)."""
    home_first = Case(When(user_type=User.UserType.MEMBER, external_user_state="", then=0), default=1)
    users = (User.objects.active().filter(account=account, account_enabled=True)
             .select_related("tenant").order_by(home_first, "tenant__name", "tenant_id"))
    if with_roles:
        roles = (RoleAssignment.objects.filter(user=OuterRef("pk")).order_by().values("user")
                 .annotate(values=_Names("role")).values("values"))
        users = users.annotate(role_values_json=Subquery(roles, output_field=TextField()))
    return users


_organizations_compiled = CompiledQuery(
    lambda key, *, account: organizations_for_account(account=Account(pk=account), with_roles=True))


def panel_organizations(*, account: Account) -> list[User]:
    """:func:`organizations_for_account` with roles, as the access panel's shell reads it on every page: the
    same query, compiled once per process (directory/compiled.py)."""
    return _organizations_compiled.run("panel", account=account.pk)


def role_values(user: User) -> list[str] | None:
    """The role values :func:`organizations_for_account` read with ``user`` (None when it did not)."""
    if not hasattr(user, "role_values_json"):
        return None
    return json.loads(user.role_values_json) if user.role_values_json else []


def _load_brandings(tenant_id) -> dict[str, Branding]:
    return {b.locale: b for b in Branding.objects.filter(tenant_id=tenant_id)}


#: {locale: Branding} per tenant, kept per process until a branding changes (directory/tenant_cache.py).
brandings_cache = TenantCache("brandings", _load_brandings)
brandings_cache.watch(Branding)


def branding_for(tenant: Tenant, language: str) -> Branding | None:
    """The tenant's branding for ``language``, else its default one: no query while the tenant's brandings
    are unchanged (per-process copy, :data:`brandings_cache`), or none when the caller prefetched them."""
    prefetched = getattr(tenant, "_prefetched_objects_cache", {}).get("brandings")
    brandings = {b.locale: b for b in prefetched} if prefetched is not None else brandings_cache.get(tenant.pk)
    return brandings.get(language) or brandings.get("")


# --- self-service: owners, groups, requests (the access panel's My Groups and owners' pages) --------------

PEOPLE_SEARCH_LIMIT = 20
JOINABLE_LIMIT = 50


def people_search(actor: Actor, text: str, *, limit: int = PEOPLE_SEARCH_LIMIT) -> list[User]:
    """Up to ``limit`` users the actor may see whose name or mail starts with ``text``: ``lower(column) LIKE
    'text%'`` on the expressions of the prefix indexes: (tenant, lower(mail) text_pattern_ops) of migration
    0006 and the name's (tenant, lower(display_name) COLLATE "C", id) of migration 0008."""
    text = (text or "").strip().lower()[:100]
    if not text:
        return []
    users = users_visible_to(actor).alias(mail_lower=Lower("mail"))
    users = users.filter(Q(display_name__lower__bytewise__startswith=text) | Q(mail_lower__startswith=text))
    return list(users.order_by(Lower("display_name"), "id")[:limit])


def access_managed_group(actor: Actor, group_id) -> Group:
    """A group whose members the actor manages (its owner, or an administrator): else 404, like a missing one."""
    group = _get(groups_visible_to(actor).select_related("tenant"), group_id)
    if not actor.can("GroupMember.ReadWrite.All", obj=group):
        raise Http404(_("No such object."))
    return group


def access_managed_application(actor: Actor, application_id) -> Application:
    """An application whose assignments the actor manages (its owner, or an administrator): else 404."""
    app = _get(applications_visible_to(actor).select_related("tenant"), application_id)
    if not actor.can("AppRoleAssignment.ReadWrite.All", obj=app):
        raise Http404(_("No such object."))
    return app


def my_groups(actor: Actor, *, search: str = "") -> dict:
    """My Groups: the groups the actor owns, those it belongs to, and (up to :data:`JOINABLE_LIMIT`, or
    those starting with ``search``) those it may join; a fixed number of queries however many there are."""
    user = actor.user
    owned = list(Group.objects.filter(owners=user).annotate(member_count=Count("members", distinct=True))
                 .order_by(Lower("display_name"), "id"))
    member_of = list(Group.objects.filter(members=user).order_by(Lower("display_name"), "id"))
    joinable: list[Group] = []
    tenant = actor.tenant
    if tenant.groups_self_service_enabled:
        candidates = groups_visible_to(actor).filter(members_can_join=True).exclude(members=user)
        if not tenant.owners_manage_join_requests:
            candidates = candidates.exclude(join_requires_approval=True)
        text = search.strip().lower()[:100]
        if text:
            candidates = candidates.alias(name_lower=Lower("display_name")).filter(name_lower__startswith=text)
        joinable = list(candidates.order_by(Lower("display_name"), "id")[:JOINABLE_LIMIT])
    asked = set(SelfServiceRequest.objects.filter(
        requester=user, status=SelfServiceRequest.Status.PENDING, application=None).values_list("group_id", flat=True))
    return {"owned": owned, "member_of": member_of, "joinable": joinable, "asked": asked}


def requests_to_decide(actor: Actor):
    """Pending self-service requests the actor decides as a group's owner or an application's approver
    (or, an application naming no approvers, its owner): one query."""
    user = actor.user
    if user is None:
        return SelfServiceRequest.objects.none()
    mine = (Q(application__isnull=True, group__owners=user) | Q(application__self_service_approvers=user)
            | Q(application__owners=user, application__self_service_approvers__isnull=True))
    return (SelfServiceRequest.objects.filter(tenant_id=user.tenant_id, status=SelfServiceRequest.Status.PENDING)
            .filter(mine).distinct().select_related("requester", "group", "application").order_by("created_at", "id"))


def access_request_to_decide(actor: Actor, request_id) -> SelfServiceRequest:
    return _get(requests_to_decide(actor), request_id)


def access_own_request(actor: Actor, request_id) -> SelfServiceRequest:
    return _get(SelfServiceRequest.objects.filter(requester=actor.user) if actor.user else
                SelfServiceRequest.objects.none(), request_id)


def applications_requestable_by(actor: Actor) -> QuerySet[Application]:
    """Applications that allow self-service access which the actor cannot open yet (My Apps' "request
    access" path); none for guests, who ask the person who invited them. One query."""
    user = actor.user
    if user is None or actor.is_guest:
        return Application.objects.none()
    assigned = AppRoleAssignment.objects.filter(application=OuterRef("pk")).filter(Q(user=user) | Q(group__members=user))
    return (Application.objects.filter(tenant_id=user.tenant_id, self_service_enabled=True)
            .exclude(Exists(assigned)).order_by(Lower("display_name"), "id"))


def authentication_methods_of(user: User):
    """The MFA methods that count for ``user``: its account's, registered in its tenant (DESIGN §6)."""
    from .models import AuthenticationMethod

    if user.account_id is None:
        return AuthenticationMethod.objects.none()
    return AuthenticationMethod.objects.filter(account_id=user.account_id, tenant_id=user.tenant_id)


RECENT_SIGN_INS = 5


def recent_sign_ins_of(user: User, *, limit: int = RECENT_SIGN_INS) -> list[SignInEvent]:
    """The person's own latest sign-ins into this tenant (My Account), newest first: one query on the
    sign-in log's (tenant, user, created_at) index."""
    return list(SignInEvent.objects.filter(tenant_id=user.tenant_id, user_id=user.pk)
                .only("created_at", "app_display_name", "resource", "ip_address", "country", "result",
                      "failure_reason", "authentication_methods")
                .order_by("-created_at")[:limit])


def sponsors_of(user: User) -> list[User]:
    """The people responsible for ``user`` in its tenant (My Account shows a guest theirs): not deleted,
    by name; one query."""
    return list(User.objects.filter(sponsored_users=user, deleted_at__isnull=True)
                .only("pk", "display_name", "mail", "user_principal_name").order_by("display_name", "pk"))
