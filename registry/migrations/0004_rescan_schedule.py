"""The django-q2 schedule that scans held artifacts the scanner's current rules have not judged
(new uploads whose queued scan was lost, and every held artifact after the rules change)."""

from django.db import migrations

SCHEDULE_NAME = "registry: scan artifacts under the current rules"
SCHEDULE_FUNC = "registry.tasks.rescan_outdated"


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": SCHEDULE_FUNC, "schedule_type": "I", "minutes": 10, "repeats": -1},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_artifact_custody"), ("django_q", "__latest__")]

    operations = [migrations.RunPython(schedule, unschedule)]
