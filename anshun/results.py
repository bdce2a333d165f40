"""Celery's Redis result backend, without the subscription it opens at every send.

Celery's ``RedisBackend`` subscribes to a task's result channel the moment the task is sent,
in case the sender waits for the result. The web never waits for one, and with Redis away
that subscription retried for 20 seconds, then left the process unable to send anything
until restarted. Here a sender subscribes only when it actually waits (``AsyncResult.get``),
which reads the stored result first, so nothing is missed.
"""

from celery.backends.redis import RedisBackend


class SendOnlyRedisBackend(RedisBackend):
    def on_task_call(self, producer, task_id):
        """Do not subscribe at send time (see the module's docstring)."""


def result_backend_url(redis_url: str) -> str:
    return f"anshun.results:SendOnlyRedisBackend+{redis_url}"
