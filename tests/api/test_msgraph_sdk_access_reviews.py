"""msgraph-sdk against a live server: an administrator's app creates an access review of a group's guests,
the reviewer records decisions with a delegated token (one, then a batch), the administrator stops the
instance and applies, and the denied guest is out of the group."""

import asyncio
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from django.utils import timezone
from kiota_abstractions.authentication.base_bearer_token_authentication_provider import (
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphServiceClient
from msgraph.generated.identity_governance.access_reviews.definitions.item.instances.item.batch_record_decisions.batch_record_decisions_post_request_body import (  # noqa: E501
    BatchRecordDecisionsPostRequestBody,
)
from msgraph.generated.models.access_review_instance_decision_item import AccessReviewInstanceDecisionItem
from msgraph.generated.models.access_review_query_scope import AccessReviewQueryScope
from msgraph.generated.models.access_review_reviewer_scope import AccessReviewReviewerScope
from msgraph.generated.models.access_review_schedule_definition import AccessReviewScheduleDefinition
from msgraph.generated.models.access_review_schedule_settings import AccessReviewScheduleSettings
from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
from msgraph.generated.models.recurrence_pattern import RecurrencePattern
from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
from msgraph.generated.models.recurrence_range import RecurrenceRange
from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph_core import GraphClientFactory

from directory.actors import Actor
from entitlements import services
from tests.api.test_msgraph_sdk import OurToken, graph, tenant  # noqa: F401  (the live-server SDK fixtures)
from tests.factories import GroupFactory, GuestFactory, UserFactory

pytestmark = [
    pytest.mark.sdk,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions"),
]


def _delegated_client(live_server, token: str) -> GraphServiceClient:
    auth = BaseBearerTokenAuthenticationProvider(OurToken(token, urlsplit(live_server.url).hostname))
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(
        base_url=f"{live_server.url}/v1.0", limits=httpx.Limits(max_keepalive_connections=0)))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{live_server.url}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def test_the_sdk_creates_a_review_and_the_reviewer_records_decisions(graph, tenant, live_server,  # noqa: F811
                                                                     delegated_token_for):
    admin, _ = graph(tenant, ["AccessReview.ReadWrite.All"])
    group = GroupFactory(tenant=tenant, display_name="Project Falcon")
    reviewer = UserFactory(tenant=tenant, display_name="Rita Reviewer")
    old = timezone.now() - timedelta(days=90)
    gone, stays = (GuestFactory(tenant=tenant, created_at=old, last_sign_in_at=old),
                   GuestFactory(tenant=tenant, created_at=old, last_sign_in_at=timezone.now()))
    group.members.add(gone, stays)
    definitions = admin.identity_governance.access_reviews.definitions

    async def create():
        return await definitions.post(AccessReviewScheduleDefinition(
            display_name="Falcon guests", description_for_reviewers="Keep only who still works with us",
            scope=AccessReviewQueryScope(
                odata_type="#microsoft.graph.accessReviewQueryScope", query_type="MicrosoftGraph",
                query=f"/groups/{group.pk}/transitiveMembers/microsoft.graph.user/?$count=true"
                      "&$filter=(userType eq 'Guest')"),
            reviewers=[AccessReviewReviewerScope(query=f"/users/{reviewer.pk}", query_type="MicrosoftGraph")],
            settings=AccessReviewScheduleSettings(
                mail_notifications_enabled=True, reminder_notifications_enabled=True, default_decision_enabled=False,
                instance_duration_in_days=14, recommendations_enabled=True,
                recurrence=PatternedRecurrence(
                    pattern=RecurrencePattern(type=RecurrencePatternType.AbsoluteMonthly, interval=3),
                    range=RecurrenceRange(type=RecurrenceRangeType.NoEnd,
                                          start_date=timezone.now().date())))))

    definition = asyncio.run(create())
    assert definition.display_name == "Falcon guests" and definition.settings.instance_duration_in_days == 14
    assert definition.settings.recurrence.pattern.interval == 3
    services.access_reviews_sweep(actor=Actor.system(None, "tests"))  # beat's sweep

    reviewer_client = _delegated_client(live_server, delegated_token_for(reviewer, ["AccessReview.ReadWrite.All"]))
    mine = reviewer_client.identity_governance.access_reviews.definitions.by_access_review_schedule_definition_id(
        definition.id)

    async def my_reviews():  # the reviewer finds the review and its instance on their own
        reviews = await reviewer_client.identity_governance.access_reviews.definitions \
            .filter_by_current_user_with_on("reviewer").get()
        return reviews, await mine.instances.filter_by_current_user_with_on("reviewer").get()

    reviews, instances = asyncio.run(my_reviews())
    assert [r.display_name for r in reviews.value] == ["Falcon guests"]
    assert instances.value[0].status == "InProgress"

    async def decide():
        instance = mine.instances.by_access_review_instance_id(instances.value[0].id)
        items = await instance.decisions.filter_by_current_user_with_on("reviewer").get()
        by_principal = {item.principal.id: item for item in items.value}
        await instance.decisions.by_access_review_instance_decision_item_id(by_principal[str(gone.pk)].id).patch(
            AccessReviewInstanceDecisionItem(decision="Deny", justification="Left the project"))
        await instance.batch_record_decisions.post(BatchRecordDecisionsPostRequestBody(
            decision="Approve", justification="Still on the team", principal_id=str(stays.pk)))
        return instances.value[0].id, items.value

    instance_id, items = asyncio.run(decide())
    assert {i.recommendation for i in items} == {"Approve", "Deny"}

    async def finish():
        instance = definitions.by_access_review_schedule_definition_id(definition.id).instances \
            .by_access_review_instance_id(instance_id)
        await instance.stop.post()
        await instance.apply_decisions.post()
        return await instance.decisions.get()

    decisions = asyncio.run(finish())
    results = {d.principal.id: (d.decision, d.apply_result) for d in decisions.value}
    assert results == {str(gone.pk): ("Deny", "AppliedSuccessfully"), str(stays.pk): ("Approve", "New")}
    assert set(group.members.values_list("pk", flat=True)) == {stays.pk}
