"""Token sources: hand out a token valid for at least `margin` seconds, fetching a new one
first when needed. Thread-safe with single flight: however many threads ask at once, one call
goes to the broker and every waiter gets its answer (or its error).

SessionTokenSource keeps a caller-custody session, ScriptTokenSource a script's token, and
HeldSessionTokenSource a broker-custody session named by its session id (GetAccessToken).
ScriptSessionTokenSource and PersonSessionTokenSource hand out ShotGrid session tokens (for
shotgun_api3), which carry no lifetime: they are kept until the site refuses them.

invalidate(token) reports a token the site refused; the next call fetches a new one (for a
script, IssueScriptSession with rejected_token, so that the broker drops it too)."""

import dataclasses
import threading
import time
from typing import Any, Callable, Optional

from credbroker.client import CredentialKind
from credbroker.errors import SessionTokenExpired


class _Flight:
    __slots__ = ("done", "session", "error")

    def __init__(self):
        self.done = False
        self.session = None
        self.error = None


class _CachingTokenSource:
    # The Session field this source hands out.
    _FIELD = "access_token"

    def __init__(self, session, margin, clock):
        self._session = session
        self._margin = float(margin)
        self._clock = clock
        self._cond = threading.Condition()
        self._flight = None
        self._stale = None  # a token the site refused (see invalidate)

    def _token(self, session):
        return getattr(session, self._FIELD)

    def _fresh(self, session):
        return (session is not None and self._token(session) != self._stale
                and session.expires_in(self._clock()) > self._margin)

    def _fetch(self, current, rejected):
        """A new Session; rejected is the token the site refused, if that is why."""
        raise NotImplementedError

    @property
    def session(self):
        """The current Session (may be None for a script source before its first call)."""
        return self._session

    @property
    def margin(self):
        return self._margin

    def _get(self):
        session = self._session
        if self._fresh(session):
            return self._token(session)
        with self._cond:
            while True:
                session = self._session
                if self._fresh(session):
                    return self._token(session)
                if self._flight is None:
                    flight = self._flight = _Flight()
                    rejected = self._stale if session is not None and \
                        self._token(session) == self._stale else None
                    break
                # Someone else is fetching: take that flight's answer, fresh or not (a site
                # whose tokens live less than the margin would otherwise be asked in a loop).
                flight = self._flight
                self._cond.wait_for(lambda: flight.done)
                if flight.error is not None:
                    raise flight.error
                return self._token(flight.session)
        try:
            flight.session = self._fetch(session, rejected)
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
        return self._token(flight.session)

    def invalidate(self, token):
        """Marks token as refused by the site (an HTTP 401, a shotgun_api3
        AuthenticationFault): the next call fetches a new one. A token that is no longer
        current is ignored, so many requests failing with the same token cause one fetch."""
        with self._cond:
            if self._session is not None and self._token(self._session) == token:
                self._stale = token


class _AccessTokenSource(_CachingTokenSource):
    """A source of REST access tokens."""

    def access_token(self):
        """An access token valid for at least `margin` seconds; raises BrokerError."""
        return self._get()


class _ShotgunTokenSource(_CachingTokenSource):
    """A source of ShotGrid session tokens: no lifetime, kept until the site refuses one."""

    _FIELD = "session_token"

    def session_token(self) -> str:
        """The session token; raises BrokerError (or SessionTokenExpired for a person)."""
        return self._get()


class SessionTokenSource(_AccessTokenSource):
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

    def _fetch(self, current, rejected):
        fresh = self._client.refresh(current.refresh_token, site=current.site)
        # RefreshSession names no principal (the site does not say): keep the login's.
        principal = fresh.principal if any(vars(fresh.principal).values()) else current.principal
        return dataclasses.replace(fresh, principal=principal, site=fresh.site or current.site,
                                   site_url=fresh.site_url or current.site_url)


class _ScriptFetch:
    """IssueScriptSession for a script source, with the refused token as rejected_token."""

    _KIND = CredentialKind.REST

    def _script(self, client, name, key, sudo_as, site):
        self._client = client
        self._args = (name, key, sudo_as, site)

    def _fetch(self, current, rejected):
        return self._client.script_session(*self._args, kind=self._KIND,
                                           rejected_token=rejected or "")


class ScriptTokenSource(_ScriptFetch, _AccessTokenSource):
    """A script's token, asked of the broker (IssueScriptSession) again whenever the cached
    one would expire within `margin` seconds, or after invalidate(token): that request
    carries the refused token as rejected_token, so the broker's shared cache drops it too."""

    def __init__(self, client, name, key="", sudo_as="", site="", *, margin=60.0,
                 clock=time.time):
        super().__init__(None, margin, clock)
        self._script(client, name, key, sudo_as, site)


class ScriptSessionTokenSource(_ScriptFetch, _ShotgunTokenSource):
    """A script's ShotGrid session token (for shotgun_api3), from the broker's shared cache.
    The token is kept until invalidate(token) says the site refused it; the next
    session_token() then asks the broker with rejected_token, and the broker fetches one
    fresh token for all the callers that report it."""

    _KIND = CredentialKind.SESSION_TOKEN

    def __init__(self, client, name, key="", site=""):
        super().__init__(None, 0.0, time.time)
        # No sudo_as: a session token's holder acts as anyone the script may (shotgun_api3's
        # own sudo_as_login chooses per call).
        self._script(client, name, key, "", site)


class PersonSessionTokenSource(_ShotgunTokenSource):
    """A person's ShotGrid session token (a login or browser login with
    kind=CredentialKind.SESSION_TOKEN). The broker keeps no password, so once the site
    refuses the token only the person can make a new one: session_token() then calls
    renew() for a new session-token Session (e.g. a login that asks the person again), or
    raises SessionTokenExpired when there is none."""

    def __init__(self, session, renew: Optional[Callable[[], Any]] = None) -> None:
        if not session.session_token:
            raise ValueError("the session carries no session token: log in with "
                             "kind=CredentialKind.SESSION_TOKEN")
        super().__init__(session, 0.0, time.time)
        self._renew = renew

    def _fetch(self, current, rejected):
        if self._renew is None:
            raise SessionTokenExpired(
                "the site refused %s's session token (expired or ended); log in again"
                % (current.principal.user_login or "the person"))
        fresh = self._renew()
        if not fresh.session_token:
            raise ValueError("renew() answered a session without a session token")
        return fresh


# The longest min_validity the broker honours (site tokens live about 600 s).
MAX_MIN_VALIDITY = 300.0


class HeldSessionTokenSource(_AccessTokenSource):
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

    def _fetch(self, current: Any, rejected: Optional[str]) -> Any:
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
