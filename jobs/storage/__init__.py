"""How races are stored: compact logs, bulk inserts, database-side cascades, monitoring, backup and
the legacy import."""
