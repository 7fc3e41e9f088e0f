"""On PostgreSQL, refuse TRUNCATE of the audit events and of the chain head, as UPDATE and
DELETE of events already are (0002): a statement-level BEFORE TRUNCATE trigger.

Row triggers do not fire on TRUNCATE, so until now one statement could empty the trail (caught
afterwards by verification, but gone). The table owner can still switch the trigger off
deliberately (ALTER TABLE ... DISABLE TRIGGER); `manage.py flush`, which the test runner uses
between transactional tests, does exactly that around its own TRUNCATE (audit/management/
commands/flush.py).
"""

from django.db import migrations

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION audit_trail_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: TRUNCATE refused on %', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
TABLES = ("audit_auditevent", "audit_auditchainhead")


def trigger_name(table: str) -> str:
    return f"{table}_no_truncate"


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION_SQL, params=None)  # the SQL's % is not a placeholder
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {trigger_name(table)} BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_trail_no_truncate()",
            params=None,
        )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger_name(table)} ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS audit_trail_no_truncate()")


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_report_view_permission")]

    operations = [migrations.RunPython(install, remove)]
