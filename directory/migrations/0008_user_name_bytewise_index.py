"""One index for a startswith on users' displayName without $orderby (issue 9, speed): (tenant,
lower(display_name) COLLATE "C", id) over the users not deleted. ``directory.api.odata.prefix_order``
filters and sorts such a list on that expression, so a page is one range of this index in order,
whatever the prefix; before, the planner chose between the prefix index plus a sort of every match and a
walk of the list order index filtering each row (seconds for a common or late prefix at 1,000,000 users).

PostgreSQL only (RunSQL, outside the migration state, like 0007's text_pattern_ops indexes): SQLite has
no collation named "C", and scans its small development tables anyway.
"""

from django.db import migrations

INDEX = "user_tenant_name_bytewise_idx"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "directory_user" '
        '("tenant_id", (lower("display_name") COLLATE "C"), "id") WHERE "deleted_at" IS NULL'
    )
    schema_editor.execute('ANALYZE "directory_user"')  # statistics on the new expression (see 0007)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):

    dependencies = [
        ("directory", "0007_list_indexes"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
