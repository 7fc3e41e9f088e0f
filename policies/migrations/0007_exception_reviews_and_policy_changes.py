"""Issue 16: change control of policies (PolicyChange) and exceptions as the guide describes
them (reason, remediation plan, periodic reviews).

Existing rows: an exception requested before reasons were asked keeps an empty `reason` (shown
as "not recorded": no reason is invented for it) and an empty remediation plan. Every ACTIVE
exception gets its first review due one interval (by its model's tier) after its activation, or
one interval after this migration when that date has already passed, so nothing escalates the
moment the release goes out. The oversight roles may read the new records in the admin, and the
hourly escalation of overdue reviews is scheduled (idempotent).
"""

from datetime import timedelta

import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models
from django.utils import timezone

# As policies.choices.EXCEPTION_REVIEW_INTERVAL_DAYS when this migration was written.
INTERVAL_DAYS = {"LOW": 30, "MEDIUM": 14, "HIGH": 7}
READ_ALL = ["MRC", "Security Architect", "Auditor", "Executive"]
CODENAMES = ["view_exceptionreview", "view_policychange"]
SCHEDULE_NAME = "exceptions: escalate overdue reviews"
SCHEDULE_FUNC = "policies.waivers.escalate_overdue_reviews"


def first_reviews(apps, schema_editor):
    PolicyException = apps.get_model("policies", "PolicyException")
    now = timezone.now()
    active = PolicyException.objects.filter(
        status="ACTIVE", next_review_due__isnull=True
    ).select_related("version__model")
    for exception in active.iterator():
        interval = timedelta(days=INTERVAL_DAYS[exception.version.model.risk_tier])
        start = exception.activated_at or now
        due = start + interval
        if due < now:
            due = now + interval
        PolicyException.objects.filter(pk=exception.pk).update(next_review_due=due)


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


def schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": SCHEDULE_FUNC, "schedule_type": "H", "minutes": None, "repeats": -1},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('policies', '0006_scanner_role_choice'),
        ('registry', '0004_rescan_schedule'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("governance", "0001_roles"),
        ("django_q", "__latest__"),
    ]

    operations = [
        migrations.CreateModel(
            name='ExceptionReview',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('Model Owner', 'Model Owner'), ('MRC', 'Mrc'), ('Security Architect', 'Security Architect'), ('SRE', 'Sre'), ('Auditor', 'Auditor'), ('Executive', 'Executive'), ('Scanner', 'Scanner')], max_length=40)),
                ('notes', models.TextField()),
                ('remediation_status', models.CharField(choices=[('NOT_STARTED', 'Not started'), ('IN_PROGRESS', 'In progress'), ('BLOCKED', 'Blocked'), ('COMPLETE', 'Complete')], max_length=20)),
                ('remediation_progress', models.PositiveSmallIntegerField()),
                ('due_at', models.DateTimeField(blank=True, null=True)),
                ('late', models.BooleanField(default=False)),
                ('next_review_due', models.DateTimeField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='PolicyChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('PROPOSED', 'Proposed'), ('APPROVED', 'Approved'), ('REJECTED', 'Rejected'), ('SUPERSEDED', 'Superseded')], db_index=True, default='PROPOSED', max_length=12)),
                ('base_document', models.JSONField()),
                ('document', models.JSONField()),
                ('changes', models.JSONField(default=dict)),
                ('relaxations', models.JSONField(default=list)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('decision_role', models.CharField(blank=True, choices=[('Model Owner', 'Model Owner'), ('MRC', 'Mrc'), ('Security Architect', 'Security Architect'), ('SRE', 'Sre'), ('Auditor', 'Auditor'), ('Executive', 'Executive'), ('Scanner', 'Scanner')], max_length=40)),
                ('comments', models.TextField(blank=True)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.AddField(
            model_name='historicalpolicyexception',
            name='next_review_due',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='historicalpolicyexception',
            name='reason',
            field=models.CharField(blank=True, choices=[('EMERGENCY_DEPLOYMENT', 'Emergency deployment'), ('TECHNICAL_LIMITATION', 'Technical limitation'), ('BUSINESS_URGENCY', 'Business urgency'), ('REGULATORY_CHANGE', 'Regulatory change')], max_length=30),
        ),
        migrations.AddField(
            model_name='historicalpolicyexception',
            name='remediation_due_date',
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='historicalpolicyexception',
            name='remediation_plan',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='historicalpolicyexception',
            name='review_escalated_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='policyexception',
            name='next_review_due',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='policyexception',
            name='reason',
            field=models.CharField(blank=True, choices=[('EMERGENCY_DEPLOYMENT', 'Emergency deployment'), ('TECHNICAL_LIMITATION', 'Technical limitation'), ('BUSINESS_URGENCY', 'Business urgency'), ('REGULATORY_CHANGE', 'Regulatory change')], max_length=30),
        ),
        migrations.AddField(
            model_name='policyexception',
            name='remediation_due_date',
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='policyexception',
            name='remediation_plan',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='policyexception',
            name='review_escalated_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='policyexception',
            index=models.Index(fields=['status', 'next_review_due'], name='policies_po_status_4b0635_idx'),
        ),
        migrations.AddField(
            model_name='exceptionreview',
            name='exception',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reviews', to='policies.policyexception'),
        ),
        migrations.AddField(
            model_name='exceptionreview',
            name='reviewer',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='policychange',
            name='decided_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='policychange',
            name='policy',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='changes', to='policies.policy'),
        ),
        migrations.AddField(
            model_name='policychange',
            name='proposed_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='exceptionreview',
            constraint=models.CheckConstraint(condition=models.Q(('remediation_progress__lte', 100)), name='exception_review_progress_percent'),
        ),
        migrations.AddConstraint(
            model_name='policychange',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'PROPOSED')), fields=('policy',), name='policychange_one_proposed_per_policy'),
        ),
        migrations.RunPython(first_reviews, migrations.RunPython.noop),
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(schedule, unschedule),
    ]
