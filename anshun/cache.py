"""A Redis cache that degrades instead of failing when Redis is away.

Throttle counters (DRF, token minting and key guessing), the dashboard's tile cache and the
rollup's progress all live in the default cache. With Django's own ``RedisCache`` a Redis
outage turned every one of those reads into an exception, so every signed-in API call and the
dashboard answered 500. ``FailSoftRedisCache`` catches Redis connection errors and serves the
operation from a small per-process memory cache instead:

- throttles keep counting, per process rather than across processes, until Redis is back;
- callers that care whether the shared cache answered (the dashboard says "live, cache
  unavailable"; ``/metrics`` reports ``anshun_redis_up 0``) ask ``shared_cache_available()``;
- after a failure Redis is not tried again for ``RETRY_SECONDS``, so an outage costs each
  request one refused connection at most, not one per cache call.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

RETRY_SECONDS = 2.0
_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionError, TimeoutError)


class FailSoftRedisCache(RedisCache):
    """``RedisCache`` whose operations fall back to process memory while Redis is unreachable."""

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        # A Redis that does not answer must not hold a request for long.
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 1.0)
        super().__init__(server, {**params, "OPTIONS": options})
        self._fallback = LocMemCache(f"fail-soft-{id(self)}", {"OPTIONS": {"MAX_ENTRIES": 5000}})
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._last_ok = True

    @property
    def available(self) -> bool:
        """Whether the last operation reached Redis (False while an outage is being bridged)."""
        return self._last_ok

    def _call(self, name: str, *args, **kwargs):
        if time.monotonic() >= self._down_until:
            try:
                result = getattr(super(), name)(*args, **kwargs)
            except _REDIS_DOWN as error:
                with self._lock:
                    if self._last_ok:
                        logger.warning("cache: Redis unavailable (%s); using process memory", error)
                    self._last_ok = False
                    self._down_until = time.monotonic() + RETRY_SECONDS
            else:
                if not self._last_ok:
                    logger.warning("cache: Redis is back")
                self._last_ok = True
                return result
        return getattr(self._fallback, name)(*args, **kwargs)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", key, version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", keys, version)

    def clear(self):
        return self._call("clear")


def shared_cache_available(alias: str = "default") -> bool:
    """False when the last operation on the cache had to fall back to process memory."""
    return getattr(caches[alias], "available", True)
