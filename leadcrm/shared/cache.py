"""Django's Redis cache, made to degrade instead of failing when Redis does not answer.

Nothing the cache holds is the only copy (docs/operations.md#when-redis-or-the-broker-is-down):
sessions are in the database too, permissions and counts are read again from it, and the
forecast is rebuilt by the worker. So while Redis is unreachable every call answers as the
cache would if it were empty, except the counters that keep limits, which are counted in
this process instead. Why each kind of value is safe:

- Reads are a miss, never a stale copy: a user's permissions, a session, a lead count come
  from the database, so nothing revoked is granted again (a per-process copy would keep a
  revoked permission alive in every other process; a miss cannot).
- Writes and deletes are dropped, and their keys remembered: the first call that reaches
  Redis again deletes them there first, so a session signed out, a permission revoked or a
  count changed during the outage is not served from the copy Redis held from before it.
  More than ``FORGET_MAX`` keys and the whole cache is cleared instead (it is a Redis
  database of its own, see leadcrm/settings/production.py: nothing else lives there).
- Counters that keep limits (keys starting with one of ``LOCAL_FALLBACK_PREFIXES``: failed
  sign-ins, the public pages' request limits, the API's throttles) move to a per-process
  ``LocMemCache``: a limit still holds, ``N`` web processes allowing ``N`` times as many
  tries until Redis returns, and none is ever lifted. Their Redis counts are kept.

After a failure Redis is not asked again for ``RETRY_SECONDS`` (a request does not wait
for a connection that will not come), and the failure is logged at most once a minute per
process with how many calls it cost, not once per request.

Django makes one cache object per thread (per request under ``runserver``), so what the
outage needs to remember (whether Redis is down, the keys to delete, the local counts)
is kept once per process and Redis address (``_Outage``), not on the cache object.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis import exceptions as redis_errors

logger = logging.getLogger(__name__)

# Not answering: refused, reset, timed out, still loading its data, a read-only replica.
UNREACHABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.ReadOnlyError, OSError)

LOCAL_FALLBACK_PREFIXES = (
    "login-failures:", "password-reset:",  # leadcrm/accounts/throttle.py, forms.py
    "seller:req:", "seller:miss:",  # pipeline/seller/views.py
    "calendar:req:", "calendar:miss:",  # pipeline/reminders/views.py
    "throttle_",  # Django REST framework's throttles
)
RETRY_SECONDS = 5
LOG_EVERY_SECONDS = 60
FORGET_MAX = 10_000

NOT_ANSWERING = ("The cache (Redis) is not answering (%s). Sessions and permissions are read from the "
                 "database and limits counted in this process until it answers (%s failed calls in the "
                 "last minute).")
ANSWERING_AGAIN = "The cache (Redis) answers again; %s keys changed meanwhile were deleted there first."


class _Down(Exception):
    """Redis did not answer (or failed a moment ago): answer without it."""


class _Outage:
    """One process's view of one Redis: shared by every thread's cache object."""

    def __init__(self):
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.forget: set[tuple[str, int | None]] = set()
        self.forget_all = False
        self.failures = 0
        self.logged_at = 0.0
        self.replayed: int | str = 0  # keys deleted on the way back (or "all")


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_of(location: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(location, _Outage())


class FailSafeRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` that never raises because Redis is
    down. ``OPTIONS`` may add ``LOCAL_FALLBACK_PREFIXES`` and ``RETRY_SECONDS``; the rest
    go to redis-py (``socket_connect_timeout``, ``socket_timeout``)."""

    def __init__(self, server, params):
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        self.local_prefixes = tuple(options.pop("LOCAL_FALLBACK_PREFIXES", LOCAL_FALLBACK_PREFIXES))
        self.retry_seconds = options.pop("RETRY_SECONDS", RETRY_SECONDS)
        params["OPTIONS"] = options
        super().__init__(server, params)
        # Per address and key prefix: the remembered keys are deleted under this prefix.
        location = f"{','.join(self._servers)}|{self.key_prefix}"
        self._outage = _outage_of(location)
        # LocMemCache keeps its entries per name, per process: every thread counts together.
        self._local = LocMemCache(f"failsafe:{location}", {"TIMEOUT": params.get("TIMEOUT", 300),
                                                            "OPTIONS": {"MAX_ENTRIES": FORGET_MAX}})

    # The outage's bookkeeping ----------------------------------------------------------

    @property
    def is_down(self) -> bool:
        return time.monotonic() < self._outage.down_until

    def _redis(self, call):
        """``call()`` against Redis, after deleting what changed while it was down."""
        outage = self._outage
        if self.is_down:
            outage.failures += 1
            raise _Down
        try:
            if outage.forget or outage.forget_all:
                self._replay()
            result = call()
        except UNREACHABLE as error:
            self._went_down(error)
            raise _Down from error
        if outage.down_until:
            self._came_back()
        return result

    def _went_down(self, error) -> None:
        outage, now = self._outage, time.monotonic()
        with outage.lock:
            outage.down_until = now + self.retry_seconds
            outage.failures += 1
            if outage.logged_at and now - outage.logged_at < LOG_EVERY_SECONDS:
                return
            failures, outage.logged_at, outage.failures = outage.failures, now, 0
        logger.warning(NOT_ANSWERING, error, failures)

    def _replay(self) -> None:
        outage = self._outage
        with outage.lock:
            keys, everything = outage.forget, outage.forget_all
            outage.forget, outage.forget_all = set(), False
        try:
            if everything:
                super().clear()
            by_version: dict[int | None, list[str]] = {}
            for key, version in keys:
                by_version.setdefault(version, []).append(key)
            for version, names in by_version.items():
                super().delete_many(names, version=version)
        except UNREACHABLE:
            with outage.lock:  # still down: keep them for the next try
                outage.forget |= keys
                outage.forget_all |= everything
            raise
        outage.replayed = "all" if everything else outage.replayed + len(keys)

    def _came_back(self) -> None:
        outage = self._outage
        with outage.lock:
            if not outage.down_until:
                return
            replayed, outage.replayed = outage.replayed, 0
            outage.down_until = outage.logged_at = 0.0
            outage.failures = 0
        logger.warning(ANSWERING_AGAIN, replayed)

    def _remember(self, keys, version) -> None:
        outage = self._outage
        with outage.lock:
            outage.forget.update((key, version) for key in keys if not self._is_local(key))
            if len(outage.forget) > FORGET_MAX:
                outage.forget, outage.forget_all = set(), True

    def _is_local(self, key: str) -> bool:
        return str(key).startswith(self.local_prefixes)

    def ping(self) -> None:
        """Ask Redis itself (the readiness check): raises when it does not answer."""
        self._cache.get_client(write=True).ping()

    # The cache's API -------------------------------------------------------------------

    def get(self, key, default=None, version=None):
        try:
            return self._redis(lambda: super(FailSafeRedisCache, self).get(key, default, version))
        except _Down:
            return self._local.get(key, default, version) if self._is_local(key) else default

    def get_many(self, keys, version=None):
        keys = list(keys)
        try:
            return self._redis(lambda: super(FailSafeRedisCache, self).get_many(keys, version))
        except _Down:
            return self._local.get_many([k for k in keys if self._is_local(k)], version)

    def has_key(self, key, version=None):
        try:
            return self._redis(lambda: super(FailSafeRedisCache, self).has_key(key, version))
        except _Down:
            return self._is_local(key) and self._local.has_key(key, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return self._redis(lambda: super(FailSafeRedisCache, self).add(key, value, timeout, version))
        except _Down:
            if self._is_local(key):
                return self._local.add(key, value, timeout, version)
            self._remember([key], version)
            return False  # "someone holds it": what asks once per window does not ask now

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return self._redis(lambda: super(FailSafeRedisCache, self).set(key, value, timeout, version))
        except _Down:
            if self._is_local(key):
                return self._local.set(key, value, timeout, version)
            self._remember([key], version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return self._redis(lambda: super(FailSafeRedisCache, self).set_many(data, timeout, version))
        except _Down:
            self._local.set_many({k: v for k, v in data.items() if self._is_local(k)}, timeout, version)
            self._remember(data, version)
            return [k for k in data if not self._is_local(k)]

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return self._redis(lambda: super(FailSafeRedisCache, self).touch(key, timeout, version))
        except _Down:
            return self._is_local(key) and self._local.touch(key, timeout, version)

    def incr(self, key, delta=1, version=None):
        try:
            return self._redis(lambda: super(FailSafeRedisCache, self).incr(key, delta, version))
        except _Down:
            if self._is_local(key):
                return self._local.incr(key, delta, version)
            self._remember([key], version)
            raise ValueError(f"Key '{key}' not found") from None  # as for a key that expired

    def delete(self, key, version=None):
        try:
            return self._redis(lambda: super(FailSafeRedisCache, self).delete(key, version))
        except _Down:
            self._remember([key], version)
            return self._local.delete(key, version)

    def delete_many(self, keys, version=None):
        keys = list(keys)
        try:
            return self._redis(lambda: super(FailSafeRedisCache, self).delete_many(keys, version))
        except _Down:
            self._remember(keys, version)
            self._local.delete_many(keys, version)

    def clear(self):
        self._local.clear()
        try:
            return self._redis(lambda: super(FailSafeRedisCache, self).clear())
        except _Down:
            with self._outage.lock:
                self._outage.forget, self._outage.forget_all = set(), True
            return False
