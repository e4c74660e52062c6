"""Requests, approvals, delivery and removal through the services, as Entra's entitlement management."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied

from directory.actors import Actor
from directory.models import AppRoleAssignment, AuditEvent, ManagedAccess, OutboxMessage
from entitlements import services
from entitlements.models import Assignment, AssignmentRequest, ConnectedOrganization
from invitations.models import Invitation
from tests.factories import AccountFactory, GroupFactory, TenantFactory

from .scenario import T, later, member, system, tailwind

pytestmark = pytest.mark.django_db


def _request(user, package, **kwargs):
    return services.request_access(actor=Actor.for_user(user), package=package, **kwargs)


def _deliver(request):
    return services.request_deliver(actor=system(), request_id=request.pk)


def test_a_member_requests_and_gets_the_group_and_the_app_after_commit(django_capture_on_commit_callbacks):
    s = tailwind()
    s.policy()
    ann = member(s)
    with django_capture_on_commit_callbacks(execute=True):
        request = _request(ann, s.package)
    request.refresh_from_db()
    assert request.state == "delivered" and request.request_type == "userAdd"
    assignment = Assignment.objects.get(target=ann, package=s.package)
    assert assignment.state == "delivered"
    assert (assignment.expires_at - assignment.start_at) == timedelta(days=30)
    assert s.group.members.filter(pk=ann.pk).exists()
    assert AppRoleAssignment.objects.filter(application=s.app, user=ann).exists()
    assert OutboxMessage.objects.filter(to=[ann.mail], subject="You now have access to Campaign collaboration").exists()
    activities = set(AuditEvent.objects.filter(category="EntitlementManagement").values_list(
        "activity_display_name", flat=True))
    assert {"Create access package assignment request", "Fulfill access package assignment request",
            "Create access package assignment"} <= activities


def test_a_guest_is_refused_by_an_all_members_policy_with_the_reason():
    from tests.factories import GuestFactory

    s = tailwind()
    s.policy(allowed_target_scope=T.ALL_MEMBER_USERS)
    guest = GuestFactory(tenant=s.tenant, external_user_state="Accepted", account=AccountFactory())
    with pytest.raises(services.RequestRefused) as refused:
        _request(guest, s.package)
    assert refused.value.code == "no_policy"


def test_separation_of_duties_refuses_with_the_reason():
    s = tailwind()
    s.policy()
    auditors = GroupFactory(tenant=s.tenant, display_name="Auditors")
    services.package_update(actor=s.admin_actor, package=s.package, changes={"incompatible_groups": [auditors]})
    ann = member(s)
    auditors.members.add(ann)
    with pytest.raises(services.RequestRefused) as refused:
        _request(ann, s.package)
    assert refused.value.code == "incompatible_group"
    assert "separation of duties" in refused.value.message

    other = services.package_create(actor=s.admin_actor, catalog=s.catalog, display_name="Finance")
    services.policy_create(actor=s.admin_actor, package=other, display_name="P",
                           allowed_target_scope=T.ALL_MEMBER_USERS)
    services.package_update(actor=s.admin_actor, package=other, changes={"incompatible_packages": [s.package]})
    bob = member(s)
    services.request_admin_add(actor=s.admin_actor, package=s.package, policy=s.package.policies.get(), target=bob)
    _deliver(AssignmentRequest.objects.get(target=bob))
    with pytest.raises(services.RequestRefused) as refused:
        _request(bob, other)
    assert refused.value.code == "incompatible_package"


def test_two_stage_approval_with_escalation_then_delivery():
    s = tailwind()
    first, alternate, second = member(s), member(s), member(s)
    s.policy(is_approval_required_for_add=True, is_requestor_justification_required=True,
             stages=[s.stage([first], escalation=[alternate], deny_days=5, escalate_days=1),
                     s.stage([second], justification=True)])
    ann = member(s)
    with pytest.raises(services.RequestRefused):
        _request(ann, s.package)  # justification required
    request = _request(ann, s.package, data=services.RequestData(justification="Campaign Q3"))
    assert request.state == "pendingApproval" and request.current_stage == 1
    assert OutboxMessage.objects.filter(to=[first.mail], subject__startswith="Action required: Approve or deny").exists()
    with pytest.raises(PermissionDenied):  # the alternate decides only once forwarded
        services.approval_decide(actor=Actor.for_user(alternate), request=request, approve=True)

    done = services.requests_sweep_approvals(actor=system(), now=later(days=1, minutes=1))
    assert done["escalated"] == 1
    assert OutboxMessage.objects.filter(to=[alternate.mail], subject__contains="forwarded").exists()
    services.approval_decide(actor=Actor.for_user(alternate), request=request, approve=True)
    request.refresh_from_db()
    assert request.current_stage == 2 and request.state == "pendingApproval"
    with pytest.raises(Exception):  # stage 2 requires the approver's justification
        services.approval_decide(actor=Actor.for_user(second), request=request, approve=True)
    services.approval_decide(actor=Actor.for_user(second), request=request, approve=True, justification="ok")
    request.refresh_from_db()
    assert request.state == "delivering"
    _deliver(request)
    assert s.group.members.filter(pk=ann.pk).exists()


def test_nobody_approves_their_own_request():
    s = tailwind()
    ann = member(s)
    s.policy(is_approval_required_for_add=True, stages=[s.stage([ann])])
    request = _request(ann, s.package)
    assert request.state == "denied" and request.status == "NoApprovers"


def test_a_stage_nobody_decides_in_time_ends_the_request_and_a_second_sweep_changes_nothing():
    s = tailwind()
    approver = member(s)
    s.policy(is_approval_required_for_add=True, stages=[s.stage([approver], deny_days=3)])
    ann = member(s)
    request = _request(ann, s.package)
    sweep_at = later(days=3, minutes=1)
    assert services.requests_sweep_approvals(actor=system(), now=sweep_at)["denied"] == 1
    request.refresh_from_db()
    assert (request.state, request.status) == ("denied", "Expired")
    expired = "Your request has expired for Campaign collaboration"
    assert OutboxMessage.objects.filter(to=[ann.mail], subject=expired).exists()
    counts = (AuditEvent.objects.count(), OutboxMessage.objects.count())
    assert services.requests_sweep_approvals(actor=system(), now=sweep_at) == {"denied": 0, "escalated": 0, "reminded": 0}
    assert (AuditEvent.objects.count(), OutboxMessage.objects.count()) == counts


def test_a_deny_ends_the_request_and_tells_the_requestor():
    s = tailwind()
    approver = member(s)
    s.policy(is_approval_required_for_add=True, stages=[s.stage([approver])])
    ann = member(s)
    request = _request(ann, s.package)
    services.approval_decide(actor=Actor.for_user(approver), request=request, approve=False, justification="No")
    request.refresh_from_db()
    assert request.state == "denied"
    assert OutboxMessage.objects.filter(to=[ann.mail], subject="Request denied to Campaign collaboration").exists()


def test_expiry_removes_only_what_entitlement_management_gave(django_capture_on_commit_callbacks):
    s = tailwind()
    policy = s.policy()
    direct, packaged, twice = member(s), member(s), member(s)
    s.group.members.add(direct)  # held directly before the package
    second = services.package_create(actor=s.admin_actor, catalog=s.catalog, display_name="Also the group")
    services.role_scope_add(actor=s.admin_actor, package=second, resource=s.group_resource, role="Member")
    second_policy = services.policy_create(actor=s.admin_actor, package=second, display_name="P2",
                                           allowed_target_scope=T.ALL_MEMBER_USERS, expiration_type="noExpiration")
    with django_capture_on_commit_callbacks(execute=True):
        for user in (direct, packaged, twice):
            services.request_admin_add(actor=s.admin_actor, package=s.package, policy=policy, target=user)
        services.request_admin_add(actor=s.admin_actor, package=second, policy=second_policy, target=twice)
    assert not ManagedAccess.of("member", s.group, direct).exists()  # held directly
    assert ManagedAccess.of("member", s.group, twice).exists()  # held for the packages only

    expired = services.assignments_expire_due(actor=system(), now=later(days=31))
    assert expired == 3
    members = set(s.group.members.values_list("pk", flat=True))
    assert direct.pk in members and twice.pk in members and packaged.pk not in members
    assert not AppRoleAssignment.objects.filter(application=s.app, user=packaged).exists()
    assert Assignment.objects.filter(package=s.package, state="expired").count() == 3
    assert OutboxMessage.objects.filter(to=[packaged.mail], subject="Access has ended for Campaign collaboration").exists()
    assert AuditEvent.objects.filter(activity_display_name="Access package assignment expired").count() == 3
    assert AuditEvent.objects.filter(activity_display_name="Remove member from group").count() == 1

    counts = (AuditEvent.objects.count(), OutboxMessage.objects.count(), s.group.members.count())
    assert services.assignments_expire_due(actor=system(), now=later(days=31)) == 0
    assert (AuditEvent.objects.count(), OutboxMessage.objects.count(), s.group.members.count()) == counts


def test_expiry_warnings_go_14_days_and_1_day_before_once_each():
    s = tailwind()
    policy = s.policy(enable_targets_to_self_update=True)
    ann = member(s)
    _deliver(services.request_admin_add(actor=s.admin_actor, package=s.package, policy=policy, target=ann))
    subject = "Extend access for Campaign collaboration by"
    assert services.assignments_warn_expiring(actor=system(), now=later(days=10)) == 0
    assert services.assignments_warn_expiring(actor=system(), now=later(days=17)) == 1
    assert services.assignments_warn_expiring(actor=system(), now=later(days=18)) == 0
    assert services.assignments_warn_expiring(actor=system(), now=later(days=29, hours=1)) == 1
    assert services.assignments_warn_expiring(actor=system(), now=later(days=29, hours=2)) == 0
    assert OutboxMessage.objects.filter(to=[ann.mail], subject__startswith=subject).count() == 2


def test_the_holder_gives_access_up_and_direct_access_stays():
    s = tailwind()
    policy = s.policy()
    ann = member(s)
    AppRoleAssignment.objects.create(tenant=s.tenant, application=s.app, user=ann)  # assigned directly before
    _deliver(services.request_admin_add(actor=s.admin_actor, package=s.package, policy=policy, target=ann))
    assignment = Assignment.objects.get(target=ann)
    request = services.request_remove(actor=Actor.for_user(ann), assignment=assignment)
    assert request.request_type == "userRemove"
    assert not s.group.members.filter(pk=ann.pk).exists()
    assert AppRoleAssignment.objects.filter(application=s.app, user=ann).exists()
    assert Assignment.objects.get(pk=assignment.pk).status == "Removed"


def test_an_external_requestor_is_invited_silently_and_their_organization_proposed():
    s = tailwind()
    approver = member(s)
    s.policy(allowed_target_scope=T.ALL_EXTERNAL_USERS, is_approval_required_for_add=True,
             stages=[s.stage([approver])])
    proseware = TenantFactory(name="Proseware", slug="proseware", initial_domain="proseware.example")
    from tests.factories import UserFactory

    pat = UserFactory(tenant=proseware, user_principal_name="pat@proseware.example")
    actor = Actor.for_account(pat.account, s.tenant)
    assert actor.user is None
    request = services.request_access(actor=actor, package=s.package)
    organization = ConnectedOrganization.objects.get(tenant=s.tenant)
    assert organization.state == "proposed" and organization.external_tenant_id == proseware.pk
    assert request.connected_organization == organization and request.target is None
    services.approval_decide(actor=Actor.for_user(approver), request=request, approve=True)
    invitations_before = OutboxMessage.objects.filter(to=["pat@proseware.example"]).count()
    _deliver(request)
    request.refresh_from_db()
    guest = request.target
    assert guest.is_guest and guest.mail == "pat@proseware.example"
    invitation = Invitation.objects.get(invited_user=guest)
    assert invitation.send_message is False
    subjects = list(OutboxMessage.objects.filter(to=["pat@proseware.example"]).values_list("subject", flat=True))
    assert len(subjects) == invitations_before + 1 and "You now have access to Campaign collaboration" in subjects
    assert s.group.members.filter(pk=guest.pk).exists()


def test_who_may_manage_a_catalog():
    s = tailwind()
    ann = member(s)
    with pytest.raises(PermissionDenied):
        services.catalog_create(actor=Actor.for_user(ann), tenant=s.tenant, display_name="Mine")
    with pytest.raises(PermissionDenied):
        services.package_create(actor=Actor.for_user(ann), catalog=s.catalog, display_name="Mine")
    services.catalog_role_add(actor=s.admin_actor, catalog=s.catalog, user=ann, role="7f480852-ebdc-47d4-87de-0d8498384a83")
    package = services.package_create(actor=Actor.for_user(ann), catalog=s.catalog, display_name="Mine")
    assert package.catalog == s.catalog
    with pytest.raises(PermissionDenied):  # a package manager does not change the catalog
        services.catalog_update(actor=Actor.for_user(ann), catalog=s.catalog, changes={"description": "x"})
    other = TenantFactory()
    with pytest.raises(PermissionDenied):
        services.package_create(actor=Actor.for_user(s.admin), catalog=services.catalog_create(
            actor=Actor.operator(), tenant=other, display_name="Theirs"), display_name="X")


def test_cancel_a_pending_request():
    s = tailwind()
    approver = member(s)
    s.policy(is_approval_required_for_add=True, stages=[s.stage([approver])])
    ann = member(s)
    request = _request(ann, s.package)
    services.request_cancel(actor=Actor.for_user(ann), request=request)
    request.refresh_from_db()
    assert request.state == "canceled"
    with pytest.raises(services.RequestRefused):
        services.request_cancel(actor=Actor.for_user(ann), request=request)


def test_a_sweep_that_dies_mid_batch_leaves_nothing_half_applied(monkeypatch):
    """The batch's access removal, state change, audit rows and e-mails commit together or not at all: a
    failure after the memberships were removed (as a killed worker) rolls all of it back, and the next
    sweep does the whole batch."""
    from django.db import transaction

    from entitlements.services import revocation

    s = tailwind()
    policy = s.policy()
    holders = [member(s) for _ in range(3)]
    for user in holders:
        _deliver(services.request_admin_add(actor=s.admin_actor, package=s.package, policy=policy, target=user))
    audits = AuditEvent.objects.count()

    def die(*args, **kwargs):
        raise RuntimeError("worker killed")

    with transaction.atomic():  # the test's own transaction stands in for the database's
        # The last step of a batch on every database (after the removals, audit rows and e-mails were written).
        monkeypatch.setattr(revocation, "outbox_publish", die)
        with pytest.raises(RuntimeError):
            services.assignments_expire_due(actor=system(), now=later(days=31))
        monkeypatch.undo()
    assert Assignment.objects.filter(state="delivered").count() == 3
    assert s.group.members.count() == 3 and AppRoleAssignment.objects.filter(application=s.app).count() == 3
    assert AuditEvent.objects.count() == audits
    assert services.assignments_expire_due(actor=system(), now=later(days=31)) == 3
    assert s.group.members.count() == 0


def test_extending_moves_the_end_and_warns_again(django_capture_on_commit_callbacks):
    s = tailwind()
    policy = s.policy(enable_targets_to_self_update=True)
    ann = member(s)
    _deliver(services.request_admin_add(actor=s.admin_actor, package=s.package, policy=policy, target=ann))
    assignment = Assignment.objects.get(target=ann)
    first_end = assignment.expires_at
    assert services.assignments_warn_expiring(actor=system(), now=later(days=17)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        request = services.request_extend(actor=Actor.for_user(ann), assignment=assignment)
    request.refresh_from_db()
    assignment.refresh_from_db()
    assert request.request_type == "userUpdate" and request.state == "delivered"
    assert assignment.expires_at > first_end and assignment.warned_days == 0


def test_an_approver_who_is_also_the_alternate_finds_the_request_once():
    from entitlements import selectors

    s = tailwind()
    approver = member(s)
    s.policy(is_approval_required_for_add=True,
             stages=[s.stage([approver], escalation=[approver], deny_days=5, escalate_days=1)])
    request = _request(member(s), s.package)
    services.requests_sweep_approvals(actor=system(), now=later(days=1, minutes=1))
    actor = Actor.for_user(approver)
    assert selectors.access_request(actor, request.pk) == request
    assert list(selectors.approvals_for(actor)) == [request]
