"""The contract's roles as Django groups, with the role-wide read permissions they carry.

Object permissions (an owner's own models) are granted per object through django-guardian
when a model is registered; the global view permissions here are what let oversight roles read
everything.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = ["Model Owner", "MRC", "Security Architect", "SRE", "Auditor", "Executive"]
READ_ALL = ["MRC", "Security Architect", "Auditor", "Executive"]

GLOBAL_VIEW = {
    "registry.view_registeredmodel": READ_ALL + ["SRE"],
    "registry.view_modelversion": READ_ALL + ["SRE"],
    "registry.view_artifact": READ_ALL + ["SRE"],
    "registry.view_historicalregisteredmodel": READ_ALL,
    "registry.view_historicalmodelversion": READ_ALL,
    "registry.view_historicalartifact": READ_ALL,
    "audit.view_auditevent": READ_ALL,
}


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in ROLES}
    for dotted, roles in GLOBAL_VIEW.items():
        app_label, codename = dotted.split(".")
        permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for role in roles:
            groups[role].permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("registry", "0001_initial"),
        ("audit", "0002_chain_head_and_append_only_trigger"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
