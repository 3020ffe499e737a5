"""shotgun_api3 through the broker: credbroker.shotgun(...) answers a real shotgun_api3.Shotgun
that authenticates with a session token from the broker, so a pipeline tool holds neither a
script key nor a password.

    import credbroker
    client = credbroker.connect("broker.studio.lan:50051", ca_file="ca.pem")
    sg = credbroker.shotgun(client, script="ingest-bot")      # the broker's keyring
    sg.find("Project", [], ["name"])

When the site refuses the token (shotgun_api3.AuthenticationFault), the Shotgun gets a fresh one
and makes that call once more, as Toolkit's own Shotgun wrapper renews its session. A script's
fresh token comes from the broker (IssueScriptSession with rejected_token: however many tools
report one token, the site is asked once). A person's cannot be renewed without the person (the
broker keeps no password): the call raises ShotgunSessionExpired, unless `renew` says how to log
in again.

Needs shotgun_api3 (`pip install shotgun_api3`); the rest of credbroker works without it.
"""

from typing import Any, Callable, Optional

import shotgun_api3

from credbroker.client import BrokerClient, CodeProvider, CredentialKind, Session
from credbroker.errors import SessionTokenExpired
from credbroker.token_source import PersonSessionTokenSource, ScriptSessionTokenSource


class ShotgunSessionExpired(SessionTokenExpired, shotgun_api3.AuthenticationFault):
    """A person's session token was refused and could not be renewed: log the person in again.
    Both an AuthenticationFault (for code written against shotgun_api3) and a
    credbroker.SessionTokenExpired."""


class BrokerShotgun(shotgun_api3.Shotgun):
    """A shotgun_api3.Shotgun whose session token comes from a token source with
    session_token() and invalidate(token) (ScriptSessionTokenSource, PersonSessionTokenSource).
    Shotgun objects that share one source (one per thread, say) share its renewals."""

    def __init__(self, base_url: str, tokens: Any, **kwargs: Any) -> None:
        self._credbroker_tokens = tokens
        super().__init__(base_url, session_token=tokens.session_token(), **kwargs)

    @property
    def token_source(self) -> Any:
        return self._credbroker_tokens

    def _call_rpc(self, method: str, params: Any, include_auth_params: bool = True,
                  first: bool = False) -> Any:
        if not include_auth_params:  # `info`: no credentials, nothing to renew
            return super()._call_rpc(method, params, include_auth_params, first)
        tokens = self._credbroker_tokens
        # Another Shotgun on the same source may have renewed the token already.
        token = self.config.session_token = tokens.session_token()
        try:
            return super()._call_rpc(method, params, include_auth_params, first)
        except shotgun_api3.AuthenticationFault as fault:
            tokens.invalidate(token)
            try:
                fresh = tokens.session_token()
            except SessionTokenExpired as expired:
                raise ShotgunSessionExpired(str(expired)) from fault
            if fresh == token:
                raise
            self.config.session_token = fresh
        # A second refusal is not about this token's age: it is raised as it comes.
        return super()._call_rpc(method, params, include_auth_params, first)


def shotgun(client: Optional[BrokerClient], *, script: Optional[str] = None, key: str = "",
            site: str = "", username: Optional[str] = None,
            password: Optional[str] = None, code: Optional[str] = None,
            code_provider: Optional[CodeProvider] = None, session: Optional[Session] = None,
            renew: Optional[Callable[[], Session]] = None, tokens: Any = None,
            base_url: Optional[str] = None, **shotgun_kwargs: Any) -> BrokerShotgun:
    """A shotgun_api3.Shotgun on the site, authenticated through the broker. Give one of:

    - script: the script's session token, from the broker's shared cache; an empty key means
      the broker's keyring (the caller must be allowed that script, and sudo_as "*": the token
      lets its holder act as anyone the script may). To act as a user, pass shotgun_api3's own
      sudo_as_login=.
    - username and password: logs the person in (code up front, or code_provider asked at
      the 2FA step, as client.login) for a session token; the password is not kept.
    - session: a person's session-token Session (client.login(..., kind=SESSION_TOKEN),
      client.browser_login(..., kind=SESSION_TOKEN)).
    - tokens: a source shared with other Shotgun objects (client.script_session_token_source
      or credbroker.PersonSessionTokenSource).

    A person's refused token raises ShotgunSessionExpired from the failing call, unless
    renew() answers a new session-token Session (it may ask the person again). base_url
    defaults to the site's URL as the broker knows it; other keywords go to
    shotgun_api3.Shotgun (connect, http_proxy, ca_certs, ...).
    """
    given = [name for name, value in (("script", script), ("username", username),
                                      ("session", session), ("tokens", tokens))
             if value is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of script, username, session or tokens (got %s)"
                         % (", ".join(given) or "none"))
    if script is not None:
        tokens = _need(client).script_session_token_source(script, key, site)
    elif username is not None:
        session = _need(client).login(username, password or "", code_provider, site, code=code,
                                      kind=CredentialKind.SESSION_TOKEN)
    if session is not None:
        tokens = PersonSessionTokenSource(session, renew)
    tokens.session_token()  # the first session says where the site is
    url = base_url or tokens.session.site_url
    if not url:
        raise ValueError("the broker did not name the site's URL: pass base_url=")
    return BrokerShotgun(url, tokens, **shotgun_kwargs)


def _need(client: Optional[BrokerClient]) -> BrokerClient:
    if client is None:
        raise ValueError("a script or a login needs the broker client")
    return client


__all__ = ["BrokerShotgun", "PersonSessionTokenSource", "ScriptSessionTokenSource",
           "ShotgunSessionExpired", "shotgun"]
