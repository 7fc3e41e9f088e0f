"""The MLflow sync's records (registry/mlflow/sync.py), readable in the admin by the oversight
roles, and the django-q2 schedule that syncs MLFLOW_TRACKING_URI every few minutes (the job does
nothing while the setting is empty; its own interval and back-off decide when a sync is due)."""

import django.db.models.deletion
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

READ_ALL = ["MRC", "Security Architect", "Auditor", "Executive"]

SCHEDULE_NAME = "registry: sync the MLflow registry (MLFLOW_TRACKING_URI)"
SCHEDULE_FUNC = "registry.mlflow.jobs.scheduled_sync"
SCHEDULE_MINUTES = 5  # registry.mlflow.choices.SCHEDULE_MINUTES when this was written


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(
        content_type__app_label="registry", codename="view_mlflowsyncrecord"
    )
    for group in Group.objects.filter(name__in=READ_ALL):
        group.permissions.add(permission)


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": SCHEDULE_FUNC,
            "schedule_type": "I",
            "minutes": SCHEDULE_MINUTES,
            "repeats": -1,
        },
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_rescan_schedule"),
        ("governance", "0001_roles"),
        ("django_q", "__latest__"),
    ]

    operations = [
        migrations.CreateModel(
            name="MlflowSyncRecord",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("RUN", "Run"), ("MODEL", "Model"), ("VERSION", "Version")],
                        max_length=10,
                    ),
                ),
                ("tracking_uri", models.CharField(max_length=500)),
                ("mlflow_model", models.CharField(blank=True, max_length=256)),
                ("mlflow_version", models.CharField(blank=True, max_length=50)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("PENDING", "Pending"),
                            ("RUNNING", "Running"),
                            ("COMPLETE", "Complete"),
                            ("FAILED", "Failed"),
                        ],
                        db_index=True,
                        default="PENDING",
                        max_length=10,
                    ),
                ),
                ("source", models.CharField(blank=True, max_length=2000)),
                ("files", models.JSONField(blank=True, default=list)),
                ("tags_written", models.JSONField(blank=True, default=dict)),
                ("aliases_written", models.JSONField(blank=True, default=dict)),
                ("alias_violations", models.JSONField(blank=True, default=dict)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_error", models.TextField(blank=True)),
                ("last_synced_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("imported_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "model",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="registry.registeredmodel",
                    ),
                ),
                (
                    "version",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="mlflow_sync",
                        to="registry.modelversion",
                    ),
                ),
            ],
            options={
                "ordering": ["tracking_uri", "kind", "mlflow_model", "mlflow_version"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tracking_uri", "kind", "mlflow_model", "mlflow_version"),
                        name="mlflowsyncrecord_unique",
                    )
                ],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(schedule, unschedule),
    ]
