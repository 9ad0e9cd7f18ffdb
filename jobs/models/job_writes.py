"""The one write path of `jobs`: every write Django makes to races keeps the leaderboard's
summary rows in step, in the write's own transaction (jobs/leaderboard/summary_in_step.py).

No writer has to remember it: Job.save and Job.delete, and the queryset's update, delete,
bulk_create and bulk_update read the rows of the races they change (locked) before the write
and move the races between groups after it. The rows after the write are known without
reading them again when the write sets plain values (an update of constants, a save, a bulk
write); an update computed by the database (F expressions) reads them back. Writes of
columns the summary does not read (attempts, the worker, the commit) run as they are. A queryset
write is narrowed to the races it read first, its own filter kept, so a race that comes to
match meanwhile is neither written nor miscounted. Only SQL that bypasses Django can skew
the rows; `manage.py rebuild_leaderboard_summary` recounts them after such a write.
"""

import contextlib

from django.db import models, router

from jobs.leaderboard.summary_in_step import JOB_COLUMNS, kept_in_step, moves_races, rows_of


def _races(model, using):
    """The races as the summary reads them: a plain queryset of the model's base manager."""
    return model._base_manager.using(using)


def _row_of(job, fields=JOB_COLUMNS):
    """The summary's columns of an instance, as the write stores them."""
    return {name: getattr(job, name) for name in fields if name in JOB_COLUMNS}


def _as_stored(model, values):
    """An update's plain values of the summary's columns, as the database gives them back."""
    return {
        name: model._meta.get_field(name).to_python(value)
        for name, value in values.items()
        if name in JOB_COLUMNS
    }


def _computed_by_the_database(values):
    return any(hasattr(value, "resolve_expression") for value in values.values())


def _known_after(rows):
    """{primary key: row} as the write stores them, or None (read them back) when a value is
    an expression the database computes (F("speedup") * 2 set on an instance)."""
    if any(_computed_by_the_database(row) for row in rows.values()):
        return None
    return rows


class JobQuerySet(models.QuerySet):
    """Job's queryset: its writes move the races between summary groups."""

    def update(self, **values):
        if not moves_races(values):
            return super().update(**values)
        with kept_in_step(_races(self.model, self.db), self) as write:
            count = models.QuerySet.update(self.filter(pk__in=list(write.before)), **values)
            if count == len(write.before) and not _computed_by_the_database(values):
                changed = _as_stored(self.model, values)
                write.after = {pk: {**row, **changed} for pk, row in write.before.items()}
            return count

    update.alters_data = True

    def delete(self):
        with kept_in_step(_races(self.model, self.db), self) as write:
            deleted = models.QuerySet.delete(self.filter(pk__in=list(write.before)))
            write.after = {}
            return deleted

    delete.alters_data = True
    delete.queryset_only = True

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        races = _races(self.model, self.db)
        if not (kwargs.get("update_conflicts") or kwargs.get("ignore_conflicts")):
            with kept_in_step(races, new_rows={job.pk: _row_of(job) for job in objs}):
                return super().bulk_create(objs, *args, **kwargs)
        # An upsert may change stored races too: read them all back.
        ids = [job.pk for job in objs]
        with kept_in_step(races, races.filter(pk__in=ids)) as write:
            created = super().bulk_create(objs, *args, **kwargs)
            write.after = rows_of(races.filter(pk__in=ids), lock=False)
            return created

    def bulk_update(self, objs, fields, batch_size=None):
        objs = list(objs)
        if not moves_races(fields):
            return super().bulk_update(objs, fields, batch_size=batch_size)
        races = _races(self.model, self.db)
        with kept_in_step(races, races.filter(pk__in=[job.pk for job in objs])) as write:
            updated = super().bulk_update(objs, fields, batch_size=batch_size)
            write.after = _known_after(
                {
                    job.pk: {**write.before[job.pk], **_row_of(job, fields)}
                    for job in objs
                    if job.pk in write.before
                }
            )
            return updated

    bulk_update.alters_data = True


def kept_in_step_while_saved(job, update_fields=None):
    """The summary kept in step around a Job's save (of `update_fields`, when given). A new
    race is not read first: its primary key has a default, so Django inserts it (an existing
    row would be an IntegrityError, not an update)."""
    if update_fields is not None and not moves_races(update_fields):
        return contextlib.nullcontext()
    races = _races(type(job), router.db_for_write(type(job), instance=job))
    if job._state.adding:
        return kept_in_step(races, new_rows={job.pk: _row_of(job)})
    return _saved(races, job, update_fields)


@contextlib.contextmanager
def _saved(races, job, update_fields):
    with kept_in_step(races, races.filter(pk=job.pk)) as write:
        yield
        if job.pk not in write.before:  # the save inserted it (no update_fields): read it
            write.after = rows_of(races.filter(pk=job.pk), lock=False)
            return
        fields = JOB_COLUMNS if update_fields is None else update_fields
        write.after = _known_after({job.pk: {**write.before[job.pk], **_row_of(job, fields)}})


@contextlib.contextmanager
def kept_in_step_while_deleted(job):
    """The summary kept in step around a Job's delete (the race leaves its groups)."""
    races = _races(type(job), router.db_for_write(type(job), instance=job))
    with kept_in_step(races, races.filter(pk=job.pk)) as write:
        yield
        write.after = {}
