"""Timestamps stored as INTEGER unix seconds, as in the seed's schema.

The seed's monitoring commands (`datetime(created_at, 'unixepoch')`) read these columns
directly, so the database holds plain integers while Python code sees aware datetimes.
"""

import datetime

from django.core import checks
from django.core.exceptions import ValidationError
from django.db import models

UTC = datetime.UTC


def to_unix_seconds(value):
    """Convert an aware datetime, a date or a number to whole unix seconds."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given for a unix timestamp column")
        return int(value.timestamp())
    if isinstance(value, datetime.date):
        return int(datetime.datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())
    return int(value)


def from_unix_seconds(value):
    if value is None:
        return None
    return datetime.datetime.fromtimestamp(int(value), tz=UTC)


class UnixTimestampField(models.IntegerField):
    """An aware datetime in Python, an INTEGER of unix seconds in the database."""

    description = "Date and time stored as integer unix seconds"

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if self.has_default() and isinstance(self.default, datetime.datetime):
            errors.append(checks.Error("Use a callable default, not a fixed datetime.", obj=self))
        return errors

    @property
    def validators(self):
        # Not IntegerField's range validators: they compare the (datetime) value with ints,
        # which made full_clean() raise TypeError on every model with a timestamp.
        return [*self.default_validators, *self._validators]

    def from_db_value(self, value, expression, connection):
        return from_unix_seconds(value)

    def to_python(self, value):
        if value is None or isinstance(value, datetime.datetime):
            return value
        if isinstance(value, str):
            try:
                return from_unix_seconds(int(value))
            except ValueError:
                pass
            try:
                parsed = datetime.datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValidationError(
                    f"{value!r} is not a date and time.", code="invalid"
                ) from None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return from_unix_seconds(value)

    def get_prep_value(self, value):
        # Skip IntegerField's int() coercion: a datetime is converted, not cast.
        if hasattr(value, "resolve_expression"):
            return value
        if isinstance(value, str):
            # Lookups from query strings (the admin's date filter sends "2026-11-26").
            value = self.to_python(value)
        return to_unix_seconds(value)

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        return "" if value is None else str(to_unix_seconds(value))

    def formfield(self, **kwargs):
        from django import forms

        return models.Field.formfield(self, **{"form_class": forms.DateTimeField, **kwargs})
