"""The scheduled jobs follow their functions: the policy-exception workflow lives in
policies.waivers (a name that is not Python's word for errors) and the fleet sweep in
policies.tasks (it also takes the compliance snapshot, which builds on monitoring)."""

from django.db import migrations

MOVED = {
    "policies.monitoring.scheduled_sweep": "policies.tasks.scheduled_sweep",
    "policies.exceptions.expire_exceptions": "policies.waivers.expire_exceptions",
    "policies.exceptions.remind_expiring_exceptions": "policies.waivers.remind_expiring_exceptions",
    "policies.exceptions.review_digest": "policies.waivers.review_digest",
}


def forward(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for old, new in MOVED.items():
        Schedule.objects.filter(func=old).update(func=new)


def backward(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for old, new in MOVED.items():
        Schedule.objects.filter(func=new).update(func=old)


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0004_monitoring_schedules"),
        ("django_q", "__latest__"),
    ]

    operations = [migrations.RunPython(forward, backward)]
