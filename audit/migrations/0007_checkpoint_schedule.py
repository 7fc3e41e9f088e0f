"""Register the django-q2 schedule that signs the audit chain's head every 5 minutes when it
moved (idempotent). The interval bounds how much recent history a database superuser could
rewrite undetected: everything up to the latest checkpoint is vouched for by its signature."""

from django.db import migrations

SCHEDULE_NAME = "audit: signed checkpoint of the chain"
SCHEDULE_FUNC = "audit.tasks.scheduled_checkpoint"
MINUTES = 5


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": SCHEDULE_FUNC, "schedule_type": "I", "minutes": MINUTES, "repeats": -1},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_auditcheckpoint"), ("django_q", "__latest__")]

    operations = [migrations.RunPython(schedule, unschedule)]
