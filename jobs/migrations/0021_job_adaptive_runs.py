from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0020_job_priority"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="adaptive",
            field=models.BooleanField(db_default=False, default=False),
        ),
    ]
