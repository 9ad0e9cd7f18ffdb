from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0019_operator_races_off_the_leaderboard"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="priority",
            field=models.PositiveSmallIntegerField(
                db_default=0, default=0, help_text="Claimed in ascending order (suite races: 1)."
            ),
        ),
    ]
