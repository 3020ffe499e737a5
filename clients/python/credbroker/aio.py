"""The asyncio client (grpc.aio), beside the synchronous one: the same connection policy,
calls and errors (session tokens, rejected_token, session-token exchange and the
browser-approved login included), for services built on asyncio.

    from credbroker import aio
    async with aio.connect("127.0.0.1:50051") as client:
        session = await client.script_session("ingest-bot")

AsyncHeldSessionTokenSource is the held-session (broker custody) token source for asyncio.
"""

import asyncio
import datetime
import inspect
import time
from typing import Any, Awaitable, Callable, Optional, Union

import grpc
import grpc.aio

from credbroker import policy
from credbroker.client import (BrowserLoginChallenge, CredentialKind, Custody,
                               SecondFactorPrompt, SecondFactorRequired, Session,
                               _approval_deadline, _expire_of, _read, _tls_decision,
                               _wait_duration)
from credbroker.errors import BrokerError, Reason
from credbroker.v1 import broker_pb2, broker_pb2_grpc

CodeProvider = Callable[[SecondFactorPrompt], Union[str, Awaitable[str]]]
ServiceToken = Union[str, Callable[[], str], None]


def connect(address: str, *, ca_file: Optional[str] = None, client_cert: Optional[str] = None,
            client_key: Optional[str] = None, service_token: ServiceToken = None,
            tls: Optional[bool] = None, insecure: bool = False,
            server_name: Optional[str] = None, timeout: float = policy.DEFAULT_TIMEOUT,
            options: Any = None) -> "AsyncBrokerClient":
    """credbroker.connect() for asyncio: the same arguments and connection policy. Call it
    from a running event loop (grpc.aio binds the channel to it)."""
    use_tls = _tls_decision(address, ca_file, client_cert, client_key, service_token, tls,
                            insecure)
    opts = list(options or ())
    if use_tls and server_name:
        opts.append(("grpc.ssl_target_name_override", server_name))

    def open_channel(retries: bool) -> grpc.aio.Channel:
        # The calls below always pass their timeout: no DefaultDeadline interceptor needed.
        all_opts = opts + policy.channel_options(retries)
        if not use_tls:
            return grpc.aio.insecure_channel(address, options=all_opts)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read(ca_file), private_key=_read(client_key),
            certificate_chain=_read(client_cert))
        return grpc.aio.secure_channel(address, credentials, options=all_opts)

    return AsyncBrokerClient(open_channel(True), open_channel(False),
                             service_token=service_token, timeout=timeout)


class AsyncBrokerClient:
    """Calls the broker from asyncio. Every failure raises a BrokerError (subclass)."""

    def __init__(self, channel: grpc.aio.Channel, once_channel: grpc.aio.Channel, *,
                 service_token: ServiceToken = None,
                 timeout: float = policy.DEFAULT_TIMEOUT) -> None:
        self._channel = channel
        self._once_channel = once_channel  # no retries: logins that carry a code
        self._stub = broker_pb2_grpc.CredentialBrokerStub(channel)
        self._once_stub = broker_pb2_grpc.CredentialBrokerStub(once_channel)
        self._service_token = service_token
        self._timeout = timeout

    async def _call(self, method: Any, request: Any, timeout: Optional[float]) -> Any:
        token = self._service_token() if callable(self._service_token) else self._service_token
        metadata = (("authorization", "Bearer " + token),) if token else None
        try:
            return await method(request, timeout=timeout or self._timeout, metadata=metadata)
        except grpc.aio.AioRpcError as error:
            raise BrokerError.from_rpc_error(error) from None

    async def login(self, username: str, password: str,
                    code_provider: Optional[CodeProvider] = None, site: str = "", *,
                    code: Optional[str] = None, custody: Custody = Custody.CALLER,
                    kind: CredentialKind = CredentialKind.REST,
                    timeout: Optional[float] = None) -> Session:
        """BrokerClient.login() for asyncio; code_provider may be a coroutine function."""
        request = broker_pb2.BeginLoginRequest(site=site, username=username, password=password,
                                               second_factor_code=code or "",
                                               custody=int(custody), kind=int(kind))
        result = await self._call(self._once_stub.BeginLogin if code else self._stub.BeginLogin,
                                  request, timeout)
        if result.WhichOneof("result") == "session":
            return Session.from_proto(result.session)
        if code_provider is None:
            raise SecondFactorRequired(username)
        challenge = result.challenge
        attempts_left, previous = challenge.attempts_left, None
        while True:
            answer = code_provider(SecondFactorPrompt(username, site, attempts_left,
                                                      _expire_of(challenge), previous))
            if inspect.isawaitable(answer):
                answer = await answer
            try:
                result = await self._call(self._stub.SubmitSecondFactor,
                                          broker_pb2.SubmitSecondFactorRequest(
                                              challenge_id=challenge.challenge_id,
                                              code=answer or ""), timeout)
            except BrokerError as error:
                if error.reason == Reason.INVALID_SECOND_FACTOR and error.attempts_left > 0:
                    attempts_left, previous = error.attempts_left, error
                    continue
                raise
            if result.WhichOneof("result") == "session":
                return Session.from_proto(result.session)
            raise BrokerError(grpc.StatusCode.INTERNAL, "the broker answered a second challenge",
                              Reason.INTERNAL)

    async def refresh(self, refresh_token: str, site: str = "", *,
                      timeout: Optional[float] = None) -> Session:
        """Spends refresh_token for a new Session. Never retried (single-use token)."""
        return Session.from_proto(await self._call(
            self._stub.RefreshSession,
            broker_pb2.RefreshSessionRequest(site=site, refresh_token=refresh_token), timeout))

    async def revoke(self, refresh_token: str, site: str = "", *,
                     timeout: Optional[float] = None) -> None:
        """Spends refresh_token at the site. Idempotent."""
        await self._call(self._stub.RevokeSession,
                         broker_pb2.RevokeSessionRequest(site=site, refresh_token=refresh_token),
                         timeout)

    async def get_access_token(self, session_id: str, min_validity: float = 60.0, *,
                               timeout: Optional[float] = None) -> Session:
        """BrokerClient.get_access_token() for asyncio: a held session's access token."""
        request = broker_pb2.GetAccessTokenRequest(session_id=session_id)
        request.min_validity.FromTimedelta(datetime.timedelta(seconds=min_validity))
        answer = await self._call(self._stub.GetAccessToken, request, timeout)
        return Session(access_token=answer.access_token, token_type=answer.token_type or "Bearer",
                       expire_time=_expire_of(answer), session_id=session_id)

    async def revoke_session(self, session_id: str, *, timeout: Optional[float] = None) -> None:
        """Ends a held session (its refresh token is spent at the site). Idempotent."""
        await self._call(self._stub.RevokeSession,
                         broker_pb2.RevokeSessionRequest(session_id=session_id), timeout)

    async def script_session(self, name: str, key: str = "", sudo_as: str = "", site: str = "",
                             *, kind: CredentialKind = CredentialKind.REST,
                             rejected_token: str = "",
                             timeout: Optional[float] = None) -> Session:
        """A script-key Session. Empty key = the broker's keyring. kind and rejected_token as
        in BrokerClient.script_session()."""
        return Session.from_proto(await self._call(
            self._stub.IssueScriptSession,
            broker_pb2.IssueScriptSessionRequest(site=site, script_name=name, script_key=key,
                                                 sudo_as_login=sudo_as, kind=int(kind),
                                                 rejected_token=rejected_token), timeout))

    async def exchange_session_token(self, session_token: str, site: str = "", *,
                                     custody: Custody = Custody.CALLER,
                                     timeout: Optional[float] = None) -> Session:
        """BrokerClient.exchange_session_token() for asyncio: REST tokens for a session
        token."""
        return Session.from_proto(await self._call(
            self._stub.ExchangeSessionToken,
            broker_pb2.ExchangeSessionTokenRequest(site=site, session_token=session_token,
                                                   custody=int(custody)), timeout))

    async def begin_browser_login(self, site: str = "", *, app_name: str = "",
                                  machine_id: str = "",
                                  kind: CredentialKind = CredentialKind.REST,
                                  custody: Custody = Custody.CALLER,
                                  timeout: Optional[float] = None) -> BrowserLoginChallenge:
        """BrokerClient.begin_browser_login() for asyncio."""
        return BrowserLoginChallenge.from_proto(await self._call(
            self._stub.BeginBrowserLogin,
            broker_pb2.BeginBrowserLoginRequest(site=site, app_name=app_name,
                                                machine_id=machine_id, kind=int(kind),
                                                custody=int(custody)), timeout))

    async def complete_browser_login(self, request_id: str,
                                     wait: Optional[float] = None) -> Session:
        """BrokerClient.complete_browser_login() for asyncio: awaits the person's approval
        up to `wait` seconds (None: the broker's 30)."""
        request = broker_pb2.CompleteBrowserLoginRequest(request_id=request_id)
        held = _wait_duration(request, wait)
        return Session.from_proto(await self._call(self._stub.CompleteBrowserLogin, request,
                                                   held + self._timeout))

    async def browser_login(self, show: Callable[[BrowserLoginChallenge], Any],
                            site: str = "", *, app_name: str = "", machine_id: str = "",
                            kind: CredentialKind = CredentialKind.REST,
                            custody: Custody = Custody.CALLER) -> Session:
        """BrokerClient.browser_login() for asyncio; show may be a coroutine function."""
        challenge = await self.begin_browser_login(site, app_name=app_name,
                                                   machine_id=machine_id, kind=kind,
                                                   custody=custody)
        shown = show(challenge)
        if inspect.isawaitable(shown):
            await shown
        deadline = _approval_deadline(challenge)
        while True:
            try:
                return await self.complete_browser_login(challenge.request_id)
            except BrokerError as error:
                if error.reason != Reason.APPROVAL_PENDING or time.time() >= deadline:
                    raise

    async def close(self) -> None:
        await asyncio.gather(self._channel.close(), self._once_channel.close())

    async def __aenter__(self) -> "AsyncBrokerClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


# The longest min_validity the broker honours (site tokens live about 600 s).
_MAX_MIN_VALIDITY = 300.0


class AsyncHeldSessionTokenSource:
    """credbroker.HeldSessionTokenSource for asyncio: caches a held session's access token
    while it has more than min_validity seconds left, else awaits one GetAccessToken shared
    by every concurrent caller. A caller cancelled while waiting does not cancel the shared
    call. SESSION_NOT_FOUND and REFRESH_TOKEN_INVALID raise AuthenticationError."""

    def __init__(self, client: AsyncBrokerClient, session_id: str, *,
                 min_validity: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        if not session_id:
            raise ValueError("a held session needs its session_id (broker custody login)")
        self._client = client
        self._session_id = session_id
        self._min_validity = min(float(min_validity), _MAX_MIN_VALIDITY)
        self._clock = clock
        self._session: Optional[Session] = None
        self._flight: "Optional[asyncio.Task[Session]]" = None
        self._generation = 0  # a call started before an invalidation is not cached

    @property
    def session_id(self) -> str:
        return self._session_id

    @property
    def session(self) -> Optional[Session]:
        return self._session

    async def access_token(self) -> str:
        session = self._session
        if session is not None and session.expires_in(self._clock()) > self._min_validity:
            return session.access_token
        if self._flight is None:
            self._flight = asyncio.ensure_future(self._fetch(self._generation))
        return (await asyncio.shield(self._flight)).access_token

    async def _fetch(self, generation: int) -> Session:
        try:
            session = await self._client.get_access_token(self._session_id, self._min_validity)
            if generation == self._generation:
                self._session = session
            return session
        finally:
            self._flight = None

    def invalidate(self, access_token: Optional[str] = None) -> None:
        """Drops the cached token (only if it is access_token, when given)."""
        if self._session is not None and access_token in (None, self._session.access_token):
            self._session = None
            self._generation += 1

    async def revoke(self) -> None:
        """Ends the session at the broker. Idempotent; later calls raise SESSION_NOT_FOUND."""
        await self._client.revoke_session(self._session_id)
        self._session = None
        self._generation += 1
