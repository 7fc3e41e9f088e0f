"""Let the roles that read reports (MRC, Security Architect, Auditor, Executive) see them in
the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ_ALL = ["MRC", "Security Architect", "Auditor", "Executive"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(content_type__app_label="audit", codename="view_report")
    for group in Group.objects.filter(name__in=READ_ALL):
        group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_report"),
        ("governance", "0001_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
