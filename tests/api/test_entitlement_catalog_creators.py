"""Entra's catalog creators through Graph: with a delegated token carrying
EntitlementManagement.ReadWrite.All a creator (no tenant role) creates a catalog, owns it and lists only
what they hold a role in; without the role, or with a read-only token, nothing is created."""

import pytest

from directory.actors import Actor
from entitlements import services
from entitlements.models import Catalog
from tests.api.test_entitlement_management import READ, WRITE, B, em
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _person(tenant, *, creator: bool):
    person = UserFactory(tenant=tenant)
    if creator:
        services.catalog_creator_add(actor=Actor.operator(), tenant=tenant, user=person)
    return person


def test_a_creator_creates_a_catalog_and_lists_only_theirs(api, delegated_token_for, api_tenant):
    existing = em(api_tenant)["catalog"]
    client = api(delegated_token_for(_person(api_tenant, creator=True), [WRITE]))
    assert client.get(f"/v1.0/{B}catalogs").json()["value"] == []
    response = client.post(f"/v1.0/{B}catalogs", {"displayName": "Partner onboarding"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()["id"]
    assert [c["id"] for c in client.get(f"/v1.0/{B}catalogs").json()["value"]] == [created]
    assert client.get(f"/v1.0/{B}catalogs/{existing.pk}").status_code == 404
    assert client.patch(f"/v1.0/{B}catalogs/{created}", {"description": "Ours"}, format="json").status_code == 204


@pytest.mark.parametrize(("creator", "scope"), [(False, WRITE), (True, READ)])
def test_without_the_role_or_the_write_scope_no_catalog_is_created(creator, scope, api, delegated_token_for,
                                                                    api_tenant):
    client = api(delegated_token_for(_person(api_tenant, creator=creator), [scope]))
    response = client.post(f"/v1.0/{B}catalogs", {"displayName": "Partner onboarding"}, format="json")
    assert response.status_code == 403, response.content
    assert not Catalog.objects.filter(display_name="Partner onboarding").exists()
