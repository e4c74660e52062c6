"""Drop user_tenant_name_prefix_idx (issue 9, speed): ``(tenant_id, lower(display_name)
text_pattern_ops)`` on every user, made redundant by 0008's ``(tenant_id, lower(display_name) COLLATE "C",
id) WHERE deleted_at IS NULL``. Both compare bytewise, so a name prefix is one range of either; the API's
startswith on displayName (``directory.api.odata.bytewise_prefix``, with or without $orderby) and the
panel's people search (``directory.selectors.people_search``) now state their prefix on the C-collated
expression, and only non-deleted users are ever searched by name prefix (deleted items are few and have
their own (tenant, deleted_at) index). One index less to write on every user insert and rename.
tests/api/test_list_indexes.py and tests/directory/test_self_service.py prove the plans with EXPLAIN.

The dropped index had one more use: it was the only index on lower(display_name) that is not partial,
and PostgreSQL takes an expression's statistics only from such an index (a partial one covers some rows),
so without it the planner guessed at ``lower(display_name) >= …`` (a keyset page) and ``LIKE 'x%'`` and
chose a sort over the list order index. The statistics are therefore kept without the index, as
extended statistics on the expression (PostgreSQL 14+), and analysed at once.

PostgreSQL only, like 0007 that created it (SQLite never had it). The reverse creates it again.
"""

from django.db import migrations

INDEX = "user_tenant_name_prefix_idx"
STATISTICS = "user_lower_display_name_stats"


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'CREATE STATISTICS IF NOT EXISTS "{STATISTICS}" ON (lower("display_name")) FROM "directory_user"')
    schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')
    schema_editor.execute('ANALYZE "directory_user"')


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "directory_user" ("tenant_id", (lower("display_name")) text_pattern_ops)'
    )
    schema_editor.execute(f'DROP STATISTICS IF EXISTS "{STATISTICS}"')


class Migration(migrations.Migration):

    dependencies = [
        ("directory", "0013_passkeys"),
    ]

    operations = [
        migrations.RunPython(drop_index, create_index, elidable=False),
    ]
