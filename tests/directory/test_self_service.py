"""Self-service groups and applications: join, leave, requests that owners or approvers decide, e-mails."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection  # the PostgreSQL-only skipif reads it
from django.test import Client
from django.urls import reverse

from directory import services
from directory.actors import Actor
from directory.models import AppRoleAssignment, AuditEvent, Group, OutboxMessage, SelfServiceRequest, User
from directory.selectors import people_search
from tests.factories import (
    AccountFactory,
    ApplicationFactory,
    GroupFactory,
    GuestFactory,
    TenantFactory,
    UserFactory,
    admin_of,
)

pytestmark = pytest.mark.django_db
S = SelfServiceRequest.Status


def approval_tenant():
    tenant = TenantFactory()
    tenant.owners_manage_join_requests = True
    tenant.save()
    return tenant


def test_a_member_joins_an_open_group_at_once_and_leaves_it():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant, members_can_join=True)
    assert services.group_join(actor=Actor.for_user(member), group=group) is None
    assert group.members.filter(pk=member.pk).exists()
    assert services.group_leave(actor=Actor.for_user(member), group=group) is True
    assert not group.members.exists()
    assert [e.activity_display_name for e in AuditEvent.objects.order_by("activity_date_time")] == [
        "Add member to group", "Remove member from group"]


def test_groups_only_owners_manage_cannot_be_joined_or_left_from_the_panel():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant)
    with pytest.raises(PermissionDenied):
        services.group_join(actor=Actor.for_user(member), group=group)
    group.members.add(member)
    with pytest.raises(PermissionDenied):
        services.group_leave(actor=Actor.for_user(member), group=group)
    assert group.members.filter(pk=member.pk).exists()


def test_self_service_switched_off_refuses_joining_and_hides_my_groups():
    tenant = TenantFactory(groups_self_service_enabled=False)
    member = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant, members_can_join=True)
    with pytest.raises(PermissionDenied):
        services.group_join(actor=Actor.for_user(member), group=group)
    client = Client()
    client.force_login(member.account)
    assert client.get(reverse("directory:groups", args=[tenant.slug])).status_code == 404
    page = client.get(reverse("directory:panel", args=[tenant.slug])).content.decode()
    assert reverse("directory:groups", args=[tenant.slug]) not in page


def test_a_join_request_mails_each_owner_in_their_language_and_the_approval_adds_the_member():
    tenant = approval_tenant()
    requester = UserFactory(tenant=tenant, display_name="Rita Requester")
    owner_en = UserFactory(tenant=tenant)
    owner_de = UserFactory(tenant=tenant, preferred_language="de-DE")
    group = GroupFactory(tenant=tenant, display_name="Secret Lab", members_can_join=True, join_requires_approval=True)
    group.owners.add(owner_en, owner_de)
    request = services.group_join(actor=Actor.for_user(requester), group=group, justification="I run the lab")
    assert request.status == S.PENDING and not group.members.exists()
    # asking again finds the same request
    assert services.group_join(actor=Actor.for_user(requester), group=group) == request
    to_en = OutboxMessage.objects.get(to=[owner_en.mail])
    to_de = OutboxMessage.objects.get(to=[owner_de.mail])
    assert to_en.subject == "Rita Requester asks to join Secret Lab" and "I run the lab" in to_en.body_text
    assert "bittet um Aufnahme in Secret Lab" in to_de.subject and "Anfrage prüfen" in to_de.body_html
    services.self_service_request_decide(actor=Actor.for_user(owner_de), request=request, approve=True)
    assert group.members.filter(pk=requester.pk).exists()
    decided = OutboxMessage.objects.get(to=[requester.mail])
    assert decided.subject == "Your request to join Secret Lab was approved"
    with pytest.raises(ValidationError):  # the other owner finds it decided
        services.self_service_request_decide(actor=Actor.for_user(owner_en), request=request, approve=False)
    assert AuditEvent.objects.filter(activity_display_name="Approve group join request").count() == 1


def test_only_the_groups_owners_or_an_administrator_decide_and_a_denial_grants_nothing():
    tenant = approval_tenant()
    requester, stranger = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant, members_can_join=True, join_requires_approval=True)
    request = services.group_join(actor=Actor.for_user(requester), group=group)
    with pytest.raises(PermissionDenied):
        services.self_service_request_decide(actor=Actor.for_user(stranger), request=request, approve=True)
    with pytest.raises(PermissionDenied):  # nor the requester itself
        services.self_service_request_decide(actor=Actor.for_user(requester), request=request, approve=True)
    services.self_service_request_decide(actor=Actor.for_user(admin_of(tenant)), request=request, approve=False)
    request.refresh_from_db()
    assert request.status == S.DENIED and not group.members.exists()


def test_approval_groups_take_no_requests_unless_owners_manage_join_requests():
    tenant = TenantFactory()  # Entra's default: owners do not manage membership requests
    member = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant, members_can_join=True, join_requires_approval=True)
    with pytest.raises(PermissionDenied):
        services.group_join(actor=Actor.for_user(member), group=group)
    assert not SelfServiceRequest.objects.exists()


def test_a_limited_guest_cannot_join_a_group_it_cannot_see():
    tenant = TenantFactory()
    guest = GuestFactory(tenant=tenant, external_user_state="Accepted", account=AccountFactory())
    group = GroupFactory(tenant=tenant, members_can_join=True)
    with pytest.raises(PermissionDenied):
        services.group_join(actor=Actor.for_user(guest), group=group)


def test_a_member_creates_a_group_and_owns_it_where_the_tenant_allows_it():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    with pytest.raises(PermissionDenied):  # off by default (allowedToCreateSecurityGroups: false)
        services.group_create(actor=Actor.for_user(member), tenant=tenant, display_name="Book club")
    tenant.members_can_create_security_groups = True
    tenant.save()
    group = services.group_create(actor=Actor.for_user(member), tenant=tenant, display_name="Book club",
                                  members_can_join=True)
    assert list(group.owners.all()) == [member]
    tenant.members_can_create_security_groups = False
    tenant.save()
    with pytest.raises(PermissionDenied):
        services.group_create(actor=Actor.for_user(member), tenant=tenant, display_name="Chess club")
    # administrators still create groups, without becoming owners
    made = services.group_create(actor=Actor.for_user(admin_of(tenant)), tenant=tenant, display_name="Chess club")
    assert not made.owners.exists()
    guest = GuestFactory(tenant=tenant, external_user_state="Accepted", account=AccountFactory())
    with pytest.raises(PermissionDenied):
        services.group_create(actor=Actor.for_user(guest), tenant=tenant, display_name="Guests' club")


def test_self_service_app_access_without_approval_adds_the_requester_to_the_apps_group():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant)
    app = ApplicationFactory(tenant=tenant, self_service_enabled=True, self_service_requires_approval=False,
                             self_service_group=group)
    assert services.application_access_request(actor=Actor.for_user(member), application=app) is None
    assert group.members.filter(pk=member.pk).exists()


def test_app_access_requests_are_decided_by_the_apps_approvers_with_the_same_request_service():
    tenant = TenantFactory()
    member, approver, owner = UserFactory(tenant=tenant), UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    app = ApplicationFactory(tenant=tenant, display_name="Payroll", self_service_enabled=True)
    app.self_service_approvers.add(approver)
    app.owners.add(owner)
    request = services.application_access_request(actor=Actor.for_user(member), application=app,
                                                  justification="month end")
    assert request.status == S.PENDING and request.application == app
    assert OutboxMessage.objects.filter(to=[approver.mail]).exists()
    assert not OutboxMessage.objects.filter(to=[owner.mail]).exists()  # approvers named: they decide
    with pytest.raises(PermissionDenied):
        services.self_service_request_decide(actor=Actor.for_user(owner), request=request, approve=True)
    services.self_service_request_decide(actor=Actor.for_user(approver), request=request, approve=True)
    assert AppRoleAssignment.objects.filter(application=app, user=member).exists()


def test_apps_without_self_service_take_no_requests_and_guests_ask_their_inviter():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    with pytest.raises(PermissionDenied):
        services.application_access_request(actor=Actor.for_user(member), application=ApplicationFactory(tenant=tenant))
    guest = GuestFactory(tenant=tenant, external_user_state="Accepted", account=AccountFactory())
    with pytest.raises(PermissionDenied):
        services.application_access_request(actor=Actor.for_user(guest), application=ApplicationFactory(
            tenant=tenant, self_service_enabled=True))


def test_the_requester_withdraws_a_request():
    tenant = approval_tenant()
    member = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant, members_can_join=True, join_requires_approval=True)
    request = services.group_join(actor=Actor.for_user(member), group=group)
    services.self_service_request_cancel(actor=Actor.for_user(member), request=request)
    request.refresh_from_db()
    assert request.status == S.CANCELED


def test_people_search_uses_what_the_actor_may_see():
    tenant = TenantFactory()
    UserFactory(tenant=tenant, display_name="Zoe Zimmer")
    member = UserFactory(tenant=tenant)
    guest = GuestFactory(tenant=tenant, external_user_state="Accepted", account=AccountFactory())
    other = TenantFactory()
    UserFactory(tenant=other, display_name="Zoe Other")
    assert [u.display_name for u in people_search(Actor.for_user(member), "zo")] == ["Zoe Zimmer"]
    assert people_search(Actor.for_user(guest), "zo") == []  # a limited guest sees only itself


# --- the pages ------------------------------------------------------------------------------------------


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user.account)
    return client


def test_a_group_owner_adds_and_removes_a_member_from_the_owners_page():
    tenant = TenantFactory()
    owner, person = UserFactory(tenant=tenant), UserFactory(tenant=tenant, display_name="Pia Person")
    group = GroupFactory(tenant=tenant)
    group.owners.add(owner)
    client = signed_in(owner)
    url = reverse("directory:group_manage", args=[tenant.slug, group.pk])
    assert "Pia Person" in client.get(url, {"q": "pia"}).content.decode()
    client.post(url, {"action": "add_member", "user_id": str(person.pk)})
    assert group.members.filter(pk=person.pk).exists()
    client.post(url, {"action": "remove_member", "user_id": str(person.pk)})
    assert not group.members.exists()


def test_an_app_owner_adds_and_removes_people_from_the_owners_page():
    tenant = TenantFactory()
    owner, person = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    app = ApplicationFactory(tenant=tenant)
    app.owners.add(owner)
    client = signed_in(owner)
    url = reverse("directory:app_manage", args=[tenant.slug, app.pk])
    client.post(url, {"action": "add_member", "user_id": str(person.pk)})
    assignment = AppRoleAssignment.objects.get(application=app, user=person)
    client.post(url, {"action": "remove", "assignment_id": str(assignment.pk)})
    assert not AppRoleAssignment.objects.filter(application=app).exists()


def test_an_owner_page_of_another_owners_group_changes_nothing():
    tenant = TenantFactory()
    member, person = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant)
    response = signed_in(member).post(reverse("directory:group_manage", args=[tenant.slug, group.pk]),
                                      {"action": "add_member", "user_id": str(person.pk)})
    assert response.status_code == 404 and not group.members.exists()


def make_many(tenant, owner, count):
    people = User.objects.bulk_create(
        UserFactory.build(tenant=tenant, account=None, display_name=f"Person {n:04}",
                          user_principal_name=f"p{n}@{tenant.initial_domain}", mail=f"p{n}@{tenant.initial_domain}")
        for n in range(count))
    groups = Group.objects.bulk_create(Group(tenant=tenant, display_name=f"Group {n:04}", members_can_join=n % 2 == 0)
                                       for n in range(count))
    owned = groups[0]
    owned.owners.add(owner)
    owned.members.add(*people)
    for group in groups[1:count // 2]:
        group.owners.add(owner)
    for group in groups[count // 2:]:
        group.members.add(owner)
    app = ApplicationFactory(tenant=tenant)
    app.owners.add(owner)
    AppRoleAssignment.objects.bulk_create(AppRoleAssignment(tenant=tenant, application=app, user=p) for p in people)
    tenant.owners_manage_join_requests = True
    tenant.save()
    for person in people[:count // 10]:
        SelfServiceRequest.objects.create(tenant=tenant, group=owned, requester=person)
    return owned, app


@pytest.mark.parametrize("page", ["groups", "group_manage", "app_manage", "requests"])
def test_the_pages_run_the_same_queries_for_one_row_and_for_a_thousand(page, django_assert_max_num_queries):
    """Owners of 1,000 groups with 1,000 members, 1,000 people assigned and 100 requests cost what one costs."""
    counts = []
    for count in (2, 1000):
        tenant = TenantFactory()
        owner = UserFactory(tenant=tenant)
        group, app = make_many(tenant, owner, count)
        args = {"groups": [tenant.slug], "requests": [tenant.slug], "group_manage": [tenant.slug, group.pk],
                "app_manage": [tenant.slug, app.pk]}[page]
        client = signed_in(owner)
        with django_assert_max_num_queries(20) as queries:
            response = client.get(reverse(f"directory:{page}", args=args))
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_on_postgresql_people_search_runs_on_the_prefix_indexes():
    """The owners' "add a member" search is a name or mail prefix, on the C-collated name index of
    migration 0008 and the mail prefix index of 0006 (0014 dropped the name's text_pattern_ops index), on
    3,000 analysed rows: the very statement people_search runs, explained."""
    from django.test.utils import CaptureQueriesContext

    tenant, other = TenantFactory(), TenantFactory()
    member = UserFactory(tenant=tenant)
    User.objects.bulk_create([User(tenant=tenant if i % 3 else other, display_name=f"Person {i} Doe",
                                   user_principal_name=f"p{i}@{tenant.initial_domain}",
                                   mail=f"p{i}@{tenant.initial_domain}") for i in range(3000)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE directory_user")
    with CaptureQueriesContext(connection) as queries:
        found = people_search(Actor.for_user(member), "Person 12")
    assert found and all(u.display_name.startswith("Person 12") for u in found)
    statement = next(q["sql"] for q in queries.captured_queries if "LIKE" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {statement}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "user_tenant_name_bytewise_idx" in plan and "user_search_mail_prefix" in plan, plan


def test_an_owner_makes_someone_an_owner_and_finds_the_apps_it_owns_on_the_requests_page():
    tenant = TenantFactory()
    owner, person = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant)
    group.owners.add(owner)
    app = ApplicationFactory(tenant=tenant, display_name="Owned Tool")
    app.owners.add(owner)
    client = signed_in(owner)
    client.post(reverse("directory:group_manage", args=[tenant.slug, group.pk]),
                {"action": "add_owner", "user_id": str(person.pk)})
    assert group.owners.filter(pk=person.pk).exists()
    page = client.get(reverse("directory:requests", args=[tenant.slug])).content.decode()
    assert reverse("directory:app_manage", args=[tenant.slug, app.pk]) in page and "Manage Owned Tool" in page


def test_requestable_applications_are_the_self_service_ones_not_yet_open_to_the_member():
    from directory.selectors import applications_requestable_by

    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    guest = GuestFactory(tenant=tenant, external_user_state="Accepted", account=AccountFactory())
    wanted = ApplicationFactory(tenant=tenant, display_name="Wanted", self_service_enabled=True)
    have = ApplicationFactory(tenant=tenant, self_service_enabled=True)
    AppRoleAssignment.objects.create(tenant=tenant, application=have, user=member)
    ApplicationFactory(tenant=tenant)  # no self-service
    assert list(applications_requestable_by(Actor.for_user(member))) == [wanted]
    assert not applications_requestable_by(Actor.for_user(guest)).exists()


def test_the_owners_search_finds_members_beyond_the_first_page_and_offers_to_remove_them():
    tenant = TenantFactory()
    owner = UserFactory(tenant=tenant)
    member = UserFactory(tenant=tenant, display_name="Quentin Member")
    UserFactory(tenant=tenant, display_name="Quincy Outsider")
    group = GroupFactory(tenant=tenant)
    group.owners.add(owner)
    group.members.add(member)
    page = signed_in(owner).get(reverse("directory:group_manage", args=[tenant.slug, group.pk]), {"q": "qu"})
    found = page.content.decode().split('class="found"')[1]
    quentin, quincy = found.split("Quincy Outsider")
    assert 'value="remove_member"' in quentin.split("Quentin Member")[1] and 'value="add_member"' in quincy
