"""Test settings for one pytest-xdist worker (``tests/xdist_worker_env.py`` selects them).

The same as ``anshun.settings.test`` but for the uploaded files: each worker keeps its own
folder, because the backup drill swaps the whole media folder and the other worker must not lose
its files meanwhile. A module rather than a change made in the test process, so that the Celery
workers the tests start read the same folder.
"""

import os

from anshun.settings.test import *  # noqa: F403
from anshun.settings.test import BASE_DIR

MEDIA_ROOT = BASE_DIR / ".local" / os.environ.get("ANSHUN_TEST_MEDIA_DIR", "test-media")
