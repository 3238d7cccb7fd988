"""Sessions from the cache, from the database whenever the cache fails (SESSION_ENGINE).

Django's ``cached_db`` store already reads the database when a cache read fails and logs
a failed write after saving to the database. It still fails the request when the cache
fails on the write after a database read (every request of a signed-in user once the
cache lost the session), on ``exists`` (a new session's key, so every sign-in) and on
``delete`` (signing in, which cycles the key, and signing out). Here each of those falls
through to the database too, and is logged at most once a minute per process.

The database stays the session's record: every write goes there first, so a session
never depends on the cache. A stale cached copy is not read after an outage either: the
cache backend (leadcrm/shared/cache.py) deletes in Redis the keys written or deleted while
it was down before it answers from Redis again.
"""

from __future__ import annotations

import logging
import time

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

logger = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 60
_last_logged = 0.0


def _cache_failed(action: str, error: Exception) -> None:
    global _last_logged
    now = time.monotonic()
    if now - _last_logged >= LOG_EVERY_SECONDS:
        _last_logged = now
        logger.warning("Sessions: the cache failed to %s (%s); using the database alone.", action, error)


class SessionStore(CachedDBStore):
    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception as error:  # noqa: BLE001 - any cache failure: the database has it
            _cache_failed("read a session", error)
            data = None
        if data is not None:
            return data
        s = self._get_session_from_db()
        if not s:
            return {}
        data = self.decode(s.session_data)
        try:
            self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=s.expire_date))
        except Exception as error:  # noqa: BLE001
            _cache_failed("keep a session", error)
        return data

    def exists(self, session_key):
        try:
            if session_key and (self.cache_key_prefix + session_key) in self._cache:
                return True
        except Exception as error:  # noqa: BLE001
            _cache_failed("look a session up", error)
        return super(CachedDBStore, self).exists(session_key)

    def save(self, must_create=False):
        super(CachedDBStore, self).save(must_create)
        try:
            self._cache.set(self.cache_key, self._session, self.get_expiry_age())
        except Exception as error:  # noqa: BLE001
            _cache_failed("keep a session", error)

    def delete(self, session_key=None):
        super(CachedDBStore, self).delete(session_key)
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        try:
            self._cache.delete(self.cache_key_prefix + session_key)
        except Exception as error:  # noqa: BLE001
            _cache_failed("forget a session", error)
