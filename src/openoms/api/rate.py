"""Per-client rate limits of the public forms (lookup, fault report, subscription).

The admission gate (:mod:`openoms.api.limits`) protects the service as a whole; these limits
keep one client from using the anonymous forms to guess accounts or to flood the trouble-call
engine. A client is the peer address of the connection (behind a reverse proxy, every request
comes from the proxy: let the proxy limit per client, or raise the settings). Each limit is a
sliding window of one minute on the service's clock, kept in memory (a restart forgets it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from typing import Final

from openoms.errors import OpenOMSError

__all__ = ["ClientRateLimiter", "RateLimitedError"]

WINDOW: Final = timedelta(minutes=1)
MAX_CLIENTS: Final = 10_000
"""Clients remembered at once; the least recently seen is forgotten first."""


class RateLimitedError(OpenOMSError):
    """A client sent more requests to one public form than its per-minute limit."""

    def __init__(self, what: str, *, limit: int, retry_after_s: int, setting: str) -> None:
        super().__init__(
            f"more than {limit} {what} a minute from this address ({setting}); "
            f"try again in {retry_after_s} s"
        )
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.setting = setting


class ClientRateLimiter:
    """At most ``per_minute`` requests per client in any minute (thread-safe: routes run in
    worker threads)."""

    def __init__(self, what: str, *, per_minute: int, setting: str) -> None:
        self.what = what
        self.per_minute = per_minute
        self.setting = setting
        self._seen: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str, now: datetime) -> None:
        """Count one request of ``client`` at ``now``, or raise :class:`RateLimitedError`
        (not counted) when it already sent ``per_minute`` in the last minute."""
        with self._lock:
            times = self._seen.pop(client, None) or deque()
            while times and times[0] <= now - WINDOW:
                times.popleft()
            self._seen[client] = times  # most recently seen last
            if len(times) >= self.per_minute:
                wait = (times[0] + WINDOW - now).total_seconds()
                raise RateLimitedError(
                    self.what,
                    limit=self.per_minute,
                    retry_after_s=max(1, int(wait + 0.999)),
                    setting=self.setting,
                )
            times.append(now)
            while len(self._seen) > MAX_CLIENTS:
                self._seen.popitem(last=False)
