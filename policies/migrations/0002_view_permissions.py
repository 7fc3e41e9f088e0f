"""Let the oversight roles read policies and their results in the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ_ALL = ["MRC", "Security Architect", "Auditor", "Executive"]
CODENAMES = ["view_policy", "view_historicalpolicy", "view_policyevaluation"]


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


class Migration(migrations.Migration):
    dependencies = [("policies", "0001_initial"), ("governance", "0001_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
