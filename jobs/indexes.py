"""Index types the stock ones cannot express on both databases."""

from django.db import models


class NullsLastDescIndex(models.Index):
    """An index whose first (descending) column keeps NULLs last on PostgreSQL as well.

    The leaderboard ranks by `speedup DESC NULLS LAST`. SQLite's descending order already
    puts NULLs last (and refuses NULLS LAST in CREATE INDEX); PostgreSQL's puts them first,
    so a plain DESC index could not serve that ORDER BY there.
    """

    def create_sql(self, model, schema_editor, using="", **kwargs):
        statement = super().create_sql(model, schema_editor, using=using, **kwargs)
        if schema_editor.connection.vendor == "postgresql":
            columns = statement.parts["columns"]
            first, *rest = columns.col_suffixes
            columns.col_suffixes = [f"{first} NULLS LAST", *rest]
        return statement
