"""gunicorn's settings for the web service (deploy/arena-web.service).

Sync workers: every request is a few short queries, and the live poll answers in
milliseconds, so a worker per core plus one keeps the CPU busy without threads. The bind
address and the number of workers come from the environment file, with these defaults.
"""

import multiprocessing
import os

bind = os.environ.get("ARENA_WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("ARENA_WEB_WORKERS", multiprocessing.cpu_count() + 1))
# A request that takes longer than this is stuck (the slowest page answers in well under a
# second); its worker is restarted rather than left holding a connection.
timeout = 60
graceful_timeout = 30
# Recycle workers now and then so that a slow leak in any library never grows unbounded.
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
# Behind the reverse proxy on the same host: believe its X-Forwarded-Proto only from there.
forwarded_allow_ips = os.environ.get("ARENA_WEB_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
