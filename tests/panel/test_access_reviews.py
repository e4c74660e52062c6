"""Access reviews in the access panel: each page's contract, a reviewer's decisions, and fixed query counts
with 1,000 people to review."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from directory.actors import Actor
from entitlements import services
from entitlements.models import AccessReviewDecision, AccessReviewInstance
from tests.factories import GroupFactory, GuestFactory, TenantFactory, UserFactory
from tests.panel.contract import PanelPageContract


def _review(tenant, reviewer, *, guests=1, **fields):
    """A group with guests (Gina first), a review of it by ``reviewer`` (a new member when None), started."""
    reviewer = reviewer if reviewer is not None else UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant, display_name="Project Falcon")
    old = timezone.now() - timedelta(days=90)
    people = [GuestFactory(tenant=tenant, display_name="Gina Guest" if i == 0 else f"Guest {i:04}", created_at=old,
                           last_sign_in_at=None if i == 0 else timezone.now()) for i in range(guests)]
    group.members.add(*people)
    fields.setdefault("display_name", "Falcon guests")
    definition = services.review_definition_create(
        actor=Actor.operator(), tenant=tenant, scope_kind="group", group=group, guests_only=True,
        reviewer_kind="selected", reviewer_user_ids=[str(reviewer.pk)], start_at=timezone.now() - timedelta(minutes=1),
        **fields)
    services.access_reviews_sweep(actor=Actor.system(None, "tests"))
    return AccessReviewInstance.objects.get(definition=definition), people, group


class TestReviews(PanelPageContract):
    route = "entitlements:reviews"
    max_queries = 10

    def make_target(self, tenant, user):
        _review(tenant, user)
        return {}

    def check_success(self, response, tenant, user, target):
        page = response.content.decode()
        assert "Falcon guests" in page and "1 of 1" in page


class TestReview(PanelPageContract):
    route = "entitlements:review"
    max_queries = 10
    member_status = 200

    def make_target(self, tenant, user):
        instance, _people, _group = _review(tenant, user)
        return {"instance_id": instance.pk}

    def check_success(self, response, tenant, user, target):
        page = response.content.decode()
        assert "Gina Guest" in page and "Accept recommendations" in page


@pytest.mark.django_db
def test_someone_who_is_not_a_reviewer_gets_404_for_the_review_and_cannot_decide():
    tenant = TenantFactory()
    instance, people, _group = _review(tenant, None)
    stranger = Client()
    stranger.force_login(UserFactory(tenant=tenant).account)
    url = reverse("entitlements:review", args=[tenant.slug, instance.pk])
    assert stranger.get(url).status_code == 404
    item = AccessReviewDecision.objects.get(principal=people[0])
    assert stranger.post(url, {"item": str(item.pk), "decision": "Deny"}).status_code == 404
    item.refresh_from_db()
    assert item.decision == "NotReviewed"


@pytest.mark.django_db
def test_a_reviewer_denies_with_a_reason_and_accepts_recommendations_for_the_rest():
    tenant = TenantFactory()
    reviewer = UserFactory(tenant=tenant)
    instance, people, _group = _review(tenant, reviewer, guests=3, justification_required_on_approval=True)
    client = Client()
    client.force_login(reviewer.account)
    url = reverse("entitlements:review", args=[tenant.slug, instance.pk])
    gina = AccessReviewDecision.objects.get(principal=people[0])
    response = client.post(url, {"item": str(gina.pk), "decision": "Approve"}, follow=True)
    assert "A reason is required to approve." in response.content.decode()
    client.post(url, {"item": str(gina.pk), "decision": "Deny", "justification": "Left the project"})
    response = client.post(url, {"action": "accept"}, follow=True)
    assert "Recommendations accepted for 2 people." in response.content.decode()
    decisions = dict(AccessReviewDecision.objects.values_list("principal__display_name", "decision"))
    assert decisions == {"Gina Guest": "Deny", "Guest 0001": "Approve", "Guest 0002": "Approve"}


@pytest.mark.django_db
def test_review_pages_run_a_fixed_number_of_queries_with_1000_people(django_assert_max_num_queries):
    tenant = TenantFactory()
    reviewer = UserFactory(tenant=tenant)
    instance, _people, _group = _review(tenant, reviewer, guests=1000)
    client = Client()
    client.force_login(reviewer.account)
    with django_assert_max_num_queries(TestReviews.max_queries):
        page = client.get(reverse("entitlements:reviews", args=[tenant.slug])).content.decode()
    assert "1000 of 1000" in page
    with django_assert_max_num_queries(TestReview.max_queries):
        page = client.get(reverse("entitlements:review", args=[tenant.slug, instance.pk])).content.decode()
    assert page.count('name="item"') == 200 and "Page 1 of 5" in page and "1000 people to decide" in page
    with django_assert_max_num_queries(TestReview.max_queries):
        page = client.get(reverse("entitlements:review", args=[tenant.slug, instance.pk]), {"page": 5}).content.decode()
    assert page.count('name="item"') == 200 and "Guest 0999" in page and "Page 5 of 5" in page
