"""Access reviews: definitions' rules, instances started by the sweep, decisions, the end and applying."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from directory.actors import Actor
from directory.models import AuditEvent, OutboxMessage
from entitlements import services
from entitlements.models import AccessReviewDecision, AccessReviewDefinition, AccessReviewInstance
from tests.entitlements.scenario import system, tailwind
from tests.factories import GuestFactory, UserFactory

pytestmark = pytest.mark.django_db
DI = AccessReviewDecision


def guest_review(s, **fields):
    fields.setdefault("display_name", "Quarterly guest review")
    fields.setdefault("scope_kind", "group")
    fields.setdefault("group", s.group)
    fields.setdefault("guests_only", True)
    fields.setdefault("reviewer_kind", "owners")
    fields.setdefault("recurrence", "quarterly")
    fields.setdefault("instance_duration_days", 14)
    fields.setdefault("start_at", timezone.now() - timedelta(minutes=1))
    return services.review_definition_create(actor=s.admin_actor, tenant=s.tenant, **fields)


def people(s):
    owner = UserFactory(tenant=s.tenant, display_name="Olivia Owner")
    s.group.owners.add(owner)
    sponsor = UserFactory(tenant=s.tenant, display_name="Sam Sponsor")
    active = GuestFactory(tenant=s.tenant, display_name="Ann Active", last_sign_in_at=timezone.now() - timedelta(days=2),
                          created_at=timezone.now() - timedelta(days=90))
    idle = GuestFactory(tenant=s.tenant, display_name="Ian Idle", last_sign_in_at=timezone.now() - timedelta(days=45),
                        created_at=timezone.now() - timedelta(days=90))
    idle.sponsors.add(sponsor)
    active.sponsors.add(sponsor)
    member = UserFactory(tenant=s.tenant, display_name="Mia Member")
    s.group.members.add(active, idle, member)
    return owner, sponsor, active, idle, member


def sweep(now=None):
    return services.access_reviews_sweep(actor=system(), now=now)


def test_the_sweep_starts_one_instance_with_guests_only_and_sign_in_recommendations():
    s = tailwind()
    owner, _sponsor, active, idle, _member = people(s)
    definition = guest_review(s)
    assert sweep()["started"] == 1
    instance = AccessReviewInstance.objects.get(definition=definition)
    items = {d.principal_id: d for d in instance.decisions.all()}
    assert set(items) == {active.pk, idle.pk}  # guests only: the member is not reviewed
    assert items[active.pk].recommendation == "Approve" and items[idle.pk].recommendation == "Deny"
    assert set(items[idle.pk].reviewers.values_list("user_id", flat=True)) == {owner.pk}
    assert OutboxMessage.objects.filter(to=[owner.mail], subject__startswith="Action required: Review access").count() == 1
    # idempotent: a second sweep starts nothing; the next quarter is scheduled
    assert sweep()["started"] == 0
    definition.refresh_from_db()
    assert definition.next_instance_at > timezone.now() + timedelta(days=80)


def test_only_assigned_reviewers_decide_and_the_last_decision_wins():
    s = tailwind()
    owner, _sponsor, _active, idle, member = people(s)
    guest_review(s)
    sweep()
    item = DI.objects.get(principal=idle)
    with pytest.raises(PermissionDenied):
        services.review_decisions_record(actor=Actor.for_user(member), decisions=[item], decision="Deny")
    with pytest.raises(PermissionDenied):  # an administrator who is not a reviewer does not decide either
        services.review_decisions_record(actor=s.admin_actor, decisions=[item], decision="Deny")
    services.review_decisions_record(actor=Actor.for_user(owner), decisions=[item], decision="Approve")
    services.review_decisions_record(actor=Actor.for_user(owner), decisions=[item], decision="Deny",
                                     justification="Project over")
    item.refresh_from_db()
    assert (item.decision, item.justification, item.reviewed_by_id) == ("Deny", "Project over", owner.pk)
    assert AuditEvent.objects.filter(activity_display_name="Deny decision").count() == 1


def test_accept_recommendations_fills_only_undecided_items():
    s = tailwind()
    owner, _sponsor, active, idle, _member = people(s)
    guest_review(s)
    sweep()
    services.review_decisions_record(actor=Actor.for_user(owner), decisions=[DI.objects.get(principal=idle)],
                                     decision="DontKnow")
    instance = AccessReviewInstance.objects.get()
    assert services.review_accept_recommendations(actor=Actor.for_user(owner), instance=instance) == 1
    assert dict(DI.objects.values_list("principal_id", "decision")) == {active.pk: "Approve", idle.pk: "DontKnow"}


def test_at_the_end_unanswered_items_take_the_recommendation_and_denials_are_applied():
    s = tailwind()
    owner, sponsor, active, idle, member = people(s)
    other = GuestFactory(tenant=s.tenant, display_name="Otto", last_sign_in_at=timezone.now() - timedelta(days=1),
                         created_at=timezone.now() - timedelta(days=90))
    other.sponsors.add(sponsor)
    s.group.members.add(other)
    guest_review(s, default_decision_enabled=True, default_decision="Recommendation", auto_apply_decisions_enabled=True)
    sweep()
    services.review_decisions_record(actor=Actor.for_user(owner), decisions=[DI.objects.get(principal=other)],
                                     decision="Deny")
    done = sweep(now=timezone.now() + timedelta(days=15))
    assert done["completed"] == 1 and done["applied"] == 1
    members = set(s.group.members.values_list("pk", flat=True))
    assert members == {active.pk, member.pk}  # idle (default: its Deny recommendation) and other (denied) lost it
    decisions = dict(DI.objects.values_list("principal_id", "apply_result"))
    assert decisions[idle.pk] == decisions[other.pk] == "AppliedSuccessfully"
    mails = OutboxMessage.objects.filter(to=[sponsor.mail], subject__contains="lost access to Marketing partners")
    assert mails.count() == 2
    assert sweep(now=timezone.now() + timedelta(days=16)) == {"started": 0, "reminded": 0, "completed": 0,
                                                              "applied": 0}


def test_without_auto_apply_nothing_changes_until_an_administrator_applies():
    s = tailwind()
    owner, _sponsor, _active, idle, _member = people(s)
    guest_review(s)
    sweep()
    services.review_decisions_record(actor=Actor.for_user(owner), decisions=[DI.objects.get(principal=idle)],
                                     decision="Deny")
    instance = AccessReviewInstance.objects.get()
    with pytest.raises(ValidationError):
        services.review_instance_apply(actor=s.admin_actor, instance=instance)
    services.review_instance_stop(actor=s.admin_actor, instance=instance)
    assert s.group.members.filter(pk=idle.pk).exists()
    assert services.review_instance_apply(actor=s.admin_actor, instance=instance) == {"applied": 1, "notFound": 0}
    assert not s.group.members.filter(pk=idle.pk).exists()
    with pytest.raises(ValidationError):
        services.review_instance_apply(actor=s.admin_actor, instance=instance)


@pytest.mark.parametrize(("fields", "field"), [
    ({"group": None}, "group"),
    ({"guests_only": False, "denied_guest_action": "disableAndDelete"}, "denied_guest_action"),
    ({"recurrence": "weekly", "instance_duration_days": 8}, "instance_duration_days"),
    ({"reviewer_kind": "selected"}, "reviewer_user_ids"),
    ({"scope_kind": "guestResources", "guests_only": False}, "guests_only"),
    ({"recommendation_look_back": timedelta(days=0)}, "recommendation_look_back"),
])
def test_a_definition_against_entras_rules_is_refused_with_a_precise_message(fields, field):
    s = tailwind()
    with pytest.raises(ValidationError) as refused:
        guest_review(s, **fields)
    assert field in refused.value.message_dict
    assert not AccessReviewDefinition.objects.exists()


def test_reviewers_from_another_tenant_are_refused():
    s, other = tailwind(), tailwind(slug="fabrikam")
    with pytest.raises(ValidationError):
        guest_review(s, reviewer_kind="selected", reviewer_user_ids=[str(other.admin.pk)])


def test_sponsors_review_and_fallback_reviewers_step_in_where_there_is_none():
    s = tailwind()
    _owner, sponsor, active, idle, _member = people(s)
    lonely = GuestFactory(tenant=s.tenant, created_at=timezone.now() - timedelta(days=90))
    s.group.members.add(lonely)
    fallback = UserFactory(tenant=s.tenant)
    guest_review(s, reviewer_kind="sponsors", fallback_user_ids=[str(fallback.pk)])
    sweep()
    reviewers = {d.principal_id: set(d.reviewers.values_list("user_id", flat=True)) for d in DI.objects.all()}
    assert reviewers == {active.pk: {sponsor.pk}, idle.pk: {sponsor.pk}, lonely.pk: {fallback.pk}}


def test_every_group_and_app_with_guests_gets_its_own_instance():
    s = tailwind()
    people(s)
    guest = GuestFactory(tenant=s.tenant)
    from directory.models import AppRoleAssignment
    AppRoleAssignment.objects.create(tenant=s.tenant, application=s.app, user=guest)
    s.app.owners.add(UserFactory(tenant=s.tenant))
    guest_review(s, scope_kind="guestResources", group=None)
    assert sweep()["started"] == 2
    assert {i.resource_name for i in AccessReviewInstance.objects.all()} == {"Marketing partners", "Campaign planner"}


def test_an_access_package_review_removes_the_denied_assignment():
    s = tailwind()
    policy = s.policy()
    ann = UserFactory(tenant=s.tenant, created_at=timezone.now() - timedelta(days=90))
    reviewer = UserFactory(tenant=s.tenant)
    services.request_admin_add(actor=s.admin_actor, package=s.package, policy=policy, target=ann)
    services.request_deliver(actor=system(), request_id=s.package.requests.get().pk)
    definition = guest_review(s, scope_kind="accessPackage", package=s.package, group=None, guests_only=False,
                              reviewer_kind="selected", reviewer_user_ids=[str(reviewer.pk)])
    sweep()
    item = DI.objects.get(instance__definition=definition)
    services.review_decisions_record(actor=Actor.for_user(reviewer), decisions=[item], decision="Deny")
    instance = item.instance
    services.review_instance_stop(actor=s.admin_actor, instance=instance)
    services.review_instance_apply(actor=s.admin_actor, instance=instance)
    assert s.package.assignments.get().state == "expired"
    assert not s.group.members.filter(pk=ann.pk).exists()


def test_denied_guests_are_blocked_then_scheduled_for_removal_when_the_review_says_so():
    from entitlements.models import ExternalUserLifecycle

    s = tailwind()
    owner, _sponsor, active, idle, _member = people(s)
    guest_review(s, denied_guest_action="disableAndDelete", auto_apply_decisions_enabled=True)
    sweep()
    services.review_decisions_record(actor=Actor.for_user(owner), decisions=[DI.objects.get(principal=idle)],
                                     decision="Deny")
    sweep(now=timezone.now() + timedelta(days=15))
    idle.refresh_from_db()
    active.refresh_from_db()
    assert not idle.account_enabled and active.account_enabled
    row = ExternalUserLifecycle.objects.get(user=idle)
    assert timedelta(days=29) < row.delete_after_at - timezone.now() <= timedelta(days=30)
    assert not s.group.members.filter(pk=idle.pk).exists()


def test_a_reviewer_after_the_end_can_no_longer_decide():
    s = tailwind()
    owner, _sponsor, _active, idle, _member = people(s)
    guest_review(s)
    sweep()
    sweep(now=timezone.now() + timedelta(days=15))
    with pytest.raises(ValidationError):
        services.review_decisions_record(actor=Actor.for_user(owner), decisions=[DI.objects.get(principal=idle)],
                                         decision="Deny")


def test_reviewers_are_mailed_in_their_language_once_at_start_and_reminded_halfway():
    s = tailwind()
    owner, _sponsor, _active, _idle, _member = people(s)
    owner.preferred_language = "de-DE"
    owner.save()
    guest_review(s)
    sweep()
    [start] = OutboxMessage.objects.filter(to=[owner.mail])
    assert start.subject.startswith("Aktion erforderlich: Zugriff auf Marketing partners")
    sweep(now=timezone.now() + timedelta(days=8))  # past the midpoint of 14 days
    reminders = OutboxMessage.objects.filter(to=[owner.mail], subject__startswith="Erinnerung")
    assert reminders.count() == 1
    sweep(now=timezone.now() + timedelta(days=9))
    assert reminders.count() == 1  # once


def test_a_sweep_that_dies_mid_batch_leaves_nothing_half_done_and_the_next_one_finishes(monkeypatch):
    """A worker killed while starting an instance: its batch rolls back whole (no instance, items or mail
    without the others, the definition still due); the next sweep starts it exactly once."""
    from entitlements.services import reviews

    s = tailwind()
    owner, *_rest = people(s)
    definition = guest_review(s)

    def dies(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(reviews, "_mail_reviewers", dies)
    with pytest.raises(SystemExit):
        sweep()
    definition.refresh_from_db()
    assert definition.next_instance_at is not None and definition.next_instance_at < timezone.now()
    assert not AccessReviewInstance.objects.exists() and not DI.objects.exists()
    monkeypatch.undo()
    assert sweep()["started"] == 1 and sweep()["started"] == 0
    assert DI.objects.count() == 2
    assert OutboxMessage.objects.filter(to=[owner.mail]).count() == 1


def test_an_application_review_removes_the_denied_assignment_and_audits_it():
    from directory.models import AppRoleAssignment

    s = tailwind()
    owner = UserFactory(tenant=s.tenant)
    s.app.owners.add(owner)
    gone, stays = (GuestFactory(tenant=s.tenant, created_at=timezone.now() - timedelta(days=90)) for _ in range(2))
    for guest in (gone, stays):
        AppRoleAssignment.objects.create(tenant=s.tenant, application=s.app, user=guest)
    guest_review(s, scope_kind="application", application=s.app, group=None, auto_apply_decisions_enabled=True)
    sweep()
    services.review_decisions_record(actor=Actor.for_user(owner), decisions=[DI.objects.get(principal=gone)],
                                     decision="Deny")
    sweep(now=timezone.now() + timedelta(days=15))
    assert set(AppRoleAssignment.objects.filter(application=s.app).values_list("user_id", flat=True)) == {stays.pk}
    event = AuditEvent.objects.get(activity_display_name="Remove app role assignment from user")
    assert {t["id"] for t in event.target_resources} == {str(s.app.pk), str(gone.pk)}


def test_a_quarterly_review_starts_its_next_instance_a_quarter_later_and_a_one_time_review_completes():
    s = tailwind()
    people(s)
    quarterly = guest_review(s)
    once = guest_review(s, display_name="Once", recurrence="oneTime")
    sweep()
    sweep(now=timezone.now() + timedelta(days=15))  # both first instances end
    once.refresh_from_db()
    assert once.status == "Completed" and once.next_instance_at is None
    later = quarterly.start_at + timedelta(days=93)
    assert sweep(now=later)["started"] == 1
    starts = list(AccessReviewInstance.objects.filter(definition=quarterly).order_by("period_start")
                  .values_list("period_start", "status"))
    assert len(starts) == 2 and starts[0][1] == "Completed" and starts[1][1] == "InProgress"
    assert (starts[1][0].year, starts[1][0].month) == ((quarterly.start_at.month + 2) // 12 + quarterly.start_at.year,
                                                      (quarterly.start_at.month + 2) % 12 + 1)
