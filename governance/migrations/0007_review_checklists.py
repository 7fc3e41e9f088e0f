"""Reviews that mean something (issue 12): a Security Architect's approval records the guide's
four security review areas beside the MRC checklist, and the system's return of an approved
version to review (after a risk tier change) is a transition action of its own."""

from django.db import migrations, models

ACTIONS = [
    ("SUBMIT", "Submit"),
    ("POLICY_CHECK_FAILED", "Policy Check Failed"),
    ("ROUTE_TO_REVIEW", "Route To Review"),
    ("APPROVE_STAGING", "Approve Staging"),
    ("RETURN_TO_REVIEW", "Return To Review"),
    ("REJECT", "Reject"),
    ("DEPLOY_STAGING", "Deploy Staging"),
    ("REQUEST_PRODUCTION", "Request Production"),
    ("PRODUCTION_BLOCKED", "Production Blocked"),
    ("APPROVE_PRODUCTION", "Approve Production"),
    ("REJECT_PRODUCTION", "Reject Production"),
    ("DEPLOY_PRODUCTION", "Deploy Production"),
    ("RETIRE", "Retire"),
]


class Migration(migrations.Migration):
    dependencies = [("governance", "0006_scanner_role")]

    operations = [
        migrations.AddField(
            model_name="approval",
            name="security_checklist",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalapproval",
            name="security_checklist",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="statetransition",
            name="action",
            field=models.CharField(choices=ACTIONS, max_length=30),
        ),
    ]
