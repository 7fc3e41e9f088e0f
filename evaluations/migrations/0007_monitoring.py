"""Monitoring deployed versions: batches of production traffic, outcomes and daily windows;
the oversight roles may read them in the admin; the daily django-q2 schedule that computes
every window holding a batch not yet counted (00:15 UTC)."""

from datetime import UTC, datetime, time, timedelta

import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

READ_ALL = ["MRC", "Security Architect", "Auditor", "Executive"]
MODELS = ("monitoringbatch", "monitoringoutcomes", "monitoringwindow")
SCHEDULE_NAME = "evaluations: compute pending monitoring windows"
SCHEDULE_FUNC = "evaluations.tasks.compute_pending_monitoring_windows"


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="evaluations", codename__in=[f"view_{m}" for m in MODELS]
    )
    for group in Group.objects.filter(name__in=READ_ALL):
        group.permissions.add(*permissions)


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": SCHEDULE_FUNC,
            "schedule_type": "D",
            "repeats": -1,
            "next_run": datetime.combine(tomorrow, time(0, 15), tzinfo=UTC),
        },
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("evaluations", "0006_run_catalogue_inputs"),
        ("governance", "0001_roles"),
        ("django_q", "__latest__"),
        ("registry", "0004_rescan_schedule"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="MonitoringBatch",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("batch_id", models.CharField(max_length=200)),
                (
                    "status",
                    models.CharField(
                        choices=[("RECEIVED", "Received"), ("COMPUTED", "Computed")],
                        default="RECEIVED",
                        max_length=10,
                    ),
                ),
                ("rows", models.PositiveIntegerField()),
                ("columns", models.JSONField(default=list)),
                ("has_predictions", models.BooleanField(default=False)),
                ("has_record_ids", models.BooleanField(default=False)),
                ("file_name", models.CharField(max_length=255)),
                (
                    "file_format",
                    models.CharField(
                        choices=[("csv", "CSV"), ("parquet", "Parquet"), ("jsonl", "JSON lines")],
                        max_length=10,
                    ),
                ),
                ("sha256", models.CharField(max_length=64)),
                ("size", models.PositiveBigIntegerField()),
                ("stored", models.FileField(max_length=300, upload_to="monitoring/")),
                ("stored_sha256", models.CharField(max_length=64)),
                ("window_start", models.DateField(db_index=True)),
                ("received_at", models.DateTimeField(db_index=True)),
                (
                    "received_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="monitoring_batches",
                        to="registry.modelversion",
                    ),
                ),
            ],
            options={
                "ordering": ["-received_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="MonitoringOutcomes",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("rows", models.PositiveIntegerField()),
                ("file_name", models.CharField(max_length=255)),
                ("sha256", models.CharField(max_length=64)),
                ("stored", models.FileField(max_length=300, upload_to="monitoring/")),
                ("stored_sha256", models.CharField(max_length=64)),
                ("received_at", models.DateTimeField(db_index=True)),
                (
                    "batch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="outcomes",
                        to="evaluations.monitoringbatch",
                    ),
                ),
                (
                    "received_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="monitoring_outcomes",
                        to="registry.modelversion",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "monitoring outcomes",
                "ordering": ["-received_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="MonitoringWindow",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("start", models.DateField()),
                ("rows", models.PositiveIntegerField()),
                ("batches", models.PositiveIntegerField()),
                ("outcome_rows", models.PositiveIntegerField(default=0)),
                ("metrics", models.JSONField(default=dict)),
                ("notes", models.JSONField(blank=True, default=list)),
                ("last_batch", models.PositiveBigIntegerField(default=0)),
                ("last_outcomes", models.PositiveBigIntegerField(default=0)),
                ("computed_at", models.DateTimeField()),
                ("seconds", models.FloatField(default=0.0)),
                (
                    "reference_run",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="evaluations.evaluationrun",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="monitoring_windows",
                        to="registry.modelversion",
                    ),
                ),
            ],
            options={
                "ordering": ["-start"],
            },
        ),
        migrations.AddIndex(
            model_name="monitoringbatch",
            index=models.Index(fields=["version", "window_start"], name="monbatch_window"),
        ),
        migrations.AddIndex(
            model_name="monitoringbatch",
            index=models.Index(fields=["status", "window_start"], name="monbatch_status"),
        ),
        migrations.AddConstraint(
            model_name="monitoringbatch",
            constraint=models.UniqueConstraint(
                fields=("version", "batch_id"), name="monitoringbatch_one_per_batch_id"
            ),
        ),
        migrations.AddConstraint(
            model_name="monitoringwindow",
            constraint=models.UniqueConstraint(
                fields=("version", "start"), name="monitoringwindow_one_per_day"
            ),
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(schedule, unschedule),
    ]
