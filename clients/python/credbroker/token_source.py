"""Token sources: hand out an access token valid for at least `margin` seconds, fetching a new
one first when needed. Thread-safe with single flight: however many threads ask at once,
one call goes to the broker and every waiter gets its answer (or its error).

SessionTokenSource keeps a caller-custody session, ScriptTokenSource a script's token, and
HeldSessionTokenSource a broker-custody session named by its session id (GetAccessToken)."""

import threading
import time
from typing import Any, Callable, Optional


class _Flight:
    __slots__ = ("done", "session", "error")

    def __init__(self):
        self.done = False
        self.session = None
        self.error = None


class _CachingTokenSource:
    def __init__(self, session, margin, clock):
        self._session = session
        self._margin = float(margin)
        self._clock = clock
        self._cond = threading.Condition()
        self._flight = None
        self._stale = None  # an access token the site refused (see invalidate)

    def _fresh(self, session):
        return (session is not None and session.access_token != self._stale
                and session.expires_in(self._clock()) > self._margin)

    def _fetch(self, current):
        raise NotImplementedError

    @property
    def session(self):
        """The current Session (may be None for a script source before its first call)."""
        return self._session

    @property
    def margin(self):
        return self._margin

    def access_token(self):
        """An access token valid for at least `margin` seconds; raises BrokerError."""
        session = self._session
        if self._fresh(session):
            return session.access_token
        with self._cond:
            while True:
                session = self._session
                if self._fresh(session):
                    return session.access_token
                if self._flight is None:
                    flight = self._flight = _Flight()
                    break
                # Someone else is fetching: take that flight's answer, fresh or not (a site
                # whose tokens live less than the margin would otherwise be asked in a loop).
                flight = self._flight
                self._cond.wait_for(lambda: flight.done)
                if flight.error is not None:
                    raise flight.error
                return flight.session.access_token
        try:
            flight.session = self._fetch(session)
        except BaseException as error:  # handed to every waiter, then raised here
            flight.error = error
            raise
        finally:
            with self._cond:
                if flight.session is not None:
                    self._session = flight.session
                    self._stale = None  # even if the broker handed back the same token
                flight.done = True
                self._flight = None
                self._cond.notify_all()
        return flight.session.access_token

    def invalidate(self, access_token):
        """Marks access_token as refused by the site (an HTTP 401): the next access_token()
        fetches a new one. A token that is no longer current is ignored, so many requests
        failing with the same token cause one refresh."""
        with self._cond:
            if self._session is not None and self._session.access_token == access_token:
                self._stale = access_token


class SessionTokenSource(_CachingTokenSource):
    """Caller custody: keeps a person's Session and refreshes it through the broker.

    Refresh tokens are single use; this source keeps the rotated one (`refresh_token`).
    A refresh failure (e.g. REFRESH_TOKEN_INVALID) is raised to every caller waiting on it.
    """

    def __init__(self, client, session, *, margin=60.0, clock=time.time):
        if not session.refresh_token:
            raise ValueError("the session has no refresh token (caller custody only)")
        super().__init__(session, margin, clock)
        self._client = client

    @property
    def refresh_token(self):
        return self._session.refresh_token

    def _fetch(self, current):
        fresh = self._client.refresh(current.refresh_token, site=current.site)
        # RefreshSession names no principal (the site does not say): keep the login's.
        principal = fresh.principal if any(vars(fresh.principal).values()) else current.principal
        return type(fresh)(access_token=fresh.access_token, token_type=fresh.token_type,
                           expire_time=fresh.expire_time, refresh_token=fresh.refresh_token,
                           session_id=fresh.session_id, principal=principal,
                           site=fresh.site or current.site)


class ScriptTokenSource(_CachingTokenSource):
    """A script's token, asked of the broker (IssueScriptSession) again whenever the cached
    one would expire within `margin` seconds."""

    def __init__(self, client, name, key="", sudo_as="", site="", *, margin=60.0,
                 clock=time.time):
        super().__init__(None, margin, clock)
        self._client = client
        self._args = (name, key, sudo_as, site)

    def _fetch(self, current):
        return self._client.script_session(*self._args)


# The longest min_validity the broker honours (site tokens live about 600 s).
MAX_MIN_VALIDITY = 300.0


class HeldSessionTokenSource(_CachingTokenSource):
    """Broker custody: the broker keeps the person's refresh token and this source holds only
    the session id. access_token() answers the cached token while it has more than
    min_validity seconds left, else asks the broker (GetAccessToken), which refreshes at the
    site when needed. Concurrent callers share one call.

    SESSION_NOT_FOUND (revoked, expired, unknown) and REFRESH_TOKEN_INVALID (the site no
    longer refreshes it) are raised as AuthenticationError: the person logs in again.
    """

    def __init__(self, client: Any, session_id: str, *, min_validity: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        if not session_id:
            raise ValueError("a held session needs its session_id (broker custody login)")
        # Above the broker's cap every cached token would look stale and each call would go
        # to the broker.
        super().__init__(None, min(float(min_validity), MAX_MIN_VALIDITY), clock)
        self._client = client
        self._session_id = session_id

    @property
    def session_id(self) -> str:
        return self._session_id

    def _fetch(self, current: Any) -> Any:
        return self._client.get_access_token(self._session_id, self._margin)

    def invalidate(self, access_token: Optional[str] = None) -> None:
        """Drops the cached token so that the next access_token() asks the broker. With
        access_token (the token the site answered 401 to), only if that is still the cached
        one, so that many requests failing with one token cause one broker call."""
        with self._cond:
            if self._session is not None and access_token in (None, self._session.access_token):
                self._stale = self._session.access_token

    def revoke(self) -> None:
        """Ends the session at the broker (the refresh token is spent at the site).
        Idempotent; later access_token() calls raise SESSION_NOT_FOUND."""
        self._client.revoke_session(self._session_id)
        self.invalidate()
