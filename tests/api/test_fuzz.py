"""A bounded API fuzz: schemathesis generates requests from our OpenAPI document (valid and invalid
ones) and sends them to a live server with a valid token. No answer may be a 5xx; every 4xx is a
Graph-style JSON error; every success has a status and a body the document declares. Each valid JSON
body is sent once more with lone UTF-16 surrogates in its strings (hypothesis never generates those):
that must be a 400. The longer sweep is in docs/api.md."""

import json
import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from directory.actors import Actor
from directory.authz import APPLICATION_PERMISSIONS
from policies.api.resources import b2b_policy_id
from tests.api.contract import with_lone_surrogates
from tests.factories import ApplicationFactory, GroupFactory, GuestFactory, TenantFactory, UserFactory

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))  # per operation and mode; docs/api.md runs more
BUDGET_SECONDS = float(os.environ.get("FUZZ_BUDGET_SECONDS", "45"))


@pytest.fixture
def fuzz_target(transactional_db, live_server):
    from directory import services

    tenant = TenantFactory(name="Fuzz", slug="fuzz", initial_domain="fuzz.example")
    user, guest, group = UserFactory(tenant=tenant), GuestFactory(tenant=tenant), GroupFactory(tenant=tenant)
    application = ApplicationFactory(tenant=tenant)
    group.members.add(user)
    _app, client_id, secret = services.app_registration_create(
        actor=Actor.operator(), tenant=tenant, display_name="Fuzzer", application_permissions=APPLICATION_PERMISSIONS)
    import requests

    token = requests.post(f"{live_server.url}/identity/o/api/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": ".default"},
        timeout=10).json()["access_token"]
    known_ids = {"user_id": str(guest.pk), "group_id": str(group.pk), "member_id": str(user.pk),
                 "owner_id": str(user.pk), "sp_id": str(application.pk), "org_id": str(tenant.pk),
                 "policy_id": str(b2b_policy_id(tenant.pk))}
    known_ids.update(_access_review(tenant, group, guest))
    return live_server.url, token, known_ids


def _access_review(tenant, group, guest) -> dict:
    """A started access review of the group (its guest to decide), so that its routes meet real objects."""
    from entitlements import services as em
    from entitlements.models import AccessReviewInstance

    group.members.add(guest)
    definition = em.review_definition_create(actor=Actor.operator(), tenant=tenant, display_name="Fuzz review",
                                             scope_kind="group", group=group, reviewer_kind="selected",
                                             reviewer_user_ids=[str(UserFactory(tenant=tenant).pk)])
    em.access_reviews_sweep(actor=Actor.system(None, "fuzz"))
    instance = AccessReviewInstance.objects.get(definition=definition)
    return {"definition_id": str(definition.pk), "instance_id": str(instance.pk),
            "decision_id": str(instance.decisions.order_by("pk").first().pk)}


def _check(case, response):
    where = case.as_curl_command()
    assert response.status_code < 500, f"{response.status_code} for {where}\n{response.text[:500]}"
    if response.status_code >= 400:
        assert response.headers.get("content-type", [""])[0].startswith("application/json"), where
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["code"], where
        assert isinstance(error["message"], str), where
    else:
        # A success is one the document declares (the views' `responses`), in the declared shape.
        assert str(response.status_code) in case.operation.definition.raw["responses"], where
        case.operation.validate_response(response)


def test_generated_requests_never_get_a_server_error(fuzz_target):
    base_url, token, known_ids = fuzz_target
    import requests

    document = requests.get(f"{base_url}/v1.0/$schema", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()
    session.headers["Connection"] = "close"  # no connection outlives the live server
    headers = {"Authorization": f"Bearer {token}"}
    started, sent, spoiled = time.monotonic(), 0, 0
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda o: o.method.upper() == "DELETE")  # delete the known objects last
    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        fixed = {n: known_ids[n] for n in names if n in known_ids}
        for mode, path_parameters in ((GenerationMode.POSITIVE, fixed), (GenerationMode.NEGATIVE, None)):
            if time.monotonic() - started > BUDGET_SECONDS:
                break

            @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None,
                                              headers=headers))
            def run(case):
                nonlocal sent, spoiled
                response = case.call(base_url=base_url, session=session, headers=headers, timeout=20)
                sent += 1
                _check(case, response)
                if mode is GenerationMode.POSITIVE and isinstance(case.body, dict):  # noqa: B023 (run() is called at once)
                    # Sent by hand: schemathesis validates and renders the body, and neither takes surrogates.
                    kwargs = case.as_transport_kwargs(base_url=base_url, headers=headers)
                    kwargs.pop("json", None)
                    kwargs["data"] = json.dumps(with_lone_surrogates(case.body))  # ASCII: "\\ud800" escapes
                    # A one-off session (closed after the call) without "Connection: close": Django's test
                    # server sometimes drops such a request without answering it.
                    kwargs["headers"] = {**{k: v for k, v in kwargs.get("headers", {}).items()
                                            if k.lower() not in {"content-length", "content-type", "connection"}},
                                         "Content-Type": "application/json"}
                    response = requests.request(**kwargs, timeout=20)
                    spoiled += 1
                    where = f"{kwargs['method']} {kwargs['url']} {kwargs['data'][:300]}"
                    assert response.status_code in (400, 404), f"{response.status_code} for {where}\n{response.text[:300]}"

            try:
                run()
            except Unsatisfiable:  # nothing in this operation can be made invalid with the token fixed
                assert mode is GenerationMode.NEGATIVE
    assert sent >= 50, f"only {sent} requests were sent"
    assert spoiled >= 5, f"only {spoiled} bodies were sent with lone surrogates"
