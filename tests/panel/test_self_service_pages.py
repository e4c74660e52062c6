"""The self-service pages of the access panel: My Groups, a group's and an application's owners' pages, the
requests an owner decides, asking for an application, and "Invite someone"."""

import itertools

import pytest

from directory.models import SelfServiceRequest
from policies.models import CollaborationSettings
from tests.factories import ApplicationFactory, AssignmentFactory, GroupFactory, UserFactory
from tests.panel.contract import PanelPageContract

GA = CollaborationSettings.GuestAccess
ALL_GUESTS_404 = {level: 404 for level in GA}
_n = itertools.count()

pytestmark = pytest.mark.django_db


class TestMyGroups(PanelPageContract):
    route = "directory:groups"
    # session, account, organizations (with roles), owned, member of, joinable, requests asked, requests to
    # decide (branding, settings: per-process copies; the Invite section asks once per page)
    max_queries = 8

    def make_target(self, tenant, user):
        self.owned = GroupFactory(tenant=tenant, display_name="Owned Team")
        self.open = GroupFactory(tenant=tenant, display_name="Open Club", members_can_join=True)
        if user is not None:
            self.owned.owners.add(user)
            self.owned.members.add(user)
        return {}

    def check_success(self, response, tenant, user, target):
        page = response.content.decode()
        assert "Owned Team" in page
        if not user.is_guest:
            assert "Open Club" in page and 'value="join"' in page


class TestGroupManage(PanelPageContract):
    route = "directory:group_manage"
    owner_kind = "group"
    member_status = 404  # not yours: the same answer as a missing group
    guest_statuses = ALL_GUESTS_404
    # a member who does not own it is answered 404 at once (the owner's page: see the 1,000-row test); the
    # 404 page carries the tenant's branding (tenant and branding read again by the error handler)
    max_queries = 7

    def make_target(self, tenant, user):
        group = GroupFactory(tenant=tenant, display_name=f"Managed Team {next(_n)}")
        group.members.add(UserFactory(tenant=tenant, display_name="Member Mia"))
        return {"group_id": group.pk}

    def check_success(self, response, tenant, user, target):
        page = response.content.decode()
        assert "Managed Team" in page and "Member Mia" in page and 'value="remove_member"' in page


class TestRequests(PanelPageContract):
    route = "directory:requests"
    max_queries = 6  # … and the applications the person owns

    def make_target(self, tenant, user):
        self.group = GroupFactory(tenant=tenant, display_name="Approval Team", members_can_join=True,
                                  join_requires_approval=True)
        if user is not None:
            self.group.owners.add(user)
            SelfServiceRequest.objects.create(tenant=tenant, group=self.group,
                                              requester=UserFactory(tenant=tenant, display_name="Asking Ann"))
        return {}

    def check_success(self, response, tenant, user, target):
        assert "Asking Ann" in response.content.decode()


class TestAppManage(PanelPageContract):
    route = "directory:app_manage"
    owner_kind = "application"
    member_status = 404
    guest_statuses = ALL_GUESTS_404
    max_queries = 7  # as TestGroupManage: a branded 404

    def make_target(self, tenant, user):
        app = ApplicationFactory(tenant=tenant, display_name=f"Owned App {next(_n)}")
        AssignmentFactory(application=app, user=UserFactory(tenant=tenant, display_name="Assigned Ada"))
        return {"app_id": app.pk}

    def check_success(self, response, tenant, user, target):
        page = response.content.decode()
        assert "Owned App" in page and "Assigned Ada" in page


class TestAppAccessRequest(PanelPageContract):
    route = "directory:app_access_request"
    max_queries = 6

    def make_target(self, tenant, user):
        app = ApplicationFactory(tenant=tenant, display_name="Requestable App", self_service_enabled=True)
        return {"app_id": app.pk}

    def check_success(self, response, tenant, user, target):
        page = response.content.decode()
        assert "Requestable App" in page
        if not user.is_guest:
            assert "Request access" in page


class TestInvite(PanelPageContract):
    route = "invitations:invite"
    # the default allowInvitesFrom (adminsGuestInvitersAndAllMembers) lets members invite, not guests
    guest_statuses = ALL_GUESTS_404
    max_queries = 6

    def make_target(self, tenant, user):
        if user is not None:
            GroupFactory(tenant=tenant, display_name="Inviter's Team").owners.add(user)
        return {}

    def check_success(self, response, tenant, user, target):
        page = response.content.decode()
        assert "Inviter&#x27;s Team" in page and 'name="email"' in page
