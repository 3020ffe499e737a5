"""Token sources: hand out an access token valid for at least `margin` seconds, fetching a new
one first when needed. Thread-safe with single flight: however many threads ask at once,
one call goes to the broker and every waiter gets its answer (or its error)."""

import threading
import time


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
