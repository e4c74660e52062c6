from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from directory import delivery, services
from directory.actors import Actor
from directory.models import AuditEvent, Group, OutboxMessage, Role, User
from tests.factories import GroupFactory, GuestFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_guest_upn_follows_entra_ext_form():
    tenant = TenantFactory(initial_domain="tailwind.example")
    assert (
        services.guest_user_principal_name(email="Ann@Proseware.example", tenant=tenant)
        == "ann_proseware.example#EXT#@tailwind.example"
    )


def test_user_create_writes_user_and_audit_in_one_go():
    tenant = TenantFactory()
    admin = UserFactory(tenant=tenant)
    admin.role_assignments.create(tenant=tenant, role=Role.USER_ADMINISTRATOR)
    actor = admin.account
    user = services.user_create(
        actor=Actor.for_user(admin), tenant=tenant, display_name="Ann", user_principal_name=f"ann@{tenant.initial_domain}"
    )
    event = AuditEvent.objects.get(tenant=tenant, activity_display_name="Add user")
    assert event.target_resources[0]["id"] == str(user.pk)
    assert event.initiated_by["user"]["userPrincipalName"].endswith(tenant.initial_domain)
    assert event.initiated_by_account == actor


def test_user_update_audits_old_and_new_values():
    user = UserFactory(job_title="Designer")
    services.user_update(actor=Actor.operator(), user=user, changes={"job_title": "Lead designer"})
    event = AuditEvent.objects.get(activity_display_name="Update user")
    [prop] = event.target_resources[0]["modifiedProperties"]
    assert prop == {"displayName": "job_title", "oldValue": '"Designer"', "newValue": '"Lead designer"'}


def test_update_without_real_change_writes_no_audit():
    user = UserFactory(job_title="Designer")
    services.user_update(actor=Actor.operator(), user=user, changes={"job_title": "Designer"})
    assert not AuditEvent.objects.filter(activity_display_name="Update user").exists()


def test_member_password_is_hashed_with_argon2_and_signs_in_with_upn():
    tenant = TenantFactory()
    user = services.user_create(actor=Actor.operator(), tenant=tenant, display_name="Bo",
                                user_principal_name=f"bo@{tenant.initial_domain}", password="a-long-Passphrase-42")
    assert user.account.email == f"bo@{tenant.initial_domain}"
    assert user.account.password.startswith("argon2")
    assert user.account.check_password("a-long-Passphrase-42")


def test_member_upn_must_use_a_domain_of_the_tenant():
    tenant = TenantFactory()
    with pytest.raises(ValidationError) as exc:
        services.user_create(
            actor=Actor.operator(), tenant=tenant, display_name="Eve", user_principal_name="eve@elsewhere.example")
    assert "not a verified domain of this tenant" in str(exc.value)
    assert not User.objects.filter(display_name="Eve").exists()


def test_member_upn_may_use_a_verified_custom_domain_only():
    tenant = TenantFactory()
    services.domain_add(actor=Actor.operator(), tenant=tenant, name="custom.example", is_verified=False)
    with pytest.raises(ValidationError):
        services.user_create(
            actor=Actor.operator(), tenant=tenant, display_name="Ann", user_principal_name="ann@custom.example")
    services.domain_mark_verified(actor=Actor.operator(), domain=tenant.domains.get())
    assert services.user_create(actor=Actor.operator(), tenant=tenant, display_name="Ann",
                                user_principal_name="ann@custom.example").pk


def test_guest_gets_no_password():
    tenant = TenantFactory()
    with pytest.raises(ValidationError) as exc:
        services.user_create(
            actor=Actor.operator(), tenant=tenant, display_name="G", user_type=User.UserType.GUEST, mail="g@partner.example",
            user_principal_name=services.guest_user_principal_name(email="g@partner.example", tenant=tenant),
            password="whatever-Long-123",
        )
    assert "no password" in str(exc.value)


@pytest.mark.parametrize("field", ["user_principal_name", "mail"])
def test_duplicate_upn_or_mail_in_a_tenant_is_refused_case_insensitively(field):
    existing = UserFactory()
    tenant = existing.tenant
    upn = f"other@{tenant.initial_domain}"
    values = {"user_principal_name": upn, "mail": ""}
    values[field] = getattr(existing, field).upper()
    with pytest.raises(ValidationError):
        services.user_create(actor=Actor.operator(), tenant=tenant, display_name="Dup", **values)
    assert User.objects.filter(tenant=tenant).count() == 1


def test_same_mail_is_fine_in_another_tenant():
    guest = GuestFactory()
    other = TenantFactory()
    services.user_create(
        actor=Actor.operator(), tenant=other, display_name="G", user_type=User.UserType.GUEST, mail=guest.mail,
        user_principal_name=services.guest_user_principal_name(email=guest.mail, tenant=other),
    )


def test_second_user_for_the_same_account_in_a_tenant_is_refused():
    member = UserFactory()
    with pytest.raises(ValidationError) as exc:
        services.user_create(
            actor=Actor.operator(), tenant=member.tenant, display_name="Again", account=member.account,
            user_principal_name=f"again@{member.tenant.initial_domain}",
        )
    assert "already has a user object" in str(exc.value)


def test_oversized_field_is_refused_and_nothing_is_written():
    tenant = TenantFactory()
    with pytest.raises(ValidationError) as exc:
        services.user_create(actor=Actor.operator(), tenant=tenant, display_name="x" * 257,
                             user_principal_name=f"x@{tenant.initial_domain}")
    assert "display_name" in exc.value.message_dict
    assert not User.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("domain", ["not a domain", "-bad.example", "exa_mple.com", "nodot", "a" * 64 + ".com"])
def test_invalid_domains_are_refused(domain):
    with pytest.raises(ValidationError):
        services.tenant_create(actor=Actor.operator(), name="T", slug="t", initial_domain=domain)
    with pytest.raises(ValidationError):
        services.domain_add(actor=Actor.operator(), tenant=TenantFactory(), name=domain)


def test_a_domain_is_added_once_per_tenant():
    tenant = TenantFactory()
    services.domain_add(actor=Actor.operator(), tenant=tenant, name="shared.example")
    with pytest.raises(ValidationError):
        services.domain_add(actor=Actor.operator(), tenant=tenant, name="SHARED.example")


def test_soft_delete_and_restore_within_30_days():
    user = UserFactory()
    services.user_delete(actor=Actor.operator(), user=user)
    assert User.objects.active().filter(pk=user.pk).count() == 0
    services.user_restore(actor=Actor.operator(), user=user)
    assert User.objects.active().filter(pk=user.pk).exists()
    activities = set(AuditEvent.objects.values_list("activity_display_name", flat=True))
    assert {"Delete user", "Restore user"} <= activities


def test_restore_after_30_days_is_refused_and_purge_removes_the_user():
    user = UserFactory()
    services.user_delete(actor=Actor.operator(), user=user)
    User.objects.filter(pk=user.pk).update(deleted_at=timezone.now() - timedelta(days=31))
    with pytest.raises(ValidationError):
        services.user_restore(actor=Actor.operator(), user=user)
    recent = UserFactory(tenant=user.tenant)
    services.user_delete(actor=Actor.operator(), user=recent)
    assert services.users_purge_deleted(actor=Actor.system(None, "test")) == 1
    assert not User.objects.filter(pk=user.pk).exists()
    assert User.objects.filter(pk=recent.pk).exists()


def test_group_members_must_be_in_the_group_tenant():
    group = GroupFactory()
    stranger = UserFactory()
    with pytest.raises(ValidationError):
        services.group_update(actor=Actor.operator(), group=group, changes={"members": [stranger]})
    with pytest.raises(ValidationError):
        services.group_member_add(actor=Actor.operator(), group=group, user=stranger)
    assert group.members.count() == 0


def test_group_membership_changes_are_audited():
    group = GroupFactory()
    member = UserFactory(tenant=group.tenant)
    services.group_member_add(actor=Actor.operator(), group=group, user=member)
    services.group_member_add(actor=Actor.operator(), group=group, user=member)  # idempotent: no second row
    services.group_member_remove(actor=Actor.operator(), group=group, user=member)
    names = list(AuditEvent.objects.order_by("activity_date_time").values_list("activity_display_name", flat=True))
    assert names == ["Add member to group", "Remove member from group"]


def test_two_groups_of_a_tenant_may_share_a_name_as_in_graph():
    group = GroupFactory(display_name="Sales")
    twin = services.group_create(actor=Actor.operator(), tenant=group.tenant, display_name="sales")
    assert twin.pk != group.pk and Group.objects.count() == 2


def test_app_assignment_refuses_principal_of_another_tenant():
    from tests.factories import ApplicationFactory

    app = ApplicationFactory()
    with pytest.raises(ValidationError):
        services.app_assignment_create(actor=Actor.operator(), application=app, user=UserFactory())
    with pytest.raises(ValidationError):
        services.app_assignment_create(actor=Actor.operator(), application=app)


def test_role_assign_twice_is_refused():
    user = UserFactory()
    services.role_assign(actor=Actor.operator(), user=user, role=Role.USER_ADMINISTRATOR)
    with pytest.raises(ValidationError):
        services.role_assign(actor=Actor.operator(), user=user, role=Role.USER_ADMINISTRATOR)


def test_outbox_enqueue_with_the_same_dedupe_key_returns_the_first_message():
    first = services.outbox_enqueue(to=["a@example.com"], subject="Hi", body_text="x", dedupe_key="k1")
    second = services.outbox_enqueue(to=["a@example.com"], subject="Hi", body_text="x", dedupe_key="k1")
    assert first.pk == second.pk
    assert OutboxMessage.objects.count() == 1


def test_outbox_message_is_sent_after_commit_exactly_once(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = services.outbox_enqueue(to=["a@example.com"], subject="Hello", body_text="Body",
                                          body_html="<p>Body</p>")
    assert len(mailoutbox) == 1
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert delivery.outbox_deliver(message_id=message.pk) is False
    assert len(mailoutbox) == 1
    assert mailoutbox[0].alternatives[0][1] == "text/html"


def test_outbox_is_not_sent_when_the_callers_transaction_rolls_back(mailoutbox, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        services.outbox_enqueue(to=["a@example.com"], subject="Never", body_text="x")
        raise RuntimeError("the use case failed")
    assert mailoutbox == []
    assert not OutboxMessage.objects.exists()


def test_failed_delivery_keeps_the_message_pending_with_backoff(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    message = services.outbox_enqueue(to=["a@example.com"], subject="Hi", body_text="x")
    assert delivery.outbox_deliver(message_id=message.pk) is False
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.PENDING
    assert message.attempts == 1 and message.last_error
    assert message.next_attempt_at > timezone.now()
    assert str(message.pk) not in delivery.outbox_due_ids()


def test_delivery_gives_up_after_the_maximum_attempts(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    settings.OUTBOX_MAX_ATTEMPTS = 2
    message = services.outbox_enqueue(to=["a@example.com"], subject="Hi", body_text="x")
    delivery.outbox_deliver(message_id=message.pk)
    delivery.outbox_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED
