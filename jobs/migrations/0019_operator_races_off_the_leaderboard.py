from django.db import migrations, models

VERDICTS = ["elide", "standard", "tie", "inconclusive", "void", "not_comparable", "both_failed"]


def name_both_failed(apps, schema_editor):
    """Races whose two sides both failed were stored as inconclusive: they become both_failed
    (neither side succeeded, so neither has a success time), then the summary rows are
    recounted, operator races (a custom command on either side) left out
    (jobs.leaderboard.summary_rebuild.recount_in_migration, as 0013 does)."""
    from jobs.leaderboard.summary_rebuild import recount_in_migration

    Job = apps.get_model("jobs", "Job")
    Job.objects.using(schema_editor.connection.alias).filter(
        verdict="inconclusive",
        speedup__isnull=True,
        elide_success_ms__isnull=True,
        standard_success_ms__isnull=True,
    ).update(verdict="both_failed", winner=None)
    recount_in_migration(apps, schema_editor)


def name_inconclusive(apps, schema_editor):
    apps.get_model("jobs", "Job").objects.using(schema_editor.connection.alias).filter(
        verdict="both_failed"
    ).update(verdict="inconclusive")


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0018_notify_when_a_live_race_changes"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="job",
            name="jobs_verdict_valid",
        ),
        migrations.AlterField(
            model_name="job",
            name="verdict",
            field=models.CharField(
                blank=True,
                choices=[
                    ("elide", "Elide wins"),
                    ("standard", "Standard wins"),
                    ("tie", "Tie"),
                    ("inconclusive", "Inconclusive"),
                    ("void", "Void"),
                    ("not_comparable", "Not comparable"),
                    ("both_failed", "Both failed"),
                ],
                max_length=16,
                null=True,
            ),
        ),
        migrations.AddConstraint(
            model_name="job",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("verdict__isnull", True), ("verdict__in", VERDICTS), _connector="OR"
                ),
                name="jobs_verdict_valid",
            ),
        ),
        migrations.RunPython(name_both_failed, name_inconclusive),
    ]
