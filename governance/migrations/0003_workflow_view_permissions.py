"""Let the oversight roles read the workflow's records in the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ_ALL = ["MRC", "Security Architect", "Auditor", "Executive"]
CODENAMES = [
    "view_statetransition",
    "view_approval",
    "view_historicalapproval",
    "view_riskchangerequest",
    "view_risktierchangerequest",
    "view_historicalrisktierchangerequest",
]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="governance", codename__in=CODENAMES
    )
    for group in Group.objects.filter(name__in=READ_ALL):
        group.permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [("governance", "0002_workflow")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
