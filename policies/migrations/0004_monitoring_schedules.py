"""Let the oversight roles read exceptions, violations, monitoring runs and compliance snapshots
in the admin, and register the django-q2 schedules of continuous monitoring (idempotent: run
again, they are updated, never duplicated)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ_ALL = ["MRC", "Security Architect", "Auditor", "Executive"]
CODENAMES = [
    "view_policyexception",
    "view_historicalpolicyexception",
    "view_exceptionapproval",
    "view_violation",
    "view_monitoringrun",
    "view_compliancesnapshot",
]

# name -> (function, schedule type, minutes): I every `minutes`, H hourly, D daily, W weekly.
SCHEDULES = {
    "monitoring: compliance sweep": ("policies.monitoring.scheduled_sweep", "I", 15),
    "monitoring: enhanced sweep of excepted versions": (
        "policies.monitoring.enhanced_sweep",
        "I",
        5,
    ),
    "exceptions: expire": ("policies.exceptions.expire_exceptions", "I", 5),
    "exceptions: expiry reminders": ("policies.exceptions.remind_expiring_exceptions", "H", None),
    "exceptions: weekly review digest": ("policies.exceptions.review_digest", "W", None),
    "compliance: daily snapshot": ("policies.compliance.take_snapshot", "D", None),
}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="policies", codename__in=CODENAMES
    )
    for group in Group.objects.filter(name__in=READ_ALL):
        group.permissions.add(*permissions)


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, (func, kind, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": kind, "minutes": minutes, "repeats": -1},
        )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=list(SCHEDULES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0003_exceptions_and_monitoring"),
        ("governance", "0001_roles"),
        ("django_q", "__latest__"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(schedule, unschedule),
    ]
