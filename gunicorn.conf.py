"""gunicorn settings, read from the working directory by every `gunicorn` start (Dockerfile,
`make load`). Caps on what a client may send before Django sees it; Django caps the body
(DATA_UPLOAD_MAX_MEMORY_SIZE, REQUEST_MAX_BYTES, per-upload limits in anshun/settings)."""

import os

# Request line (method, path and query string), number of headers, size of one header.
limit_request_line = int(os.environ.get("GUNICORN_LIMIT_REQUEST_LINE", "8190"))
limit_request_fields = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELDS", "100"))
limit_request_field_size = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", "8190"))
# A slow client cannot hold a worker for ever while it trickles a large upload.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
