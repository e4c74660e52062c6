"""Self-service requests decided from the admin console (directory/admin/requests.py): who sees which, the
decision through the panel's service (audit, e-mail), another tenant's request, and the list's query budget."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse

from directory import services
from directory.actors import Actor
from directory.models import AppRoleAssignment, AuditEvent, OutboxMessage, Role, SelfServiceRequest
from tests.factories import ApplicationFactory, GroupFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db
S = SelfServiceRequest.Status
LIST = reverse("admin:directory_selfservicerequest_changelist")


def _change(found):
    return reverse("admin:directory_selfservicerequest_change", args=[found.pk])


def _decide(found):
    return reverse("admin:directory_selfservicerequest_decide", args=[found.pk])


def _tenant(name="Tailwind"):
    tenant = TenantFactory(name=name)
    tenant.owners_manage_join_requests = True
    tenant.save()
    return tenant


def join_request(tenant, *, name="Ada Asker", group_name="Finance"):
    group = GroupFactory(tenant=tenant, display_name=group_name, members_can_join=True, join_requires_approval=True)
    group.owners.add(UserFactory(tenant=tenant))
    person = UserFactory(tenant=tenant, display_name=name, mail=f"{name.replace(' ', '.').lower()}@{tenant.initial_domain}")
    return services.group_join(actor=Actor.for_user(person), group=group, justification="Quarter close")


def app_request(tenant, *, name="Bo Asker", app_name="Project Tracker"):
    app = ApplicationFactory(tenant=tenant, display_name=app_name, self_service_enabled=True,
                             self_service_requires_approval=True)
    app.owners.add(UserFactory(tenant=tenant))
    person = UserFactory(tenant=tenant, display_name=name, mail=f"{name.replace(' ', '.').lower()}@{tenant.initial_domain}")
    return services.application_access_request(actor=Actor.for_user(person), application=app, justification="Plans")


def console(user) -> Client:
    client = Client()
    client.force_login(user.account)
    return client


def test_a_groups_administrator_sees_the_pending_join_requests_of_its_tenant_only():
    tenant, other = _tenant(), _tenant("Contoso")
    mine, theirs = join_request(tenant), join_request(other, name="Cy Theirs", group_name="Secret Team")
    app_asked = app_request(tenant)
    page = console(admin_of(tenant, Role.GROUPS_ADMINISTRATOR)).get(LIST).content.decode()
    assert "Ada Asker" in page and "Finance" in page and "Quarter close" in page
    assert "Cy Theirs" not in page and "Secret Team" not in page and "Contoso" not in page
    assert app_asked.requester.display_name not in page  # application requests are the app admins'
    assert mine.status == S.PENDING and theirs.status == S.PENDING


def test_an_application_administrator_sees_application_requests_and_no_join_requests():
    tenant = _tenant()
    join_request(tenant)
    app_request(tenant)
    page = console(admin_of(tenant, Role.APPLICATION_ADMINISTRATOR)).get(LIST).content.decode()
    assert "Bo Asker" in page and "Project Tracker" in page
    assert "Ada Asker" not in page


def test_a_guest_inviter_has_no_request_list():
    tenant = _tenant()
    join_request(tenant)
    assert console(admin_of(tenant, Role.GUEST_INVITER)).get(LIST).status_code == 403


def test_the_list_filters_by_status_and_kind():
    tenant = _tenant()
    decided = join_request(tenant, name="Dee Decided", group_name="Legal")
    services.self_service_request_decide(actor=Actor.operator(), request=decided, approve=False)
    join_request(tenant)
    app_request(tenant)
    client = console(admin_of(tenant))
    pending = client.get(LIST).content.decode()
    assert "Ada Asker" in pending and "Bo Asker" in pending and "Dee Decided" not in pending
    denied = client.get(LIST, {"status": S.DENIED}).content.decode()
    assert "Dee Decided" in denied and "Ada Asker" not in denied
    every = client.get(LIST, {"status": "all", "kind": "group"}).content.decode()
    assert "Dee Decided" in every and "Ada Asker" in every and "Bo Asker" not in every
    assert "Bo Asker" in client.get(LIST, {"kind": "application"}).content.decode()


def test_an_administrator_approves_with_a_justification_through_the_panels_service():
    tenant = _tenant()
    found = join_request(tenant)
    admin = admin_of(tenant, Role.USER_ADMINISTRATOR)
    client = console(admin)
    page = client.get(_change(found)).content.decode()
    assert f'action="{_decide(found)}"' in page and 'value="approve"' in page
    response = client.post(_decide(found), {"decision": "approve", "note": "Welcome to Finance"})
    assert response.status_code == 302 and response["Location"] == LIST
    found.refresh_from_db()
    assert found.status == S.APPROVED and found.decided_by == admin and found.decision_note == "Welcome to Finance"
    assert found.group.members.filter(pk=found.requester_id).exists()
    event = AuditEvent.objects.get(activity_display_name="Approve group join request")
    assert event.initiated_by["user"]["id"] == str(admin.pk)
    mail = OutboxMessage.objects.get(to=[found.requester.mail])
    assert "Welcome to Finance" in mail.body_text
    assert 'id="decide-form"' not in client.get(_change(found)).content.decode()  # decided: nothing to decide


def test_denying_selected_requests_asks_for_the_justification_first():
    tenant = _tenant()
    first, second = join_request(tenant), app_request(tenant)
    client = console(admin_of(tenant))
    ids = [str(first.pk), str(second.pk)]
    asked = client.post(LIST, {"action": "deny_selected", ACTION_CHECKBOX_NAME: ids})
    assert asked.status_code == 200 and 'name="note"' in asked.content.decode()
    assert SelfServiceRequest.objects.filter(status=S.PENDING).count() == 2  # nothing decided yet
    client.post(LIST, {"action": "deny_selected", ACTION_CHECKBOX_NAME: ids, "confirm": "yes",
                       "note": "Not this quarter"})
    assert set(SelfServiceRequest.objects.values_list("status", "decision_note")) == {(S.DENIED, "Not this quarter")}
    assert not AppRoleAssignment.objects.filter(user=second.requester).exists()
    assert OutboxMessage.objects.filter(body_text__contains="Not this quarter").count() == 2


def test_another_tenants_request_is_404_to_read_and_to_decide():
    tenant, other = _tenant(), _tenant("Contoso")
    theirs = join_request(other)
    client = console(admin_of(tenant))
    assert client.get(_change(theirs)).status_code == 404
    assert client.post(_decide(theirs), {"decision": "approve"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == S.PENDING


def test_an_application_administrator_cannot_decide_a_join_request():
    tenant = _tenant()
    found = join_request(tenant)
    client = console(admin_of(tenant, Role.APPLICATION_ADMINISTRATOR))
    assert client.post(_decide(found), {"decision": "approve"}).status_code == 404
    found.refresh_from_db()
    assert found.status == S.PENDING


def test_a_note_with_a_nul_character_is_refused_and_nothing_changes():
    tenant = _tenant()
    found = join_request(tenant)
    client = console(admin_of(tenant))
    response = client.post(_decide(found), {"decision": "approve", "note": "bad\x00note"}, follow=True)
    assert response.status_code == 200 and "NUL" in response.content.decode()
    found.refresh_from_db()
    assert found.status == S.PENDING and not AuditEvent.objects.filter(activity_display_name__startswith="Approve")


def test_a_request_decided_meanwhile_says_so():
    tenant = _tenant()
    found = join_request(tenant)
    services.self_service_request_decide(actor=Actor.operator(), request=found, approve=False)
    response = console(admin_of(tenant)).post(_decide(found), {"decision": "approve"}, follow=True)
    assert "decided already" in response.content.decode()
    found.refresh_from_db()
    assert found.status == S.DENIED


def test_the_list_runs_the_same_queries_for_two_requests_and_for_sixty(django_assert_max_num_queries):
    few, many = _tenant("Few"), _tenant("Many")
    for n in range(2):
        join_request(few, name=f"Few {n}", group_name=f"Group {n}")
    for n in range(60):
        if n % 2:
            join_request(many, name=f"Many {n}", group_name=f"Group {n}")
        else:
            app_request(many, name=f"App {n}", app_name=f"App {n}")
    counts = []
    for tenant in (few, many):
        client = console(admin_of(tenant))
        client.get(LIST)
        with django_assert_max_num_queries(9) as captured:  # session, account, roles, tenants, counts, page, filter
            assert client.get(LIST).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1], counts


def test_the_requester_hears_of_a_console_decision_in_their_language():
    tenant = _tenant()
    found = join_request(tenant)
    found.requester.preferred_language = "de"
    found.requester.save(update_fields=["preferred_language"])
    console(admin_of(tenant)).post(_decide(found), {"decision": "deny", "note": "Nicht in diesem Quartal"})
    mail = OutboxMessage.objects.get(to=[found.requester.mail])
    assert "abgelehnt" in mail.subject.lower() and "Nicht in diesem Quartal" in mail.body_text
