"""Signed checkpoints of the audit chain (audit/checkpoints.py), append-only like the events:
on PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE of them. The roles that read the
audit trail (view_auditevent) may read them in the admin. Also the POLICY_VIOLATION event type
of continuous monitoring."""

from django.contrib.auth.management import create_permissions
from django.db import migrations, models

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION audit_checkpoints_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit checkpoints are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_checkpoints_append_only
    BEFORE UPDATE OR DELETE ON audit_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only();

CREATE TRIGGER audit_auditcheckpoint_no_truncate
    BEFORE TRUNCATE ON audit_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_trail_no_truncate();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS audit_auditcheckpoint_no_truncate ON audit_auditcheckpoint;
DROP TRIGGER IF EXISTS audit_checkpoints_append_only ON audit_auditcheckpoint;
DROP FUNCTION IF EXISTS audit_checkpoints_append_only();
"""


def install_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)  # the SQL's % is not a placeholder


def remove_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    checkpoint = Permission.objects.get(
        content_type__app_label="audit", codename="view_auditcheckpoint"
    )
    for group in Group.objects.filter(
        permissions__content_type__app_label="audit", permissions__codename="view_auditevent"
    ):
        group.permissions.add(checkpoint)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0005_refuse_truncate'),
        ('governance', '0001_roles'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditCheckpoint',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveBigIntegerField(editable=False, unique=True)),
                ('seq', models.BigIntegerField(db_index=True, editable=False)),
                ('head_hash', models.CharField(editable=False, max_length=64)),
                ('signed_at', models.DateTimeField(editable=False)),
                ('key_id', models.CharField(editable=False, max_length=64)),
                ('trigger', models.CharField(choices=[('SCHEDULE', 'Schedule'), ('REPORT', 'Report'), ('EVIDENCE_BUNDLE', 'Evidence bundle'), ('MANUAL', 'Command line')], editable=False, max_length=20)),
                ('prev_signature', models.CharField(blank=True, editable=False, max_length=100)),
                ('signature', models.CharField(editable=False, max_length=100, unique=True)),
            ],
            options={
                'ordering': ['number'],
            },
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='event_type',
            field=models.CharField(choices=[('AUTHENTICATION', 'Authentication'), ('MODEL_REGISTRY', 'Model registry change'), ('MODEL_PROMOTION', 'Model promotion'), ('RISK_TIER_CHANGE', 'Risk tier change'), ('POLICY_CHANGE', 'Policy change'), ('POLICY_EVALUATION', 'Policy evaluation'), ('EVALUATION_RUN', 'Evaluation run'), ('POLICY_EXCEPTION', 'Policy exception'), ('POLICY_VIOLATION', 'Policy violation'), ('REPORT', 'Report'), ('USER_ADMIN', 'User administration'), ('AUDIT_ACCESS', 'Audit trail access'), ('ACCESS_DENIED', 'Refused attempt')], db_index=True, max_length=40),
        ),
        migrations.RunPython(install_trigger, remove_trigger),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
