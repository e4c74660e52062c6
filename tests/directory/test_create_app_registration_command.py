"""``manage.py create_app_registration``: a deployment registers its API client without the console."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from directory.models import AppRegistration, AuditEvent
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    return TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example")


def create(*args) -> str:
    out = StringIO()
    call_command("create_app_registration", *args, stdout=out)
    return out.getvalue()


def test_prints_one_line_of_json_whose_credentials_get_a_working_token(tenant):
    out = create("--tenant", "tailwind", "--name", "HR sync", "--permission", "User.Read.All",
                 "--permission", "User.Invite.All")
    assert out.count("\n") <= 1 and len(out.strip().splitlines()) == 1
    credentials = json.loads(out)
    assert set(credentials) == {"clientId", "clientSecret"}
    registration = AppRegistration.objects.get(client_id=credentials["clientId"])
    assert registration.tenant == tenant and registration.display_name == "HR sync"
    assert registration.application_permissions == ["User.Invite.All", "User.Read.All"]
    client = APIClient()
    token = client.post("/identity/o/api/token", {
        "grant_type": "client_credentials", "client_id": credentials["clientId"],
        "client_secret": credentials["clientSecret"], "scope": ".default"}).json()["access_token"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/v1.0/users").status_code == 200


def test_the_registration_is_audited_as_the_platform_operator(tenant):
    create("--tenant", "tailwind", "--name", "HR sync", "--permission", "User.Read.All")
    event = AuditEvent.objects.get(tenant=tenant, activity_display_name="Add application")
    assert event.initiated_by["app"]["servicePrincipalName"] == "platform operator"
    assert event.target_resources[0]["displayName"] == "HR sync"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--tenant", "nosuch", "--name", "x", "--permission", "User.Read.All"], "No tenant"),
        (["--tenant", "tailwind", "--name", "x", "--permission", "User.Read.Everything"], "User.Read.Everything"),
        (["--tenant", "tailwind", "--name", "x", "--permission", "User.Read"], "Unknown application permission"),
        (["--tenant", "tailwind", "--name", "x"], "at least one --permission"),
        (["--tenant", "tailwind", "--name", "", "--permission", "User.Read.All"], "name"),
        (["--tenant", "tailwind", "--name", "x" * 300, "--permission", "User.Read.All"], "256"),
    ],
)
def test_unusable_input_is_a_clear_command_error_and_registers_nothing(tenant, args, words):
    with pytest.raises(CommandError) as error:
        create(*args)
    assert words in str(error.value)
    assert not AppRegistration.objects.exists()
