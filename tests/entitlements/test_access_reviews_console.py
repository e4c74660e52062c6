"""Access reviews in the admin console: the definition form, an instance's progress and actions, CSV."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from directory.actors import Actor
from directory.models import Role
from entitlements import services
from entitlements.models import AccessReviewDecision, AccessReviewDefinition, AccessReviewInstance
from tests.factories import GuestFactory, TenantFactory, UserFactory, admin_of

from .scenario import system, tailwind

pytestmark = pytest.mark.django_db


def _console(user) -> Client:
    client = Client()
    client.force_login(user.account)
    return client


def _started(s, guests=3):
    owner = UserFactory(tenant=s.tenant, display_name="Olivia Owner")
    s.group.owners.add(owner)
    people = [GuestFactory(tenant=s.tenant, display_name=f"=Guest {i}", created_at=timezone.now() - timedelta(days=90))
              for i in range(guests)]
    s.group.members.add(*people)
    services.review_definition_create(actor=s.admin_actor, tenant=s.tenant, display_name="Guests of marketing",
                                      scope_kind="group", group=s.group, guests_only=True,
                                      start_at=timezone.now() - timedelta(minutes=1))
    services.access_reviews_sweep(actor=system())
    return owner, people, AccessReviewInstance.objects.get()


def test_an_identity_governance_administrator_creates_a_quarterly_guest_review_with_the_form():
    s = tailwind()
    governor = admin_of(s.tenant, Role.IDENTITY_GOVERNANCE_ADMINISTRATOR)
    fallback = UserFactory(tenant=s.tenant)
    client = _console(governor)
    page = client.get(reverse("admin:entitlements_accessreviewdefinition_add")).content.decode()
    assert "Upon completion settings" in page and "Fallback reviewers" in page
    response = client.post(reverse("admin:entitlements_accessreviewdefinition_add"), {
        "tenant": str(s.tenant.pk), "display_name": "Quarterly guests", "scope_kind": "group",
        "group": str(s.group.pk), "guests_only": "on", "reviewer_kind": "owners", "fallback_users": [str(fallback.pk)],
        "recurrence": "quarterly", "instance_duration_days": "14", "start_at_0": "2030-01-01", "start_at_1": "09:00",
        "auto_apply_decisions_enabled": "on", "default_decision": "Recommendation",
        "denied_guest_action": "disableAndDelete", "recommendations_enabled": "on", "look_back_days": "30",
        "mail_notifications_enabled": "on", "reminder_notifications_enabled": "on"})
    assert response.status_code == 302, response.content.decode()[:3000]
    definition = AccessReviewDefinition.objects.get()
    assert definition.default_decision_enabled and definition.default_decision == "Recommendation"
    assert definition.fallback_user_ids == [str(fallback.pk)]
    assert definition.denied_guest_action == "disableAndDelete"


def test_the_form_shows_entras_rule_instead_of_saving():
    s = tailwind()
    client = _console(s.admin)
    response = client.post(reverse("admin:entitlements_accessreviewdefinition_add"), {
        "tenant": str(s.tenant.pk), "display_name": "Everyone", "scope_kind": "group", "group": str(s.group.pk),
        "reviewer_kind": "owners", "recurrence": "weekly", "instance_duration_days": "10",
        "start_at_0": "2030-01-01", "start_at_1": "09:00", "default_decision": "None",
        "denied_guest_action": "removeAccess", "look_back_days": "30"})
    assert response.status_code in (200, 400)
    assert "lasts at most 7 days" in response.content.decode()
    assert not AccessReviewDefinition.objects.exists()


def test_an_instance_page_shows_progress_and_stop_then_apply_work(django_assert_max_num_queries):
    s = tailwind()
    owner, people, instance = _started(s)
    services.review_decisions_record(actor=Actor.for_user(owner), decisions=[
        AccessReviewDecision.objects.get(principal=people[0])], decision="Deny")
    client = _console(s.admin)
    url = reverse("admin:entitlements_accessreviewinstance_change", args=[instance.pk])
    with django_assert_max_num_queries(30):
        page = client.get(url).content.decode()
    assert 'id="access-review-chart"' in page and "access_review_chart.js" in page
    assert '"key": "Deny", "label": "Denied", "count": 1' in page
    assert '"key": "NotReviewed", "label": "Not reviewed", "count": 2' in page
    client.post(reverse("admin:entitlements_accessreviewinstance_action", args=[instance.pk, "stop"]))
    instance.refresh_from_db()
    assert instance.status == "Completed" and s.group.members.filter(pk=people[0].pk).exists()
    client.post(reverse("admin:entitlements_accessreviewinstance_action", args=[instance.pk, "apply"]))
    assert not s.group.members.filter(pk=people[0].pk).exists()
    listing = client.get(reverse("admin:entitlements_accessreviewinstance_changelist")).content.decode()
    assert "1 of 3 reviewed" in listing


def test_results_download_as_csv_safe_for_spreadsheets():
    s = tailwind()
    _owner, _people, instance = _started(s, guests=2)
    response = _console(s.admin).get(reverse("admin:entitlements_accessreviewinstance_results", args=[instance.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("PrincipalId,PrincipalDisplayName") and len(lines) == 3
    assert ",'=Guest 0," in lines[1] or ",'=Guest 1," in lines[1]


def test_another_tenants_admin_sees_nor_acts_on_the_review():
    s = tailwind()
    _owner, _people, instance = _started(s, guests=1)
    stranger = _console(admin_of(TenantFactory()))
    assert stranger.get(reverse("admin:entitlements_accessreviewinstance_change", args=[instance.pk])).status_code == 404
    assert stranger.post(reverse("admin:entitlements_accessreviewinstance_action",
                                 args=[instance.pk, "stop"])).status_code == 404
    assert stranger.get(reverse("admin:entitlements_accessreviewinstance_results",
                                args=[instance.pk])).status_code == 404
    instance.refresh_from_db()
    assert instance.status == "InProgress"


def test_a_groups_administrator_has_no_access_review_area():
    s = tailwind()
    client = _console(admin_of(s.tenant, Role.GROUPS_ADMINISTRATOR))
    assert client.get(reverse("admin:entitlements_accessreviewdefinition_changelist")).status_code == 403


def test_the_decisions_and_instances_lists_run_a_fixed_number_of_queries(django_assert_max_num_queries):
    s = tailwind()
    _started(s, guests=120)
    client = _console(s.admin)
    with django_assert_max_num_queries(20):
        page = client.get(reverse("admin:entitlements_accessreviewdecision_changelist")).content.decode()
    assert page.count("Guests of marketing · Marketing partners") == 100
    with django_assert_max_num_queries(20):
        page = client.get(reverse("admin:entitlements_accessreviewinstance_changelist")).content.decode()
    assert "0 of 120 reviewed" in page
