"""The one authorization table, the actor, and the rules derived from them in every interface."""

import inspect
import pathlib
import re

import pytest
from django.core.exceptions import PermissionDenied

from directory import authz, services
from directory.actors import Actor
from directory.models import AuditEvent, Role, User
from invitations import services as invitation_services
from policies import services as policy_services
from policies.models import CollaborationSettings
from tests.factories import GroupFactory, GuestFactory, TenantFactory, UserFactory, admin_of

R = Role
ROOT = pathlib.Path(__file__).resolve().parents[2]


# --- the table itself ---------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "capability", "expected"), [
    (R.GLOBAL_ADMINISTRATOR, "AuditLog.Read.All", True),
    (R.SECURITY_ADMINISTRATOR, "AuditLog.Read.All", True),
    (R.USER_ADMINISTRATOR, "AuditLog.Read.All", False),
    (R.GROUPS_ADMINISTRATOR, "AuditLog.Read.All", False),
    (R.APPLICATION_ADMINISTRATOR, "AuditLog.Read.All", False),
    (R.IDENTITY_GOVERNANCE_ADMINISTRATOR, "AuditLog.Read.All", False),
    (R.GLOBAL_ADMINISTRATOR, "Policy.ReadWrite.Authorization", True),
    (R.SECURITY_ADMINISTRATOR, "Policy.ReadWrite.Authorization", True),
    (R.USER_ADMINISTRATOR, "Policy.ReadWrite.Authorization", False),
    (R.USER_ADMINISTRATOR, "User.ReadWrite.All", True),
    (R.USER_ADMINISTRATOR, "Group.ReadWrite.All", True),
    (R.GROUPS_ADMINISTRATOR, "User.ReadWrite.All", False),
    (R.GROUPS_ADMINISTRATOR, "GroupMember.ReadWrite.All", True),
    (R.APPLICATION_ADMINISTRATOR, "AppRoleAssignment.ReadWrite.All", True),
    (R.APPLICATION_ADMINISTRATOR, "Group.ReadWrite.All", False),
    (R.GUEST_INVITER, "User.Invite.All", True),
    (R.GUEST_INVITER, "User.ReadWrite.All", False),
    (R.USER_ADMINISTRATOR, "RoleManagement.ReadWrite.Directory", False),
    (R.GLOBAL_ADMINISTRATOR, "RoleManagement.ReadWrite.Directory", True),
    (R.USER_ADMINISTRATOR, "Organization.ReadWrite.All", False),
])
def test_role_capabilities_follow_entras_built_in_roles(role, capability, expected):
    assert (capability in authz.role_capabilities([role])) is expected


def test_every_role_and_capability_is_in_the_table():
    assert set(authz.ROLE_CAPABILITIES) == set(Role)
    for caps in (*authz.ROLE_CAPABILITIES.values(), authz.MEMBER_CAPABILITIES, authz.GUEST_CAPABILITIES):
        assert caps <= set(authz.CAPABILITIES)
    for read, manage in authz.ADMIN_AREAS.values():
        assert read in authz.CAPABILITIES and (manage is None or manage in authz.CAPABILITIES)


def test_guests_read_less_than_members_and_invite_only_by_default():
    assert "Directory.Read.All" in authz.user_capabilities(is_guest=False, roles=[])
    assert "Directory.Read.All" not in authz.user_capabilities(is_guest=True, roles=[])
    member = authz.user_capabilities(is_guest=False, roles=[])
    assert not member & {"User.ReadWrite.All", "Group.ReadWrite.All", "Policy.ReadWrite.Authorization"}


@pytest.mark.parametrize(("actor_roles", "target_roles", "expected"), [
    ([R.USER_ADMINISTRATOR], [], True),
    ([R.USER_ADMINISTRATOR], [R.USER_ADMINISTRATOR], True),
    ([R.USER_ADMINISTRATOR], [R.GUEST_INVITER, R.GROUPS_ADMINISTRATOR], True),
    ([R.USER_ADMINISTRATOR], [R.GLOBAL_ADMINISTRATOR], False),
    ([R.USER_ADMINISTRATOR], [R.SECURITY_ADMINISTRATOR], False),
    ([R.USER_ADMINISTRATOR], [R.APPLICATION_ADMINISTRATOR], False),
    ([R.GROUPS_ADMINISTRATOR], [R.GUEST_INVITER], False),
    ([R.GLOBAL_ADMINISTRATOR], [R.GLOBAL_ADMINISTRATOR], True),
])
def test_privileged_users_are_managed_only_by_those_who_outrank_them(actor_roles, target_roles, expected):
    assert authz.may_manage_holder(actor_roles, target_roles) is expected


def test_the_table_is_the_only_place_a_role_is_mapped_to_a_permission():
    """Role members are named only in the table, the model and the demo data; nothing else keeps a set
    of "admin roles" of its own."""
    allowed = {"directory/authz.py", "directory/models/roles.py", "directory/demo.py"}
    strays = []
    for path in ROOT.glob("*/**/*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.split("/")[0] in {"tests", ".venv", "bench"} or "/migrations/" in rel or rel in allowed:
            continue
        text = path.read_text()
        if re.search(r"\bRole\.[A-Z_]{5,}\b|\bADMIN_ROLES\b|ROLE_CAPABILITIES\s*[:=]", text):
            strays.append(rel)
    assert strays == []


# --- no anonymous door into a service -------------------------------------------------------------

SERVICE_MODULES = [services, invitation_services, policy_services]
HELPERS = {"authorize", "ensure_may_manage", "inviter_context", "require_actor"}  # checks the services call, actor first


def test_no_service_signature_accepts_actor_none():
    for module in SERVICE_MODULES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name in HELPERS:
                continue
            parameters = inspect.signature(function).parameters
            if "actor" not in parameters:
                continue
            actor = parameters["actor"]
            assert actor.default is inspect.Parameter.empty, f"{module.__name__}.{name} defaults its actor"
            assert actor.kind is inspect.Parameter.KEYWORD_ONLY, f"{module.__name__}.{name}"
            assert "None" not in str(actor.annotation), f"{module.__name__}.{name} accepts actor=None"


def _admin_only_calls(tenant):
    """(name, call(actor)) for behaviour only an administrator may reach."""
    user = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant)
    guest = GuestFactory(tenant=tenant, external_user_state="Accepted", mail="g@partner.example",
                         other_mails=[])
    return [
        ("create a member", lambda a: services.user_create(
            actor=a, tenant=tenant, display_name="X", user_principal_name=f"x@{tenant.initial_domain}")),
        ("block a user", lambda a: services.user_update(actor=a, user=user, changes={"account_enabled": False})),
        ("delete a user", lambda a: services.user_delete(actor=a, user=user)),
        ("assign a role", lambda a: services.role_assign(actor=a, user=user, role=R.GLOBAL_ADMINISTRATOR)),
        ("create a group", lambda a: services.group_create(actor=a, tenant=tenant, display_name="G")),
        ("add a member", lambda a: services.group_member_add(actor=a, group=group, user=user)),
        ("register an app", lambda a: services.app_registration_create(
            actor=a, tenant=tenant, display_name="A", application_permissions=["Directory.ReadWrite.All"])),
        ("change the tenant", lambda a: services.tenant_update(actor=a, tenant=tenant, changes={"name": "Z"})),
        ("add a domain", lambda a: services.domain_add(actor=a, tenant=tenant, name="evil.example")),
        ("change the settings", lambda a: policy_services.collaboration_settings_update(
            actor=a, tenant=tenant, changes={"allow_invites_from": "everyone"})),
        ("invite an external member", lambda a: invitation_services.invitation_create(
            actor=a, tenant=tenant, email="m@partner.example", redirect_url="https://apps.example/",
            user_type=User.UserType.MEMBER)),
        ("reset a redemption", lambda a: invitation_services.invitation_reset_redemption(
            actor=a, user=guest, email="g@partner.example", redirect_url="https://apps.example/")),
    ]


@pytest.mark.django_db
def test_anonymous_and_app_only_calls_cannot_reach_admin_only_behaviour_through_any_service():
    tenant = TenantFactory()
    registration, _client, _secret = services.app_registration_create(
        actor=Actor.operator(), tenant=tenant, display_name="Reader", application_permissions=["User.Read.All"])
    app = Actor.for_app(registration)
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant, changes={
        "allow_invites_from": CollaborationSettings.AllowInvitesFrom.ADMINS_AND_GUEST_INVITERS})
    member = Actor.for_user(UserFactory(tenant=tenant))
    calls = _admin_only_calls(tenant)
    before = (User.objects.count(), AuditEvent.objects.filter(tenant=tenant).count())
    for name, call in calls:
        for who, actor in (("anonymous", None), ("app-only", app), ("member", member)):
            with pytest.raises(PermissionDenied):
                call(actor)
                pytest.fail(f"{who} could {name}")
    assert (User.objects.count(), AuditEvent.objects.filter(tenant=tenant).count()) == before


@pytest.mark.django_db
def test_an_actor_of_another_tenant_cannot_act_here_whatever_its_roles():
    here, there = TenantFactory(), TenantFactory()
    their_admin = Actor.for_user(admin_of(there))
    with pytest.raises(PermissionDenied):
        services.group_create(actor=their_admin, tenant=here, display_name="Mine now")


