"""Concurrent writes through the live server, on PostgreSQL (SQLite serialises writers, so the races
cannot happen there): of two identical $ref adds exactly one wins (the other is Graph's 400), of two
deletes of one group exactly one wins (the other a 404)."""

import threading

import httpx
import pytest
from django.db import connection

from directory.actors import Actor
from directory.models import AuditEvent, Group
from tests.factories import GroupFactory, GuestFactory, TenantFactory, UserFactory

ROUNDS = 5
RACERS = 6


@pytest.fixture
def live(transactional_db, live_server):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent requests need PostgreSQL (set DATABASE_URL); SQLite serialises writers")
    from directory import services

    tenant = TenantFactory()
    _app, client_id, secret = services.app_registration_create(
        actor=Actor.operator(), tenant=tenant, display_name="Racer",
        application_permissions=["Directory.ReadWrite.All"])
    token = httpx.post(f"{live_server.url}/identity/o/api/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
        "scope": ".default"}).json()["access_token"]
    return tenant, live_server.url, {"Authorization": f"Bearer {token}"}


def race(send, n: int = RACERS) -> list[httpx.Response]:
    """``send()`` from ``n`` threads released at once; their answers."""
    barrier, answers = threading.Barrier(n), []

    def run():
        barrier.wait()
        answers.append(send())

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.mark.parametrize("relation", ["members", "owners"])
def test_racing_duplicate_ref_adds_give_one_204_and_graphs_400(live, relation):
    tenant, base, headers = live
    for _ in range(ROUNDS):
        group, user = GroupFactory(tenant=tenant), UserFactory(tenant=tenant)
        body = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{user.pk}"}
        answers = race(lambda group=group, body=body: httpx.post(
            f"{base}/v1.0/groups/{group.pk}/{relation}/$ref", json=body, headers=headers, timeout=30))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [204] + [400] * (RACERS - 1), statuses
        for answer in answers:
            if answer.status_code == 400:
                assert answer.json()["error"]["message"] == (
                    "One or more added object references already exist for the following modified properties: "
                    f"'{relation}'.")
        assert list(getattr(group, relation).all()) == [user]
    assert AuditEvent.objects.filter(activity_display_name__startswith="Add").exclude(
        activity_display_name="Add service principal").count() >= ROUNDS


def test_racing_sponsor_ref_adds_give_one_204(live):
    tenant, base, headers = live
    for _ in range(ROUNDS):
        guest, sponsor = GuestFactory(tenant=tenant), UserFactory(tenant=tenant)
        body = {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{sponsor.pk}"}
        answers = race(lambda guest=guest, body=body: httpx.post(
            f"{base}/v1.0/users/{guest.pk}/sponsors/$ref", json=body, headers=headers, timeout=30))
        assert sorted(a.status_code for a in answers) == [204] + [400] * (RACERS - 1)
        assert list(guest.sponsors.all()) == [sponsor]


def test_racing_group_deletes_give_one_204_and_404s(live):
    tenant, base, headers = live
    for _ in range(ROUNDS):
        group = GroupFactory(tenant=tenant)
        group.members.add(UserFactory(tenant=tenant))
        answers = race(lambda group=group: httpx.delete(f"{base}/v1.0/groups/{group.pk}", headers=headers,
                                                        timeout=30))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [204] + [404] * (RACERS - 1), statuses
        assert all(a.json()["error"]["code"] == "Request_ResourceNotFound" for a in answers if a.status_code == 404)
        assert not Group.objects.filter(pk=group.pk).exists()
    assert AuditEvent.objects.filter(activity_display_name="Delete group").count() == ROUNDS
