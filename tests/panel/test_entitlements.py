"""My Access and Approvals in the access panel: each page's contract, and fixed query counts with
1,000+ packages, requests and assignments."""

import pytest
from django.test import Client
from django.urls import reverse

from directory.actors import Actor
from entitlements import services
from entitlements.models import AccessPackage, Assignment, AssignmentPolicy, AssignmentRequest, Catalog
from tests.factories import UserFactory
from tests.panel.contract import PanelPageContract

T = AssignmentPolicy.TargetScope


def _package(tenant, *, scope=T.ALL_DIRECTORY_USERS, approver=None, name="Campaign collaboration"):
    actor = Actor.operator()
    catalog = services.catalog_create(actor=actor, tenant=tenant, display_name=f"{name} catalog")
    package = services.package_create(actor=actor, catalog=catalog, display_name=name)
    stages = [{"primary_approvers": [{"@odata.type": "#microsoft.graph.singleUser", "userId": str(approver.pk)}]}] \
        if approver else []
    policy = services.policy_create(actor=actor, package=package, display_name="Everyone", allowed_target_scope=scope,
                                    is_approval_required_for_add=bool(approver), stages=stages,
                                    enable_targets_to_self_update=True)
    return package, policy


def _holder(tenant, user):
    return user if user is not None else UserFactory(tenant=tenant)


def _usable(user) -> bool:
    """A blocked or deleted user cannot request: their rows are made directly (the page must refuse them)."""
    return user is None or (user.account_enabled and not user.deleted_at)


class TestMyAccess(PanelPageContract):
    route = "entitlements:my_access"
    # the shell (tenant, session, account, user, roles, branding, organizations, the entry rules); held, open
    # requests, groups,
    # packages with their policies (2), my requests, my assignments
    max_queries = 10

    def make_target(self, tenant, user):
        _package(tenant)
        return {}

    def check_success(self, response, tenant, user, target):
        assert "Campaign collaboration" in response.content.decode()


class TestPackagePage(PanelPageContract):
    route = "entitlements:package"
    max_queries = 9

    def make_target(self, tenant, user):
        package, _policy = _package(tenant, scope=T.ALL_MEMBER_USERS)
        return {"package_id": package.pk}

    def check_success(self, response, tenant, user, target):
        page = response.content.decode()
        assert "Campaign collaboration" in page
        assert ("Request access" in page) == (not user.is_guest)


class TestCancelRequest(PanelPageContract):
    route = "entitlements:cancel"
    member_status = 302
    max_queries = 4

    def make_target(self, tenant, user):
        package, policy = _package(tenant, approver=UserFactory(tenant=tenant))
        if not _usable(user):
            return {"request_id": AssignmentRequest.objects.create(
                tenant=tenant, package=package, policy=policy, request_type="userAdd", state="pendingApproval",
                target=user, requestor=user).pk}
        request = services.request_access(actor=Actor.for_user(_holder(tenant, user)), package=package)
        return {"request_id": request.pk}


class _Held(PanelPageContract):
    member_status = 302
    max_queries = 4

    def make_target(self, tenant, user):
        package, policy = _package(tenant)
        if not _usable(user):
            return {"assignment_id": Assignment.objects.create(tenant=tenant, package=package, policy=policy,
                                                               target=user, state="delivered").pk}
        request = services.request_admin_add(actor=Actor.operator(), package=package, policy=policy,
                                             target=_holder(tenant, user))
        services.request_deliver(actor=Actor.system(None, "tests"), request_id=request.pk)
        return {"assignment_id": Assignment.objects.get(requests=request).pk}


class TestExtend(_Held):
    route = "entitlements:extend"


class TestGiveUp(_Held):
    route = "entitlements:remove"


class TestApprovals(PanelPageContract):
    route = "entitlements:approvals"
    max_queries = 5

    def make_target(self, tenant, user):
        package, _policy = _package(tenant, approver=_holder(tenant, user))
        services.request_access(actor=Actor.for_user(UserFactory(tenant=tenant, display_name="Rita Requestor")),
                                package=package)
        return {}

    def check_success(self, response, tenant, user, target):
        assert "Rita Requestor" in response.content.decode()


class TestDecide(PanelPageContract):
    route = "entitlements:decide"
    member_status = 302
    max_queries = 4

    def make_target(self, tenant, user):
        package, _policy = _package(tenant, approver=_holder(tenant, user))
        request = services.request_access(actor=Actor.for_user(UserFactory(tenant=tenant)), package=package)
        return {"request_id": request.pk}


# --- behaviour --------------------------------------------------------------------------------------


def _bulk(tenant, member, approver, n: int = 1000):
    """n packages anyone may request, n requests by ``member`` waiting for ``approver``, n assignments."""
    catalog = Catalog.objects.create(tenant=tenant, display_name="Bulk")
    packages = AccessPackage.objects.bulk_create(
        AccessPackage(tenant=tenant, catalog=catalog, display_name=f"Package {i:04}") for i in range(n))
    policies = AssignmentPolicy.objects.bulk_create(
        AssignmentPolicy(tenant=tenant, package=p, display_name="All", allowed_target_scope=T.ALL_DIRECTORY_USERS)
        for p in packages)
    requests = AssignmentRequest.objects.bulk_create(
        AssignmentRequest(tenant=tenant, package=p, policy=pol, request_type="userAdd", state="pendingApproval",
                          target=member, requestor=member, current_stage=1)
        for p, pol in zip(packages, policies, strict=True))
    from entitlements.models import ApprovalStageRecord, StageApprover

    stages = ApprovalStageRecord.objects.bulk_create(
        ApprovalStageRecord(request=r, order=1, status="InProgress") for r in requests)
    StageApprover.objects.bulk_create(StageApprover(stage=s, user=approver) for s in stages)
    Assignment.objects.bulk_create(
        Assignment(tenant=tenant, package=p, policy=pol, target=member, state="delivered")
        for p, pol in zip(packages, policies, strict=True))


@pytest.mark.django_db
def test_my_access_and_approvals_run_a_fixed_number_of_queries_with_1000_rows(django_assert_max_num_queries):
    from tests.factories import TenantFactory

    tenant = TenantFactory()
    member, approver = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    _bulk(tenant, member, approver)
    client = Client()
    client.force_login(member.account)
    client.get(reverse("directory:panel", args=[tenant.slug]))  # steady state: per-tenant caches warm
    with django_assert_max_num_queries(TestMyAccess.max_queries):
        response = client.get(reverse("entitlements:my_access", args=[tenant.slug]))
    assert response.status_code == 200 and "Package 0000" in response.content.decode()
    client.force_login(approver.account)
    with django_assert_max_num_queries(TestApprovals.max_queries):
        response = client.get(reverse("entitlements:approvals", args=[tenant.slug]))
    assert response.status_code == 200 and response.content.decode().count('name="decision" value="approve"') == 100


@pytest.mark.django_db
def test_a_member_requests_from_my_access_and_the_approver_approves_in_the_panel():
    from tests.factories import TenantFactory

    tenant = TenantFactory()
    member, approver = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    package, _policy = _package(tenant, approver=approver, scope=T.ALL_MEMBER_USERS)
    client = Client()
    client.force_login(member.account)
    response = client.post(reverse("entitlements:package", args=[tenant.slug, package.pk]),
                           {"justification": "For the Q3 campaign"})
    assert response.status_code == 302
    request = AssignmentRequest.objects.get(target=member)
    assert request.state == "pendingApproval" and request.justification == "For the Q3 campaign"
    client.force_login(approver.account)
    page = client.get(reverse("entitlements:approvals", args=[tenant.slug])).content.decode()
    assert "For the Q3 campaign" in page
    client.post(reverse("entitlements:decide", args=[tenant.slug, request.pk]), {"decision": "deny",
                                                                                  "justification": "Not now"})
    request.refresh_from_db()
    assert request.state == "denied"
    page = client.get(reverse("entitlements:approvals", args=[tenant.slug])).content.decode()
    assert "Campaign collaboration" in page  # in the history


@pytest.mark.django_db
def test_a_hidden_package_is_not_listed_but_its_link_works():
    from tests.factories import TenantFactory

    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    package, _policy = _package(tenant, scope=T.ALL_MEMBER_USERS, name="Secret project")
    services.package_update(actor=Actor.operator(), package=package, changes={"is_hidden": True})
    client = Client()
    client.force_login(member.account)
    assert "Secret project" not in client.get(reverse("entitlements:my_access", args=[tenant.slug])).content.decode()
    page = client.get(reverse("entitlements:package", args=[tenant.slug, package.pk])).content.decode()
    assert "Secret project" in page and "Request access" in page


@pytest.mark.django_db
def test_someone_not_in_the_directory_opens_the_link_and_requests():
    from tests.factories import TenantFactory

    tenant = TenantFactory(name="Tailwind Traders")
    approver = UserFactory(tenant=tenant)
    package, _policy = _package(tenant, scope=T.ALL_EXTERNAL_USERS, approver=approver)
    proseware = TenantFactory(name="Proseware")
    pat = UserFactory(tenant=proseware)
    client = Client()
    client.force_login(pat.account)
    response = client.get(reverse("entitlements:package", args=[tenant.slug, package.pk]))
    external = reverse("entitlements:external", args=[tenant.slug, package.pk])
    assert response.status_code == 302 and response["Location"] == external
    assert "Request access" in client.get(external).content.decode()
    response = client.post(external, {"justification": "Joint campaign"})
    assert response.status_code == 200 and "Your request was submitted" in response.content.decode()
    request = AssignmentRequest.objects.get(package=package)
    assert request.target is None and request.target_email == pat.account.email
    assert request.connected_organization.state == "proposed"


@pytest.mark.django_db
def test_my_access_and_approvals_speak_german():
    from tests.factories import TenantFactory

    tenant = TenantFactory()
    member, approver = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    package, _policy = _package(tenant, approver=approver, scope=T.ALL_MEMBER_USERS)
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    client.force_login(member.account)
    page = client.get(reverse("entitlements:my_access", args=[tenant.slug])).content.decode()
    assert "Zugriffspakete, die Sie anfordern können" in page and "Meine Anfragen" in page
    page = client.get(reverse("entitlements:package", args=[tenant.slug, package.pk])).content.decode()
    assert "Geschäftliche Begründung" in page and "Zugriff anfordern" in page
    client.post(reverse("entitlements:package", args=[tenant.slug, package.pk]), {"justification": "Q3"})
    page = client.get(reverse("entitlements:my_access", args=[tenant.slug])).content.decode()
    assert "Ihre Anfrage wurde übermittelt." in page and "Genehmigung ausstehend" in page
    client.force_login(approver.account)
    page = client.get(reverse("entitlements:approvals", args=[tenant.slug])).content.decode()
    assert "Genehmigungen" in page and "Genehmigen" in page and "Ablehnen" in page and "Entscheiden bis" in page
