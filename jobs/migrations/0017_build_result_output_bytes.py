"""build_results.output_bytes replaces output_length: the live poll's positions are UTF-8 bytes
(jobs/live/output_bytes.py), so the stored length it reads is the output's length in bytes."""

import jobs.live.output_bytes
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('jobs', '0016_speedup_steps_per_day'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='buildresult',
            name='output_length',
        ),
        migrations.AddField(
            model_name='buildresult',
            name='output_bytes',
            field=models.GeneratedField(db_persist=True, expression=jobs.live.output_bytes.OctetLength('output'), output_field=models.IntegerField()),
        ),
    ]
