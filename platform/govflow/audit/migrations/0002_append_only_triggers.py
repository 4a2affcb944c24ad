"""Make the audit table append-only in the database itself, not only in the ORM.

PostgreSQL: row triggers refuse UPDATE and DELETE for every role (the table owner and superusers would
have to drop or disable the trigger first, which is itself a DDL act a DBA can see), and UPDATE/DELETE/
TRUNCATE are revoked from PUBLIC; docs/operations.md shows how to run the web process as a role that
holds only SELECT and INSERT. SQLite (the demo database): a trigger refuses UPDATE; DELETE is left to the ORM's refusal because
Django's test flush empties tables with DELETE there.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION govflow_audit_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION USING MESSAGE = 'audit events are append-only: ' || TG_OP || ' refused',
    ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
  FOR EACH ROW EXECUTE FUNCTION govflow_audit_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditevent FROM PUBLIC;
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS govflow_audit_refuse_change();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only (UPDATE refused)'); END;""",
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS audit_event_no_update;", "DROP TRIGGER IF EXISTS audit_event_no_delete;"]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
