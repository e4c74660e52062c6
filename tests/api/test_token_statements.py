"""A client-credentials token costs two SQL statements (issue 9, speed): the client with its app
registration (one join) and the token's INSERT, with no transaction block around them. What the token
endpoint refuses is tested in test_token_lifecycle.py and test_oauth_flows.py."""

import pytest
from allauth.idp.oidc.models import Token
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory import services
from directory.actors import Actor
from tests.api.test_token_lifecycle import client_credentials
from tests.factories import TenantFactory


@pytest.mark.django_db(transaction=True)  # a real autocommit connection: savepoints and blocks would show
def test_a_client_credentials_token_is_one_read_and_one_insert():
    _registration, client_id, secret = services.app_registration_create(
        actor=Actor.operator(), tenant=TenantFactory(), display_name="App", application_permissions=["User.Read.All"])
    client_credentials(client_id, secret)  # warm-up
    with CaptureQueriesContext(connection) as queries:
        response = client_credentials(client_id, secret)
    assert response.status_code == 200, response.content
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 2, statements
    assert statements[0].startswith("SELECT") and 'FROM "directory_appregistration" a JOIN "allauth_idp_oidc_client"' \
        in statements[0]
    assert statements[1].startswith('INSERT INTO "allauth_idp_oidc_token"')
    assert Token.objects.filter(client_id=client_id).count() == 2
    assert connection.get_autocommit()


@pytest.mark.django_db(transaction=True)
def test_a_wrong_secret_writes_nothing():
    _registration, client_id, _secret = services.app_registration_create(
        actor=Actor.operator(), tenant=TenantFactory(), display_name="App", application_permissions=["User.Read.All"])
    response = client_credentials(client_id, "x" * 43)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert not Token.objects.filter(client_id=client_id).exists()


@pytest.mark.django_db
def test_the_composed_client_lookup_gives_what_the_orm_gives():
    """directory/api/rows.py: the same field values, converted the same way (JSON, dates, booleans)."""
    from django.forms.models import model_to_dict

    from directory.api import rows
    from directory.models import AppRegistration

    _registration, client_id, _secret = services.app_registration_create(
        actor=Actor.operator(), tenant=TenantFactory(), display_name="App", application_permissions=["User.Read.All"])
    composed = rows.select_with_related(AppRegistration, "client", client_id)
    by_orm = AppRegistration.objects.select_related("client").get(client_id=client_id)
    assert model_to_dict(composed) == model_to_dict(by_orm) and composed.application_permissions == ["User.Read.All"]
    assert model_to_dict(composed.client) == model_to_dict(by_orm.client)
    assert composed.secret_expires_at == by_orm.secret_expires_at and composed.created_at == by_orm.created_at
    assert rows.select_with_related(AppRegistration, "client", "no-such-client") is None
