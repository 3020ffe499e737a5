"""The broker client: channel set-up (insecure loopback, TLS with a CA, mTLS, service bearer
token), the two-step login loop, refresh, revoke, script sessions, session-token exchange and
the browser-approved login."""

import dataclasses
import datetime
import enum
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Tuple, Union

import grpc

from credbroker import policy
from credbroker.errors import BrokerError, Reason
from credbroker.policy import DEFAULT_TIMEOUT
from credbroker.v1 import broker_pb2, broker_pb2_grpc

if TYPE_CHECKING:
    from credbroker.token_source import (
        HeldSessionTokenSource, ScriptSessionTokenSource, ScriptTokenSource, SessionTokenSource)

ServiceToken = Union[str, Callable[[], str], None]
"""A service token, or a function asked for it before every call (a rotated secret)."""


@dataclasses.dataclass(frozen=True)
class Principal:
    """Whose session it is: a person (user_login) or a script (script_name)."""
    user_login: str = ""
    script_name: str = ""
    sudo_as_login: str = ""


@dataclasses.dataclass(frozen=True)
class Session:
    """A ShotGrid session. Tokens are kept out of repr() so that logs do not leak them.

    REST kind: access_token (and refresh_token with caller custody, session_id with broker
    custody). Session-token kind: session_token only, for shotgun_api3 and Toolkit (no
    expire_time: session tokens carry no lifetime). site_url is the site's base URL."""
    access_token: str = dataclasses.field(default="", repr=False)
    token_type: str = "Bearer"
    expire_time: Optional[datetime.datetime] = None  # timezone-aware, UTC
    refresh_token: str = dataclasses.field(default="", repr=False)
    session_id: str = dataclasses.field(default="", repr=False)
    principal: Principal = Principal()
    site: str = ""
    session_token: str = dataclasses.field(default="", repr=False)
    site_url: str = ""

    @classmethod
    def from_proto(cls, message: broker_pb2.Session) -> "Session":
        expire = None
        if message.HasField("expire_time"):
            expire = message.expire_time.ToDatetime().replace(tzinfo=datetime.timezone.utc)
        p = message.principal
        # A session-token Session has no token type; a REST one without it is a Bearer.
        token_type = message.token_type or ("Bearer" if message.access_token else "")
        return cls(access_token=message.access_token, token_type=token_type,
                   expire_time=expire, refresh_token=message.refresh_token,
                   session_id=message.session_id,
                   principal=Principal(p.user_login, p.script_name, p.sudo_as_login),
                   site=message.site, session_token=message.session_token,
                   site_url=message.site_url)

    def expires_in(self, now: Optional[float] = None) -> float:
        """Seconds until the access token expires (inf when the broker gave no expiry)."""
        if self.expire_time is None:
            return float("inf")
        if now is None:
            now = datetime.datetime.now(datetime.timezone.utc).timestamp()
        return self.expire_time.timestamp() - now


class Custody(enum.IntEnum):
    """Who keeps a person's refresh token (the proto's TokenCustody)."""
    CALLER = broker_pb2.TOKEN_CUSTODY_CALLER
    BROKER = broker_pb2.TOKEN_CUSTODY_BROKER


class CredentialKind(enum.IntEnum):
    """What a session carries (the proto's CredentialKind): REST API tokens, or a session
    token for shotgun_api3 and Toolkit (/api3/json), held by the caller only."""
    REST = broker_pb2.CREDENTIAL_KIND_REST
    SESSION_TOKEN = broker_pb2.CREDENTIAL_KIND_SESSION_TOKEN


@dataclasses.dataclass(frozen=True)
class BrowserLoginChallenge:
    """A login the person approves in a browser: open approval_url, then
    complete_browser_login(request_id) answers the session once approved."""
    request_id: str = dataclasses.field(repr=False)
    approval_url: str
    expire_time: Optional[datetime.datetime] = None

    @classmethod
    def from_proto(cls, message: broker_pb2.BrowserLoginChallenge) -> "BrowserLoginChallenge":
        return cls(message.request_id, message.approval_url, _expire_of(message))


DEFAULT_BROWSER_WAIT = 30.0
"""Seconds CompleteBrowserLogin waits for the approval when no wait is given (the broker's
default); the broker allows at most 60."""


def _wait_duration(request: Any, wait: Optional[float]) -> float:
    """Sets request.wait (unset: the broker's default) and answers how long the broker may
    hold the call, for its deadline."""
    if wait is None:
        return DEFAULT_BROWSER_WAIT
    request.wait.FromTimedelta(datetime.timedelta(seconds=wait))
    return max(float(wait), 0.0)


def _approval_deadline(challenge: BrowserLoginChallenge) -> float:
    """When a browser login stops being worth waiting for (unix time)."""
    if challenge.expire_time is None:
        return float("inf")
    return challenge.expire_time.timestamp()


class SecondFactorRequired(Exception):
    """login() met a two-factor challenge and had no code_provider to ask."""


@dataclasses.dataclass(frozen=True)
class SecondFactorPrompt:
    """What a code provider is given: answer with the person's TOTP or backup code."""
    username: str
    site: str
    attempts_left: int
    expire_time: Optional[datetime.datetime]
    previous_error: Optional[BrokerError] = None  # set when the last code was wrong


CodeProvider = Callable[[SecondFactorPrompt], str]
"""Answers the person's TOTP or backup code for a SecondFactorPrompt."""


def _read(path: Optional[str]) -> Optional[bytes]:
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


def _tls_decision(address, ca_file, client_cert, client_key, service_token, tls, insecure):
    """Whether the channel is TLS, under the connection policy; ValueError when the
    arguments break it."""
    if (client_cert is None) != (client_key is None):
        raise ValueError("client_cert and client_key go together")
    loopback = policy.is_loopback(address)
    wants_tls = ca_file is not None or client_cert is not None
    use_tls = tls if tls is not None else (wants_tls or not (loopback or insecure))
    if not use_tls:
        if client_cert is not None or ca_file is not None:
            raise ValueError("a CA file or client certificate needs TLS")
        if not loopback and not insecure:
            raise ValueError("refusing plaintext to %s, which is not this machine: use TLS "
                             "(ca_file=...) or pass insecure=True" % address)
        if not loopback and service_token is not None:
            raise ValueError("refusing to send the service token in the clear to %s: "
                             "use TLS (ca_file=...)" % address)
    return use_tls


def _expire_of(message) -> Optional[datetime.datetime]:
    if not message.HasField("expire_time"):
        return None
    return message.expire_time.ToDatetime().replace(tzinfo=datetime.timezone.utc)


def connect(address: str, *, ca_file: Optional[str] = None, client_cert: Optional[str] = None,
            client_key: Optional[str] = None, service_token: ServiceToken = None,
            tls: Optional[bool] = None, insecure: bool = False,
            server_name: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT,
            options: Optional[Sequence[Tuple[str, Any]]] = None) -> "BrokerClient":
    """Opens a channel to the broker and returns a BrokerClient.

    TLS unless the broker is on this machine: plaintext is used for a loopback address
    (127.0.0.0/8, ::1, localhost, unix:) when no TLS setting is given, and for any other
    address only with insecure=True. A service token is never sent in plaintext off this
    machine, insecure or not (ValueError).

    ca_file: PEM bundle to trust (default: the system roots). client_cert/client_key: PEM
    files for mTLS. service_token: a string, or a callable returning one, sent on every call
    as `authorization: Bearer <token>`. server_name overrides the name checked in the
    broker's certificate. timeout: the default deadline of every call, in seconds (10).
    Calls that are safe to repeat are retried on UNAVAILABLE (clients/service_config.json).
    """
    use_tls = _tls_decision(address, ca_file, client_cert, client_key, service_token, tls,
                            insecure)
    opts = list(options or ())
    if use_tls and server_name:
        opts.append(("grpc.ssl_target_name_override", server_name))

    def open_channel(retries):
        all_opts = opts + policy.channel_options(retries)
        if not use_tls:
            channel = grpc.insecure_channel(address, options=all_opts)
        else:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read(ca_file), private_key=_read(client_key),
                certificate_chain=_read(client_cert))
            channel = grpc.secure_channel(address, credentials, options=all_opts)
        return grpc.intercept_channel(channel, policy.DefaultDeadline(timeout))

    # The second channel connects only when first used: a login with the code up front.
    return BrokerClient(open_channel(True), service_token=service_token, timeout=timeout,
                        own_channel=True, once_channel=open_channel(False))


class BrokerClient:
    """Calls the broker. Every failure raises BrokerError. Thread-safe."""

    def __init__(self, channel: grpc.Channel, *, service_token: ServiceToken = None,
                 timeout: float = DEFAULT_TIMEOUT, own_channel: bool = False,
                 once_channel: Optional[grpc.Channel] = None) -> None:
        """once_channel: a channel without retries, for logins that carry a code (a repeat
        would count twice against the person's failure budget); default: channel."""
        self._channel = channel
        self._once_channel = once_channel
        self._stub = broker_pb2_grpc.CredentialBrokerStub(channel)
        self._once_stub = (broker_pb2_grpc.CredentialBrokerStub(once_channel)
                           if once_channel is not None else self._stub)
        self._service_token = service_token
        self._timeout = timeout
        self._own_channel = own_channel

    @property
    def channel(self) -> grpc.Channel:
        """The channel, for calls this client does not wrap (it carries the service config:
        deadlines and retries)."""
        return self._channel

    # -- plumbing ------------------------------------------------------------------------
    def _metadata(self):
        token = self._service_token() if callable(self._service_token) else self._service_token
        return (("authorization", "Bearer " + token),) if token else None

    def _call(self, method, request, timeout=None):
        try:
            return method(request, timeout=timeout or self._timeout, metadata=self._metadata())
        except grpc.RpcError as error:
            raise BrokerError.from_rpc_error(error) from None

    @staticmethod
    def _client_info(client_address, user_agent):
        if not client_address and not user_agent:
            return None
        return broker_pb2.ClientInfo(address=client_address or "", user_agent=user_agent or "")

    # -- calls ---------------------------------------------------------------------------
    def login(self, username: str, password: str,
              code_provider: Optional[CodeProvider] = None,
              site: str = "", *, code: Optional[str] = None, custody: Custody = Custody.CALLER,
              kind: CredentialKind = CredentialKind.REST,
              client_address: str = "", user_agent: str = "") -> Session:
        """Logs a person in and returns a Session.

        code: the person's code when it is known up front: one call, never retried (a
        repeat would count twice against the person's failure budget). Otherwise, on a 2FA
        challenge, calls code_provider(SecondFactorPrompt) for a code, and asks again after
        a wrong code while the challenge has attempts left; without a code_provider a
        challenge raises SecondFactorRequired. custody=Custody.BROKER keeps the refresh
        token at the broker: the Session carries a session_id instead.
        kind=CredentialKind.SESSION_TOKEN answers a Session with a session_token (for
        shotgun_api3 and Toolkit), caller custody only.
        """
        client = self._client_info(client_address, user_agent)
        request = broker_pb2.BeginLoginRequest(
            site=site, username=username, password=password, client=client,
            second_factor_code=code or "", custody=int(custody), kind=int(kind))
        result = self._call(self._once_stub.BeginLogin if code else self._stub.BeginLogin,
                            request)
        if result.WhichOneof("result") == "session":
            return Session.from_proto(result.session)
        if code_provider is None:
            raise SecondFactorRequired(username)
        challenge = result.challenge
        expire = _expire_of(challenge)
        attempts_left, previous = challenge.attempts_left, None
        while True:
            code = code_provider(SecondFactorPrompt(username, site, attempts_left, expire,
                                                    previous))
            try:
                result = self._call(self._stub.SubmitSecondFactor,
                                    broker_pb2.SubmitSecondFactorRequest(
                                        challenge_id=challenge.challenge_id, code=code or "",
                                        client=client))
            except BrokerError as error:
                if error.reason == Reason.INVALID_SECOND_FACTOR and error.attempts_left > 0:
                    attempts_left, previous = error.attempts_left, error
                    continue
                raise
            if result.WhichOneof("result") == "session":
                return Session.from_proto(result.session)
            raise BrokerError(grpc.StatusCode.INTERNAL, "the broker answered a second challenge",
                              Reason.INTERNAL)

    def refresh(self, refresh_token: str, site: str = "") -> Session:
        """Spends refresh_token for a new Session (new access and refresh tokens)."""
        return Session.from_proto(self._call(self._stub.RefreshSession,
                                             broker_pb2.RefreshSessionRequest(
                                                 site=site, refresh_token=refresh_token)))

    def revoke(self, refresh_token: str, site: str = "") -> None:
        """Spends refresh_token at the site. Idempotent."""
        self._call(self._stub.RevokeSession,
                   broker_pb2.RevokeSessionRequest(site=site, refresh_token=refresh_token))

    def get_access_token(self, session_id: str, min_validity: float = 60.0) -> Session:
        """Broker custody: the held session's access token, valid for at least min_validity
        seconds (the broker honours up to 300), refreshed at the site first when needed.
        Answers a Session carrying the session_id and no refresh token. Raises BrokerError:
        SESSION_NOT_FOUND or REFRESH_TOKEN_INVALID mean the person logs in again."""
        request = broker_pb2.GetAccessTokenRequest(session_id=session_id)
        request.min_validity.FromTimedelta(datetime.timedelta(seconds=min_validity))
        answer = self._call(self._stub.GetAccessToken, request)
        return Session(access_token=answer.access_token, token_type=answer.token_type or "Bearer",
                       expire_time=_expire_of(answer), session_id=session_id)

    def revoke_session(self, session_id: str) -> None:
        """Broker custody: spends the held refresh token and deletes the session. Idempotent."""
        self._call(self._stub.RevokeSession, broker_pb2.RevokeSessionRequest(session_id=session_id))

    def script_session(self, name: str, key: str = "", sudo_as: str = "",
                       site: str = "", *, kind: CredentialKind = CredentialKind.REST,
                       rejected_token: str = "") -> Session:
        """A script-key Session (no refresh token: ask again). Empty key = broker keyring.

        kind=CredentialKind.SESSION_TOKEN answers a session_token for shotgun_api3 (no
        sudo_as: the token lets its holder act as anyone the script may, so the policy must
        grant the caller sudo_as "*").
        rejected_token: a token of this script that the site refused; the broker drops it
        and issues a fresh one if it is the one it holds (otherwise it answers the one it
        holds), so many callers reporting one token cause one site call."""
        return Session.from_proto(self._call(self._stub.IssueScriptSession,
                                             broker_pb2.IssueScriptSessionRequest(
                                                 site=site, script_name=name, script_key=key,
                                                 sudo_as_login=sudo_as, kind=int(kind),
                                                 rejected_token=rejected_token)))

    def exchange_session_token(self, session_token: str, site: str = "", *,
                               custody: Custody = Custody.CALLER) -> Session:
        """Exchanges a ShotGrid session token (from shotgun_api3, Toolkit or a browser
        login) for REST tokens. The Session names no principal (the site does not say).
        A token the site refuses raises AuthenticationError (INVALID_CREDENTIALS)."""
        return Session.from_proto(self._call(self._stub.ExchangeSessionToken,
                                             broker_pb2.ExchangeSessionTokenRequest(
                                                 site=site, session_token=session_token,
                                                 custody=int(custody))))

    def begin_browser_login(self, site: str = "", *, app_name: str = "",
                            machine_id: str = "", kind: CredentialKind = CredentialKind.REST,
                            custody: Custody = Custody.CALLER) -> BrowserLoginChallenge:
        """Starts a login the person approves in a browser (the app session launcher, which
        works on password, SSO and Autodesk Identity sites alike). app_name and machine_id
        are shown on the approval page (empty: the broker's name and host)."""
        return BrowserLoginChallenge.from_proto(self._call(
            self._stub.BeginBrowserLogin,
            broker_pb2.BeginBrowserLoginRequest(site=site, app_name=app_name,
                                                machine_id=machine_id, kind=int(kind),
                                                custody=int(custody))))

    def complete_browser_login(self, request_id: str, wait: Optional[float] = None) -> Session:
        """Waits up to `wait` seconds (None: the broker's 30; at most 60; 0: ask the site
        once) for the person's approval and answers the Session. Still pending raises
        SecondFactorError with reason APPROVAL_PENDING (and retry_after); rejected or expired
        raises SecondFactorError with CHALLENGE_NOT_FOUND."""
        request = broker_pb2.CompleteBrowserLoginRequest(request_id=request_id)
        held = _wait_duration(request, wait)
        return Session.from_proto(self._call(self._stub.CompleteBrowserLogin, request,
                                             timeout=held + self._timeout))

    def browser_login(self, show: Callable[[BrowserLoginChallenge], Any], site: str = "", *,
                      app_name: str = "", machine_id: str = "",
                      kind: CredentialKind = CredentialKind.REST,
                      custody: Custody = Custody.CALLER) -> Session:
        """A whole browser-approved login: begin_browser_login, show(challenge) (print or
        open challenge.approval_url), then complete_browser_login until the person approves
        or the request expires (SecondFactorError, CHALLENGE_NOT_FOUND or APPROVAL_PENDING)."""
        challenge = self.begin_browser_login(site, app_name=app_name, machine_id=machine_id,
                                             kind=kind, custody=custody)
        show(challenge)
        deadline = _approval_deadline(challenge)
        while True:
            try:
                return self.complete_browser_login(challenge.request_id)
            except BrokerError as error:
                if error.reason != Reason.APPROVAL_PENDING or time.time() >= deadline:
                    raise

    def session_token_source(self, session: Session, *,
                             margin: float = 60.0) -> "SessionTokenSource":
        from credbroker.token_source import SessionTokenSource
        return SessionTokenSource(self, session, margin=margin)

    def script_token_source(self, name: str, key: str = "", sudo_as: str = "", site: str = "",
                            *, margin: float = 60.0) -> "ScriptTokenSource":
        from credbroker.token_source import ScriptTokenSource
        return ScriptTokenSource(self, name, key, sudo_as, site, margin=margin)

    def script_session_token_source(self, name: str, key: str = "",
                                    site: str = "") -> "ScriptSessionTokenSource":
        from credbroker.token_source import ScriptSessionTokenSource
        return ScriptSessionTokenSource(self, name, key, site)

    def held_session_token_source(self, session_id: str, *,
                                  min_validity: float = 60.0) -> "HeldSessionTokenSource":
        from credbroker.token_source import HeldSessionTokenSource
        return HeldSessionTokenSource(self, session_id, min_validity=min_validity)

    def close(self) -> None:
        if self._own_channel:
            self._channel.close()
            if self._once_channel is not None:
                self._once_channel.close()

    def __enter__(self) -> "BrokerClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
