"""App registrations in the admin console: an empty list explains what they are and how they differ from
applications; each permission is shown whole, with its description."""

import pytest
from django.urls import reverse

from directory.authz import CAPABILITIES
from tests.factories import TenantFactory, admin_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(admin_of(TenantFactory()).account)
    return client


def test_empty_list_explains_app_registrations_and_links_applications(admin_client):
    body = admin_client.get(reverse("admin:directory_appregistration_changelist")).content.decode()
    empty = body.split('id="app-registrations-empty"', 1)[1].split("</div>", 1)[0]
    assert "Graph API" in empty and reverse("admin:directory_application_changelist") in empty
    assert reverse("admin:directory_appregistration_add") in empty


def test_permissions_are_named_whole_with_their_descriptions(admin_client):
    body = admin_client.get(reverse("admin:directory_appregistration_add")).content.decode()
    assert ('<code class="permission-name">User.Invite.All</code> <span class="permission-description">'
            f'{CAPABILITIES["User.Invite.All"]}</span>') in body
    assert 'class="permission-choices"' in body
