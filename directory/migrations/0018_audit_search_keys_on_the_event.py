"""Audit search keys move into the event's own row (issue 13: the expiry sweep's speed).

``AuditEventKey`` held one row per key (about six per event, each with four indexes and two foreign
keys checked at commit); a sweep ending 100,000 assignments wrote 1.8 million of them. The keys are now
a JSON array on the event (``"t:ann@partner.example"``), found on PostgreSQL through a GIN index
(``jsonb_path_ops``: containment only, small entries). SQLite has no GIN: there the search reads the
arrays. The event's own ``tenant_id`` index goes too: ``audit_tenant_time_idx`` leads with the tenant.
"""

import django.db.models.deletion
from django.db import migrations, models

import directory.models.audit

INDEX = "audit_search_keys_idx"


def move_keys(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "UPDATE directory_auditevent e SET search_keys = k.keys FROM ("
            " SELECT event_id, jsonb_agg(side || ':' || key) AS keys FROM directory_auditeventkey GROUP BY event_id"
            ") k WHERE k.event_id = e.id")
        return
    AuditEvent = apps.get_model("directory", "AuditEvent")
    AuditEventKey = apps.get_model("directory", "AuditEventKey")
    keys: dict = {}
    for event_id, side, key in AuditEventKey.objects.values_list("event_id", "side", "key").iterator(5000):
        keys.setdefault(event_id, []).append(f"{side}:{key}")
    events = list(AuditEvent.objects.filter(pk__in=list(keys)).only("pk"))
    for event in events:
        event.search_keys = keys[event.pk]
    AuditEvent.objects.bulk_update(events, ["search_keys"], batch_size=1000)


def move_keys_back(apps, schema_editor):
    AuditEvent = apps.get_model("directory", "AuditEvent")
    AuditEventKey = apps.get_model("directory", "AuditEventKey")
    rows = []
    for event in AuditEvent.objects.only("pk", "tenant_id", "search_keys").iterator(2000):
        rows.extend(AuditEventKey(event_id=event.pk, tenant_id=event.tenant_id, side=k[0], key=k[2:])
                    for k in event.search_keys or [] if k[1:2] == ":")
    AuditEventKey.objects.bulk_create(rows, batch_size=5000)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON directory_auditevent "
                              "USING gin (search_keys jsonb_path_ops)")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("directory", "0017_self_service_request_console_index"),
    ]

    operations = [
        # The old rows' reverse name would shadow the new field while both exist.
        migrations.AlterField(
            model_name="auditeventkey",
            name="event",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                    to="directory.auditevent"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="search_keys",
            field=directory.models.audit.SearchKeysField(blank=True, default=list, editable=False),
        ),
        migrations.RunPython(move_keys, move_keys_back),
        migrations.DeleteModel(name="AuditEventKey"),
        migrations.AlterField(
            model_name="auditevent",
            name="tenant",
            field=models.ForeignKey(blank=True, db_index=False, null=True,
                                    on_delete=django.db.models.deletion.CASCADE, related_name="audit_events",
                                    to="directory.tenant"),
        ),
        migrations.RunPython(create_index, drop_index),
    ]
