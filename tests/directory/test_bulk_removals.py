"""The directory's set-based removals (an access review's denials): only the named holders, each audited
once, refused to whoever may not manage the group or application."""

import pytest
from django.core.exceptions import PermissionDenied

from directory.actors import Actor
from directory.models import AppRoleAssignment, AuditEvent
from directory.services import app_assignments_remove_many, group_members_remove_many
from tests.factories import ApplicationFactory, GroupFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db


def test_group_members_remove_many_removes_the_named_members_only_and_audits_each():
    tenant = TenantFactory()
    group = GroupFactory(tenant=tenant)
    ann, bob, cid, outsider = (UserFactory(tenant=tenant) for _ in range(4))
    group.members.add(ann, bob, cid)
    removed = group_members_remove_many(actor=Actor.for_user(admin_of(tenant)), group=group,
                                        users=[ann, bob, outsider], reason="Denied in access review 'Q1'")
    assert removed == {ann.pk, bob.pk}
    assert set(group.members.values_list("pk", flat=True)) == {cid.pk}
    events = AuditEvent.objects.filter(activity_display_name="Remove member from group")
    assert events.count() == 2
    assert {"key": "reason", "value": "Denied in access review 'Q1'"} in events.first().additional_details


def test_app_assignments_remove_many_needs_the_right_and_keeps_other_apps():
    tenant = TenantFactory()
    app, other = ApplicationFactory(tenant=tenant), ApplicationFactory(tenant=tenant)
    ann = UserFactory(tenant=tenant)
    for application in (app, other):
        AppRoleAssignment.objects.create(tenant=tenant, application=application, user=ann)
    with pytest.raises(PermissionDenied):
        app_assignments_remove_many(actor=Actor.for_user(UserFactory(tenant=tenant)), application=app, users=[ann])
    assert app_assignments_remove_many(actor=Actor.for_user(admin_of(tenant)), application=app, users=[ann]) == {ann.pk}
    assert list(AppRoleAssignment.objects.values_list("application_id", flat=True)) == [other.pk]
    assert AuditEvent.objects.filter(activity_display_name="Remove app role assignment from user").count() == 1
