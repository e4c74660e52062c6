"""directory 0018 moves the audit search keys from their own rows into the events' ``search_keys``."""

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("directory", "0017_self_service_request_console_index")]
AFTER = [("directory", "0018_audit_search_keys_on_the_event")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_keys_written_before_0018_are_found_in_the_events_after_it():
    apps = _migrate(BEFORE)
    try:
        Tenant = apps.get_model("directory", "Tenant")
        AuditEvent = apps.get_model("directory", "AuditEvent")
        AuditEventKey = apps.get_model("directory", "AuditEventKey")
        tenant = Tenant.objects.create(name="Contoso", slug="contoso-0018", initial_domain="contoso0018.example")
        keyed, bare = (AuditEvent.objects.create(id=uuid.uuid4(), tenant=tenant, activity_display_name="Update user",
                                                 category="UserManagement") for _ in range(2))
        AuditEventKey.objects.bulk_create([
            AuditEventKey(event=keyed, tenant=tenant, side="t", key="ann@partner.example"),
            AuditEventKey(event=keyed, tenant=tenant, side="i", key="admin@contoso.example"),
        ])

        apps = _migrate(AFTER)
        AuditEvent = apps.get_model("directory", "AuditEvent")
        assert sorted(AuditEvent.objects.get(pk=keyed.pk).search_keys) == ["i:admin@contoso.example",
                                                                          "t:ann@partner.example"]
        assert AuditEvent.objects.get(pk=bare.pk).search_keys == []
    finally:
        _migrate(_latest())


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
