"""Entitlement management in the admin console: scoped to the tenant, every write through a service."""

import pytest
from django.test import Client
from django.urls import reverse

from directory.models import AuditEvent, Role
from entitlements.models import Assignment, AssignmentPolicy, Catalog
from tests.factories import TenantFactory, UserFactory, admin_of

from .scenario import tailwind

pytestmark = pytest.mark.django_db


def _console(user) -> Client:
    client = Client()
    client.force_login(user.account)
    return client


def test_an_identity_governance_administrator_manages_catalogs_and_sees_no_other_tenant():
    tenant, other = TenantFactory(), TenantFactory()
    governor = admin_of(tenant, Role.IDENTITY_GOVERNANCE_ADMINISTRATOR)
    client = _console(governor)
    response = client.post(reverse("admin:entitlements_catalog_add"), {
        "tenant": str(tenant.pk), "display_name": "Partners", "description": "", "state": "published",
        "is_externally_visible": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    catalog = Catalog.objects.get(tenant=tenant)
    assert AuditEvent.objects.filter(activity_display_name="Create access package catalog", tenant=tenant).exists()
    theirs = Catalog.objects.create(tenant=other, display_name="Theirs")
    assert client.get(reverse("admin:entitlements_catalog_change", args=[theirs.pk])).status_code == 404
    page = client.get(reverse("admin:entitlements_catalog_changelist")).content.decode()
    assert catalog.display_name in page and "Theirs" not in page


def test_a_groups_administrator_has_no_entitlement_area():
    tenant = TenantFactory()
    client = _console(admin_of(tenant, Role.GROUPS_ADMINISTRATOR))
    assert client.get(reverse("admin:entitlements_catalog_changelist")).status_code == 403


def test_the_policy_form_reads_like_the_wizard_and_builds_stages_and_questions():
    s = tailwind()
    approver, alternate = UserFactory(tenant=s.tenant), UserFactory(tenant=s.tenant)
    client = _console(s.admin)
    page = client.get(reverse("admin:entitlements_assignmentpolicy_add")).content.decode()
    assert "Users who can request access" in page and "Forward to alternate approvers" in page
    response = client.post(reverse("admin:entitlements_assignmentpolicy_add"), {
        "package": str(s.package.pk), "display_name": "Partners", "description": "",
        "allowed_target_scope": "allExternalUsers", "enable_targets_to_self_add": "on",
        "is_approval_required_for_add": "on", "stage1_approvers": [str(approver.pk)], "stage1_days": "7",
        "stage1_alternates": [str(alternate.pk)], "stage1_forward_days": "2", "stage2_days": "14",
        "question": "Which project?", "question_de": "Welches Projekt?", "question_required": "on",
        "expiration_type": "afterDuration", "expiration_days": "90", "enable_targets_to_self_remove": "on"})
    assert response.status_code == 302, response.content.decode()[:3000]
    policy = AssignmentPolicy.objects.get(display_name="Partners")
    stage = policy.stages.get()
    assert stage.primary_approvers == [{"@odata.type": "#microsoft.graph.singleUser", "userId": str(approver.pk)}]
    assert stage.is_escalation_enabled and stage.duration_before_escalation.days == 2
    assert policy.questions.get().localizations == {"de": "Welches Projekt?"}
    assert policy.expiration_duration.days == 90
    assert "Which project?" in client.get(reverse("admin:entitlements_assignmentpolicy_change",
                                                  args=[policy.pk])).content.decode()


def test_direct_assignment_and_removal_from_the_console(django_capture_on_commit_callbacks):
    s = tailwind()
    policy = s.policy()
    ann = UserFactory(tenant=s.tenant)
    client = _console(s.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:entitlements_assignment_add"), {
            "package": str(s.package.pk), "policy": str(policy.pk), "target": str(ann.pk)})
    assert response.status_code == 302, response.content.decode()[:3000]
    assignment = Assignment.objects.get(target=ann)
    assert assignment.state == "delivered" and s.group.members.filter(pk=ann.pk).exists()
    response = client.post(reverse("admin:entitlements_assignment_changelist"), {
        "action": "remove_selected", "_selected_action": [str(assignment.pk)]})
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.status == "Removed" and not s.group.members.filter(pk=ann.pk).exists()
