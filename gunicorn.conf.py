"""Gunicorn settings for every deployment of the web process (the Dockerfile, `make load`).

Threads let a worker serve other requests while one waits on PostgreSQL. The keep-alive outlasts
the longest pause between a client's requests (phones and sync clients poll every few seconds),
so the server never closes a connection at the moment the client reuses it, which shows up as
"connection reset" errors under load.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
worker_class = "gthread"
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 75))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
