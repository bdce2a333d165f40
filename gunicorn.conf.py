"""Gunicorn settings, read from the working directory by every `gunicorn` start (the Dockerfile,
`make load`).

Threads let a worker serve other requests while one waits on PostgreSQL. The keep-alive outlasts
the longest pause between a client's requests (phones and sync clients poll every few seconds), so
the server never closes a connection at the moment the client reuses it, which shows up as
"connection reset" errors under load. The limits cap what a client may send before Django sees it;
Django caps the body (DATA_UPLOAD_MAX_MEMORY_SIZE, REQUEST_MAX_BYTES, per-upload limits in
anshun/settings).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
graceful_timeout = 30

# Request line (method, path and query string), number of headers, size of one header.
limit_request_line = int(os.environ.get("GUNICORN_LIMIT_REQUEST_LINE", "8190"))
limit_request_fields = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELDS", "100"))
limit_request_field_size = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", "8190"))
# A slow client cannot hold a worker for ever while it trickles a large upload.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
