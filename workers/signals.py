"""Signals other apps listen to, so that the workers app never imports them.

`toolchains_recorded(worker_id, toolchains)` is sent after a worker's probe is stored: the
suites app races its suites for versions no suite run has used (suites/triggers.py).
`pool_maintained(worker_id)` is sent after each of a worker's housekeeping rounds (every
ARENA_HEARTBEAT_INTERVAL): the suites app moves its runs on.
"""

from django.dispatch import Signal

toolchains_recorded = Signal()
pool_maintained = Signal()
