import jobs.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workers", "0002_worker_toolchains"),
    ]

    operations = [
        migrations.AddField(
            model_name="worker",
            name="noise_floor",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="worker",
            name="calibrated_at",
            field=jobs.fields.UnixTimestampField(blank=True, null=True),
        ),
    ]
