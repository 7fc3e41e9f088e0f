"""Let the oversight roles read evaluation runs in the admin, and register the django-q2
schedule that recovers runs whose worker died (every 5 minutes)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ_ALL = ["MRC", "Security Architect", "Auditor", "Executive"]
SCHEDULE_NAME = "evaluations: recover stale runs"
SCHEDULE_FUNC = "evaluations.tasks.recover_stale_runs"


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(
        content_type__app_label="evaluations", codename="view_evaluationrun"
    )
    for group in Group.objects.filter(name__in=READ_ALL):
        group.permissions.add(permission)


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": SCHEDULE_FUNC, "schedule_type": "I", "minutes": 5, "repeats": -1},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("evaluations", "0001_initial"),
        ("governance", "0001_roles"),
        ("django_q", "__latest__"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(schedule, unschedule),
    ]
