"""The Scanner role (an outside scanning pipeline's service account): reads models, versions
and artifacts, and records scan results (core/access.py)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = {
    "registry": ["view_registeredmodel", "view_modelversion", "view_artifact"],
}


def create_scanner(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Scanner")
    for app_label, codenames in CODENAMES.items():
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )


def remove_scanner(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Scanner").delete()


class Migration(migrations.Migration):
    dependencies = [("governance", "0005_webhook_schedule")]

    operations = [migrations.RunPython(create_scanner, remove_scanner)]
