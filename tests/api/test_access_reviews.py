"""/identityGovernance/accessReviews/…: every route's access contract, and the Graph flows."""

from datetime import timedelta

import pytest
from django.db import connection  # the skipif condition reads it
from django.utils import timezone

from directory.actors import Actor
from entitlements import services
from entitlements.models import AccessReviewDecision, AccessReviewDefinition, AccessReviewInstance
from tests.api.contract import EndpointContract
from tests.factories import GroupFactory, GuestFactory, UserFactory

AR = "identityGovernance/accessReviews/definitions"
I = AR + "/<str:definition_id>/instances/<str:instance_id>"  # noqa: E741
READ, WRITE = "AccessReview.Read.All", "AccessReview.ReadWrite.All"


def started(tenant, *, stop: bool = False) -> dict:
    """A group with an owner and two guests, a guest review of it, its first instance started."""
    group = GroupFactory(tenant=tenant)
    owner = UserFactory(tenant=tenant)
    group.owners.add(owner)
    guests = [GuestFactory(tenant=tenant, created_at=timezone.now() - timedelta(days=60)) for _ in range(2)]
    group.members.add(*guests)
    definition = services.review_definition_create(
        actor=Actor.operator(), tenant=tenant, display_name="Guests", scope_kind="group", group=group,
        guests_only=True, reviewer_kind="owners", start_at=timezone.now() - timedelta(minutes=1))
    services.access_reviews_sweep(actor=Actor.system(None, "tests"))
    instance = AccessReviewInstance.objects.get(definition=definition)
    if stop:
        services.review_instance_stop(actor=Actor.operator(), instance=instance)
    decision = instance.decisions.order_by("pk").first()
    return {"definition_id": definition.pk, "instance_id": instance.pk, "decision_id": decision.pk,
            "_owner": owner, "_group": group}


class _Contract(EndpointContract):
    def url(self, kwargs):
        return super().url({k: v for k, v in kwargs.items() if not k.startswith("_")})


class _Read(_Contract):
    permission = READ
    guest_status = member_status = 403


class _Write(_Contract):
    permission = WRITE
    other_permission = READ
    guest_status = member_status = 403


class _Started:
    def make_target(self, tenant):
        return started(tenant)


class TestListDefinitions(_Read):
    route = AR


class TestCreateDefinition(_Write):
    route = AR
    method = "post"
    ok_status = 201

    def make_target(self, tenant):
        group = GroupFactory(tenant=tenant)
        return {"_group": group.pk}

    def body(self, tenant, target):
        return {"displayName": "Quarterly guests", "scope": {
            "@odata.type": "#microsoft.graph.accessReviewQueryScope", "queryType": "MicrosoftGraph",
            "query": f"/groups/{target['_group']}/transitiveMembers/microsoft.graph.user/?$count=true"
                     "&$filter=(userType eq 'Guest')"},
            "reviewers": [{"query": f"/groups/{target['_group']}/owners", "queryType": "MicrosoftGraph"}],
            "settings": {"instanceDurationInDays": 14, "defaultDecisionEnabled": True,
                         "defaultDecision": "Recommendation", "autoApplyDecisionsEnabled": True,
                         "recurrence": {"pattern": {"type": "absoluteMonthly", "interval": 3},
                                        "range": {"type": "noEnd", "startDate": "2026-01-01"}}}}


class TestGetDefinition(_Started, _Read):
    route = AR + "/<str:definition_id>"


class TestUpdateDefinition(_Started, _Write):
    route = AR + "/<str:definition_id>"
    method = "patch"
    ok_status = 204

    def body(self, tenant, target):
        return {"displayName": "Renamed", "settings": {"reminderNotificationsEnabled": False}}


class TestReplaceDefinition(TestUpdateDefinition):
    method = "put"


class TestDeleteDefinition(_Started, _Write):
    route = AR + "/<str:definition_id>"
    method = "delete"
    ok_status = 204


class TestListInstances(_Started, _Read):
    route = AR + "/<str:definition_id>/instances"


class TestGetInstance(_Started, _Read):
    route = I


class TestStopInstance(_Started, _Write):
    route = I + "/stop"
    method = "post"
    ok_status = 204


class TestApplyDecisions(_Write):
    route = I + "/applyDecisions"
    method = "post"
    ok_status = 204

    def make_target(self, tenant):
        return started(tenant, stop=True)


class TestSendReminder(_Started, _Write):
    route = I + "/sendReminder"
    method = "post"
    ok_status = 204


class TestListDecisions(_Started, _Read):
    route = I + "/decisions"


class TestGetDecision(_Started, _Read):
    route = I + "/decisions/<str:decision_id>"
    guest_status = member_status = 404  # not their review: as missing


class TestRecordDecision(_Started, _Write):
    route = I + "/decisions/<str:decision_id>"
    method = "patch"
    # Graph supports no application permission for recording decisions: an app-only call is refused even
    # with AccessReview.ReadWrite.All (the reviewer's delegated call is tested below).
    ok_status = 403
    guest_status = member_status = 404

    def body(self, tenant, target):
        return {"decision": "Deny", "justification": "Project over"}


class TestBatchRecordDecisions(_Started, _Write):
    route = I + "/batchRecordDecisions"
    method = "post"
    ok_status = 403
    guest_status = member_status = 404

    def body(self, tenant, target):
        return {"decision": "Approve", "justification": "Still working with us"}


class TestAcceptRecommendations(_Started, _Write):
    route = I + "/acceptRecommendations"
    method = "post"
    ok_status = 403  # a reviewer's action: delegated only
    guest_status = member_status = 404


class TestMyDefinitions(EndpointContract):
    route = AR + "/filterByCurrentUser(on='reviewer')"
    permission = READ

    def make_target(self, tenant):
        started(tenant)
        return {}


class TestMyInstances(_Started, EndpointContract):
    route = AR + "/<str:definition_id>/instances/filterByCurrentUser(on='reviewer')"
    permission = READ

    def url(self, kwargs):
        return super().url({k: v for k, v in kwargs.items() if k == "definition_id"})


class TestMyDecisions(_Started, EndpointContract):
    route = I + "/decisions/filterByCurrentUser(on='reviewer')"
    permission = READ

    def url(self, kwargs):
        return super().url({k: v for k, v in kwargs.items() if not k.startswith("_")})


# --- flows ---------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_an_owner_records_decisions_with_a_delegated_token_and_sees_only_their_items(api, api_tenant,
                                                                                      delegated_token_for):
    target = started(api_tenant)
    owner = target.pop("_owner")
    target.pop("_group")
    base = f"/v1.0/{AR}/{target['definition_id']}/instances/{target['instance_id']}"
    client = api(delegated_token_for(owner, [WRITE]))
    [review] = client.get(f"/v1.0/{AR}/filterByCurrentUser(on='reviewer')").json()["value"]
    [instance] = client.get(f"/v1.0/{AR}/{review['id']}/instances/filterByCurrentUser(on='reviewer')").json()["value"]
    assert instance["id"] == str(target["instance_id"])
    mine = client.get(base + "/decisions/filterByCurrentUser(on='reviewer')").json()["value"]
    assert len(mine) == 2 and {d["decision"] for d in mine} == {"NotReviewed"}
    assert mine[0]["principal"]["@odata.type"] == "#microsoft.graph.userIdentity"
    response = client.patch(f"{base}/decisions/{mine[0]['id']}", {"decision": "Deny", "justification": "Gone"},
                            format="json")
    assert response.status_code == 204, response.content
    response = client.post(base + "/batchRecordDecisions",
                           {"decision": "Approve", "principalId": mine[1]["principal"]["id"]}, format="json")
    assert response.status_code == 204, response.content
    assert sorted(AccessReviewDecision.objects.values_list("decision", flat=True)) == ["Approve", "Deny"]
    assert client.post(base + "/acceptRecommendations").status_code == 204  # nothing left undecided: no change
    assert sorted(AccessReviewDecision.objects.values_list("decision", flat=True)) == ["Approve", "Deny"]
    # someone else in the tenant sees none of it
    other = api(delegated_token_for(UserFactory(tenant=api_tenant), [WRITE]))
    assert other.get(base + "/decisions/filterByCurrentUser(on='reviewer')").json()["value"] == []
    assert other.get(f"/v1.0/{AR}/filterByCurrentUser(on='reviewer')").json()["value"] == []
    assert other.patch(f"{base}/decisions/{mine[0]['id']}", {"decision": "Approve"}, format="json").status_code == 404


@pytest.mark.django_db
def test_a_created_definition_reads_back_in_graphs_shape(api, api_tenant, app_token_for):
    group = GroupFactory(tenant=api_tenant)
    user = UserFactory(tenant=api_tenant)
    client = api(app_token_for(api_tenant, [WRITE]))
    response = client.post(f"/v1.0/{AR}", {
        "displayName": "Guests of sales", "descriptionForReviewers": "Keep only who still works with us",
        "scope": {"query": f"/groups/{group.pk}/transitiveMembers/microsoft.graph.user/?$count=true"
                           "&$filter=(userType eq 'Guest')", "queryType": "MicrosoftGraph"},
        "reviewers": [{"query": f"/users/{user.pk}", "queryType": "MicrosoftGraph"}],
        "fallbackReviewers": [{"query": f"/users/{user.pk}", "queryType": "MicrosoftGraph"}],
        "settings": {"instanceDurationInDays": 7, "recommendationLookBackDuration": "P60D",
                     "applyActions": [{"@odata.type": "#microsoft.graph.disableAndDeleteUserApplyAction"}],
                     "recurrence": {"pattern": {"type": "weekly", "interval": 1},
                                    "range": {"type": "endDate", "startDate": "2030-01-01", "endDate": "2030-12-31"}}}},
        format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    definition = AccessReviewDefinition.objects.get()
    assert (definition.recurrence, definition.reviewer_kind, definition.guests_only) == ("weekly", "selected", True)
    assert definition.denied_guest_action == "disableAndDelete"
    assert body["settings"]["recommendationLookBackDuration"] == "P60D"
    assert body["settings"]["recurrence"]["pattern"] == {"type": "weekly", "interval": 1}
    assert body["reviewers"] == [{"query": f"/users/{user.pk}", "queryType": "MicrosoftGraph", "queryRoot": None}]
    assert body["scope"]["query"].startswith(f"/groups/{group.pk}/transitiveMembers")


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "message"), [
    ({"scope": {"query": "/users"}}, "scope.query"),
    ({"scope": {"query": "/groups/00000000-0000-0000-0000-000000000001/transitiveMembers"}}, "does not exist"),
    ({"reviewers": [{"query": "./manager"}, {"query": "./sponsors"}]}, "mixes"),
    ({"settings": {"recurrence": {"pattern": {"type": "daily", "interval": 1}}}}, "weekly"),
    ({"settings": {"instanceDurationInDays": 0}}, "instanceDurationInDays"),
    ({"settings": {"recommendationLookBackDuration": "soon"}}, "ISO 8601"),
    ({"settings": {"applyActions": [{"@odata.type": "#microsoft.graph.disableAndDeleteUserApplyAction"}]}},
     "guests only"),
])
def test_a_definition_graph_cannot_take_is_a_precise_400(api, api_tenant, app_token_for, body, message):
    group = GroupFactory(tenant=api_tenant)
    full = {"displayName": "Review", "scope": {"query": f"/groups/{group.pk}/transitiveMembers"}, **body}
    response = api(app_token_for(api_tenant, [WRITE])).post(f"/v1.0/{AR}", full, format="json")
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]["message"]
    assert not AccessReviewDefinition.objects.exists()


@pytest.mark.django_db
def test_lists_run_a_fixed_number_of_queries(api, api_tenant, app_token_for, django_assert_max_num_queries):
    target = started(api_tenant)
    client = api(app_token_for(api_tenant, [READ]))
    base = f"/v1.0/{AR}/{target['definition_id']}/instances/{target['instance_id']}"
    for _ in range(10):
        GuestFactory(tenant=api_tenant)
    with django_assert_max_num_queries(8):
        assert client.get(base + "/decisions").status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(f"/v1.0/{AR}").status_code == 200


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's planner and indexes")
@pytest.mark.parametrize("decision", [None, "Deny"])
def test_a_decisions_page_is_an_index_range_without_a_sort_on_postgresql(api_tenant, decision):
    from directory.api import odata
    from entitlements.api.reviews import DECISION

    target = started(api_tenant)
    for _other in range(3):  # other instances' rows around it
        started(api_tenant)
    queryset = AccessReviewDecision.objects.filter(instance_id=target["instance_id"])
    if decision:
        queryset = queryset.filter(odata.parse_filter(DECISION, f"decision eq '{decision}'"))
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a two-row table: ask what the plan would be at scale
        sql, params = queryset.order_by("pk")[:101].query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    index = "review_decision_state_idx" if decision else "review_decision_list_idx"
    assert index in plan and "Sort" not in plan, plan
