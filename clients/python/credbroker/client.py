"""The broker client: channel set-up (insecure loopback, TLS with a CA, mTLS, service bearer
token), the two-step login loop, refresh, revoke and script sessions."""

import dataclasses
import datetime
from typing import Callable, Optional, Union

import grpc

from credbroker.errors import BrokerError, Reason
from credbroker.v1 import broker_pb2, broker_pb2_grpc

DEFAULT_TIMEOUT = 20.0


@dataclasses.dataclass(frozen=True)
class Principal:
    """Whose session it is: a person (user_login) or a script (script_name)."""
    user_login: str = ""
    script_name: str = ""
    sudo_as_login: str = ""


@dataclasses.dataclass(frozen=True)
class Session:
    """A ShotGrid session. Tokens are kept out of repr() so that logs do not leak them."""
    access_token: str = dataclasses.field(repr=False)
    token_type: str = "Bearer"
    expire_time: Optional[datetime.datetime] = None  # timezone-aware, UTC
    refresh_token: str = dataclasses.field(default="", repr=False)
    session_id: str = dataclasses.field(default="", repr=False)
    principal: Principal = Principal()
    site: str = ""

    @classmethod
    def from_proto(cls, message):
        expire = None
        if message.HasField("expire_time"):
            expire = message.expire_time.ToDatetime().replace(tzinfo=datetime.timezone.utc)
        p = message.principal
        return cls(access_token=message.access_token, token_type=message.token_type or "Bearer",
                   expire_time=expire, refresh_token=message.refresh_token,
                   session_id=message.session_id,
                   principal=Principal(p.user_login, p.script_name, p.sudo_as_login),
                   site=message.site)

    def expires_in(self, now=None):
        """Seconds until the access token expires (inf when the broker gave no expiry)."""
        if self.expire_time is None:
            return float("inf")
        if now is None:
            now = datetime.datetime.now(datetime.timezone.utc).timestamp()
        return self.expire_time.timestamp() - now


@dataclasses.dataclass(frozen=True)
class SecondFactorPrompt:
    """What a code provider is given: answer with the person's TOTP or backup code."""
    username: str
    site: str
    attempts_left: int
    expire_time: Optional[datetime.datetime]
    previous_error: Optional[BrokerError] = None  # set when the last code was wrong


def _read(path):
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


def connect(address, *, ca_file=None, client_cert=None, client_key=None, service_token=None,
            tls=None, server_name=None, timeout=DEFAULT_TIMEOUT, options=None):
    """Opens a channel to the broker and returns a BrokerClient.

    Plain TCP unless TLS is asked for (tls=True, or any of ca_file/client_cert/client_key).
    ca_file: PEM bundle to trust (default: the system roots). client_cert/client_key: PEM
    files for mTLS. service_token: a string, or a callable returning one, sent on every call
    as `authorization: Bearer <token>`. server_name overrides the name checked in the
    broker's certificate. timeout: seconds per call.
    """
    if (client_cert is None) != (client_key is None):
        raise ValueError("client_cert and client_key go together")
    use_tls = tls if tls is not None else any(x is not None for x in (ca_file, client_cert))
    opts = list(options or ())
    if use_tls:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read(ca_file), private_key=_read(client_key),
            certificate_chain=_read(client_cert))
        if server_name:
            opts.append(("grpc.ssl_target_name_override", server_name))
        channel = grpc.secure_channel(address, credentials, options=opts)
    else:
        if client_cert is not None:
            raise ValueError("a client certificate needs TLS")
        channel = grpc.insecure_channel(address, options=opts)
    return BrokerClient(channel, service_token=service_token, timeout=timeout, own_channel=True)


class BrokerClient:
    """Calls the broker. Every failure raises BrokerError. Thread-safe."""

    def __init__(self, channel, *, service_token: Union[str, Callable[[], str], None] = None,
                 timeout=DEFAULT_TIMEOUT, own_channel=False):
        self._channel = channel
        self._stub = broker_pb2_grpc.CredentialBrokerStub(channel)
        self._service_token = service_token
        self._timeout = timeout
        self._own_channel = own_channel

    # -- plumbing ------------------------------------------------------------------------
    def _metadata(self):
        token = self._service_token() if callable(self._service_token) else self._service_token
        return (("authorization", "Bearer " + token),) if token else None

    def _call(self, method, request):
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata())
        except grpc.RpcError as error:
            raise BrokerError.from_rpc_error(error) from None

    @staticmethod
    def _client_info(client_address, user_agent):
        if not client_address and not user_agent:
            return None
        return broker_pb2.ClientInfo(address=client_address or "", user_agent=user_agent or "")

    # -- calls ---------------------------------------------------------------------------
    def login(self, username, password, code_provider, site="", *, client_address="",
              user_agent=""):
        """Logs a person in with caller custody and returns a Session.

        On a 2FA challenge calls code_provider(SecondFactorPrompt) for a code, and asks
        again after a wrong code while the challenge has attempts left.
        """
        client = self._client_info(client_address, user_agent)
        result = self._call(self._stub.BeginLogin, broker_pb2.BeginLoginRequest(
            site=site, username=username, password=password, client=client))
        if result.WhichOneof("result") == "session":
            return Session.from_proto(result.session)
        challenge = result.challenge
        expire = None
        if challenge.HasField("expire_time"):
            expire = challenge.expire_time.ToDatetime().replace(tzinfo=datetime.timezone.utc)
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

    def refresh(self, refresh_token, site=""):
        """Spends refresh_token for a new Session (new access and refresh tokens)."""
        return Session.from_proto(self._call(self._stub.RefreshSession,
                                             broker_pb2.RefreshSessionRequest(
                                                 site=site, refresh_token=refresh_token)))

    def revoke(self, refresh_token, site=""):
        """Spends refresh_token at the site. Idempotent."""
        self._call(self._stub.RevokeSession,
                   broker_pb2.RevokeSessionRequest(site=site, refresh_token=refresh_token))

    def script_session(self, name, key="", sudo_as="", site=""):
        """A script-key Session (no refresh token: ask again). Empty key = broker keyring."""
        return Session.from_proto(self._call(self._stub.IssueScriptSession,
                                             broker_pb2.IssueScriptSessionRequest(
                                                 site=site, script_name=name, script_key=key,
                                                 sudo_as_login=sudo_as)))

    def session_token_source(self, session, *, margin=60.0):
        from credbroker.token_source import SessionTokenSource
        return SessionTokenSource(self, session, margin=margin)

    def script_token_source(self, name, key="", sudo_as="", site="", *, margin=60.0):
        from credbroker.token_source import ScriptTokenSource
        return ScriptTokenSource(self, name, key, sudo_as, site, margin=margin)

    def close(self):
        if self._own_channel:
            self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
