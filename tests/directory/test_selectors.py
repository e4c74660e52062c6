import pytest

from directory import selectors
from tests.factories import ApplicationFactory, AssignmentFactory, GroupFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_user_sees_apps_assigned_directly_and_through_groups_only():
    tenant = TenantFactory()
    user = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant)
    group.members.add(user)
    direct = AssignmentFactory(application__tenant=tenant, user=user).application
    via_group = AssignmentFactory(application__tenant=tenant, group=group).application
    AssignmentFactory(application__tenant=tenant, user=UserFactory(tenant=tenant))  # someone else's
    hidden = AssignmentFactory(application__tenant=tenant, application__visible_to_users=False, user=user).application
    ApplicationFactory(tenant=tenant)  # not assigned

    apps = list(selectors.applications_for_user(user=user))
    assert set(apps) == {direct, via_group}
    assert hidden in selectors.applications_for_user(user=user, include_hidden=True)


def test_app_assigned_both_ways_is_listed_once():
    tenant = TenantFactory()
    user = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant)
    group.members.add(user)
    app = ApplicationFactory(tenant=tenant)
    AssignmentFactory(application=app, user=user)
    AssignmentFactory(application=app, group=group)
    assert list(selectors.applications_for_user(user=user)) == [app]


def test_apps_selector_runs_one_query_with_a_thousand_apps_and_groups(django_assert_max_num_queries):
    from directory.models import Application, AppRoleAssignment, Group

    tenant = TenantFactory()
    user = UserFactory(tenant=tenant)
    groups = Group.objects.bulk_create(Group(tenant=tenant, display_name=f"G{i}") for i in range(300))
    Group.members.through.objects.bulk_create(
        Group.members.through(group_id=g.pk, user_id=user.pk) for g in groups
    )
    apps = Application.objects.bulk_create(Application(tenant=tenant, display_name=f"A{i}") for i in range(1200))
    AppRoleAssignment.objects.bulk_create(
        [AppRoleAssignment(tenant=tenant, application=a, user=user) for a in apps[:600]]
        + [AppRoleAssignment(tenant=tenant, application=a, group=groups[i % 300]) for i, a in enumerate(apps[600:1100])]
    )
    with django_assert_max_num_queries(1):
        listed = [(a.display_name, a.launch_url) for a in selectors.applications_for_user(user=user)]
    assert len(listed) == 1100


def test_user_can_open_unassigned_app_only_when_assignment_is_not_required():
    tenant = TenantFactory()
    user = UserFactory(tenant=tenant)
    open_app = ApplicationFactory(tenant=tenant, assignment_required=False)
    closed_app = ApplicationFactory(tenant=tenant)
    assert selectors.user_can_open_application(user=user, application=open_app)
    assert not selectors.user_can_open_application(user=user, application=closed_app)
    assert not selectors.user_can_open_application(user=UserFactory(), application=open_app)


def test_disabled_or_deleted_user_cannot_open_apps():
    from django.utils import timezone

    tenant = TenantFactory()
    app = ApplicationFactory(tenant=tenant, assignment_required=False)
    assert not selectors.user_can_open_application(user=UserFactory(tenant=tenant, account_enabled=False),
                                                   application=app)
    assert not selectors.user_can_open_application(user=UserFactory(tenant=tenant, deleted_at=timezone.now()),
                                                   application=app)
