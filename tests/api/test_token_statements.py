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
    assert statements[0].startswith('SELECT "directory_appregistration"') and "JOIN" in statements[0]
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
