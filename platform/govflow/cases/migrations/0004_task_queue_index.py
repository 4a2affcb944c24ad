"""Indexes on viewflow's task table for govflow's queue and inbox (viewflow's own indexes do not cover them).

The queue asks for open, unclaimed human tasks routed to (role permission, area) pairs; the inbox for a
user's open tasks. Partial indexes keep them small: only open rows are indexed, however many finished
tasks accumulate. Both PostgreSQL and SQLite support partial indexes.
"""

from django.db import migrations

QUEUE = (
    "CREATE INDEX IF NOT EXISTS govflow_task_queue ON viewflow_task "
    "(owner_permission_obj_pk, owner_permission, scheduled) "
    "WHERE status = 'NEW' AND owner_id IS NULL AND flow_task_type = 'HUMAN'"
)
INBOX = (
    "CREATE INDEX IF NOT EXISTS govflow_task_inbox ON viewflow_task (owner_id, scheduled) "
    "WHERE status IN ('ASSIGNED', 'STARTED') AND flow_task_type = 'HUMAN'"
)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_workspace"),
        ("viewflow", "0015_task_scheduled"),
    ]

    operations = [
        migrations.RunSQL(QUEUE, "DROP INDEX IF EXISTS govflow_task_queue"),
        migrations.RunSQL(INBOX, "DROP INDEX IF EXISTS govflow_task_inbox"),
    ]
