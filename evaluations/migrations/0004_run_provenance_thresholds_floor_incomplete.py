"""Issue 12 points 4 and 5: where a run's predictions came from (the registry running the
version's model artifact, or the dataset), thresholds as a floor (thresholds_source becomes a
code, its old text moves to thresholds_note) and the INCOMPLETE status."""

import django.db.models.deletion
from django.db import migrations, models

from evaluations.metrics.thresholds import SUITE_SECTIONS, TIER_THRESHOLDS, looser_than


def thresholds_codes(apps, schema_editor):
    """The old free text becomes thresholds_note; the code is TIER for the tier's defaults,
    else STRICTER when the suite's section is no looser than the tier's, else blank (a looser
    document given before thresholds were a floor: no code describes it truthfully)."""
    EvaluationRun = apps.get_model("evaluations", "EvaluationRun")
    runs = EvaluationRun.objects.select_related("version__model").only(
        "thresholds", "thresholds_source", "suite", "version__model__risk_tier"
    )
    for run in runs.iterator():
        text = run.thresholds_source or ""
        tier = run.version.model.risk_tier
        if not text or text.startswith("risk tier default"):
            code = "TIER"
        else:
            section = SUITE_SECTIONS.get(run.suite)
            defaults = TIER_THRESHOLDS.get(tier, {}).get(section, {}) if section else {}
            given = (run.thresholds or {}).get(section, {}) if section else {}
            code = "" if looser_than(given, defaults, tier) else "STRICTER"
        EvaluationRun.objects.filter(pk=run.pk).update(
            thresholds_source=code, thresholds_note=text[:500]
        )


def thresholds_texts(apps, schema_editor):
    EvaluationRun = apps.get_model("evaluations", "EvaluationRun")
    EvaluationRun.objects.update(thresholds_source=models.F("thresholds_note"))


class Migration(migrations.Migration):

    dependencies = [
        ('evaluations', '0003_run_status_cancelled'),
        ('registry', '0004_rescan_schedule'),
    ]

    operations = [
        migrations.AddField(
            model_name='evaluationrun',
            name='artifact',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='evaluation_runs', to='registry.artifact'),
        ),
        migrations.AddField(
            model_name='evaluationrun',
            name='artifact_sha256',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='evaluationrun',
            name='features',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='evaluationrun',
            name='label_output',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name='evaluationrun',
            name='prediction_features',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='evaluationrun',
            name='predictions_note',
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name='evaluationrun',
            name='predictions_source',
            field=models.CharField(choices=[('REGISTRY', 'computed by the registry from the model artifact'), ('SUBMITTED', 'submitted with the dataset')], default='SUBMITTED', max_length=10),
        ),
        migrations.AddField(
            model_name='evaluationrun',
            name='runtime',
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name='evaluationrun',
            name='score_output',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name='evaluationrun',
            name='thresholds_note',
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AlterField(
            model_name='evaluationrun',
            name='status',
            field=models.CharField(choices=[('QUEUED', 'Queued'), ('RUNNING', 'Running'), ('PASSED', 'Passed'), ('FAILED', 'Failed'), ('INCOMPLETE', 'Incomplete'), ('ERROR', 'Error'), ('CANCELLED', 'Cancelled')], db_index=True, default='QUEUED', max_length=10),
        ),
        migrations.RunPython(thresholds_codes, thresholds_texts),
        migrations.AlterField(
            model_name='evaluationrun',
            name='thresholds_source',
            field=models.CharField(blank=True, choices=[('TIER', "the risk tier's defaults"), ('STRICTER', "stricter than the risk tier's defaults"), ('MRC', 'relaxed by MRC')], default='TIER', max_length=10),
        ),
    ]
