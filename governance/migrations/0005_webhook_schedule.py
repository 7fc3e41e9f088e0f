"""Register the django-q2 schedule that retries due webhook deliveries every minute
(idempotent)."""

from django.db import migrations

SCHEDULE_NAME = "webhooks: deliver due (retries)"
SCHEDULE_FUNC = "governance.webhooks.deliver_due"


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": SCHEDULE_FUNC, "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("governance", "0004_webhooks"), ("django_q", "__latest__")]

    operations = [migrations.RunPython(schedule, unschedule)]
