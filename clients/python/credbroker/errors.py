"""Typed broker errors: every failed call raises BrokerError (or the subclass of its reason's
family: AuthenticationError, SecondFactorError, LimitError, UpstreamError, StoreError) carrying
the gRPC code and the ErrorDetail (reason, attempts_left, retry_after, metadata) from
grpc-status-details-bin."""

import datetime
import enum
from typing import Dict, Mapping, Optional, Type, Union

import grpc

from credbroker.v1 import broker_pb2

_DETAILS_KEY = "grpc-status-details-bin"


class Reason(str, enum.Enum):
    """The machine-readable reasons of docs/api.md. A str Enum: `error.reason ==
    Reason.TOO_MANY_ATTEMPTS` and `error.reason == "TOO_MANY_ATTEMPTS"` both hold."""
    INVALID_REQUEST = "INVALID_REQUEST"
    UNKNOWN_SITE = "UNKNOWN_SITE"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_SECOND_FACTOR = "INVALID_SECOND_FACTOR"
    CHALLENGE_NOT_FOUND = "CHALLENGE_NOT_FOUND"
    CHALLENGE_BUSY = "CHALLENGE_BUSY"
    APPROVAL_PENDING = "APPROVAL_PENDING"
    SSO_REQUIRED = "SSO_REQUIRED"
    REFRESH_TOKEN_INVALID = "REFRESH_TOKEN_INVALID"
    SESSION_NOT_FOUND = "SESSION_NOT_FOUND"
    INVALID_SCRIPT_KEY = "INVALID_SCRIPT_KEY"
    CALLER_UNAUTHENTICATED = "CALLER_UNAUTHENTICATED"
    CALLER_NOT_ALLOWED = "CALLER_NOT_ALLOWED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    UPSTREAM_PROTOCOL_ERROR = "UPSTREAM_PROTOCOL_ERROR"
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
    INTERNAL = "INTERNAL"

    def __str__(self) -> str:
        return self.value


class BrokerError(Exception):
    """A failed broker call.

    code: grpc.StatusCode; reason: a Reason name ("" when the status carried no
    ErrorDetail, e.g. a deadline or a connection failure); message: text for a person;
    attempts_left: int; retry_after: datetime.timedelta or None; metadata: dict.
    """

    code: grpc.StatusCode
    message: str
    reason: Union[Reason, str]
    attempts_left: int
    retry_after: Optional[datetime.timedelta]
    metadata: Dict[str, str]

    def __init__(self, code: grpc.StatusCode, message: str, reason: Union[Reason, str] = "",
                 attempts_left: int = 0, retry_after: Optional[datetime.timedelta] = None,
                 metadata: Optional[Mapping[str, str]] = None) -> None:
        try:
            reason = Reason(reason) if reason else ""
        except ValueError:
            pass  # a reason newer than this client: kept as the string
        super().__init__("%s: %s%s" % (code.name if code else "UNKNOWN", message,
                                       " [%s]" % reason if reason else ""))
        self.code = code
        self.message = message
        self.reason = reason
        self.attempts_left = attempts_left
        self.retry_after = retry_after
        self.metadata = dict(metadata or {})

    @property
    def retryable(self) -> bool:
        """Only UNAVAILABLE is safe to retry automatically."""
        return self.code == grpc.StatusCode.UNAVAILABLE

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "BrokerError":
        """Builds the BrokerError subclass of the reason's family from a grpc.RpcError (a
        grpc.Call or a grpc.aio.AioRpcError)."""
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        message = error.details() if hasattr(error, "details") else str(error)
        trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
        for key, value in trailers or ():
            if key != _DETAILS_KEY:
                continue
            try:
                status = broker_pb2.RichStatus.FromString(value)
            except Exception:  # not ours: keep the code and message
                break
            for any_detail in status.details:
                detail = broker_pb2.ErrorDetail()
                if any_detail.Unpack(detail):
                    retry_after = None
                    if detail.HasField("retry_after"):
                        retry_after = datetime.timedelta(
                            seconds=detail.retry_after.seconds,
                            microseconds=detail.retry_after.nanos // 1000)
                    family = _FAMILIES.get(detail.reason, BrokerError)
                    return family(code, message or status.message, detail.reason,
                                  detail.attempts_left, retry_after, detail.metadata)
        return cls(code, message or "")


class AuthenticationError(BrokerError):
    """Who is asking was not accepted: wrong password or script key, spent refresh token or
    held session gone, a caller the broker does not know or allow, or a site that needs SSO."""


class SecondFactorError(BrokerError):
    """A login's second step failed or is not done: a wrong code (see attempts_left), a
    challenge gone or busy, or a browser approval still pending (APPROVAL_PENDING: ask again
    after retry_after) or rejected or expired (CHALLENGE_NOT_FOUND)."""


class LimitError(BrokerError):
    """Too many failures: wait retry_after before trying again."""


class UpstreamError(BrokerError):
    """The ShotGrid site is unreachable or answered something unreadable (retryable)."""


class StoreError(BrokerError):
    """The broker's state store is unavailable (retryable)."""


class SessionTokenExpired(Exception):
    """The site refused a person's session token (expired or ended) and nothing can renew it
    without the person: a session token is a login's, and the broker keeps no password. Log
    the person in again (or give the token source a `renew` function that does)."""


_FAMILIES: Dict[str, Type[BrokerError]] = {
    Reason.INVALID_CREDENTIALS: AuthenticationError,
    Reason.REFRESH_TOKEN_INVALID: AuthenticationError,
    # A held session gone (revoked, expired, unknown): like a spent refresh token, the person
    # logs in again.
    Reason.SESSION_NOT_FOUND: AuthenticationError,
    Reason.INVALID_SCRIPT_KEY: AuthenticationError,
    Reason.CALLER_UNAUTHENTICATED: AuthenticationError,
    Reason.CALLER_NOT_ALLOWED: AuthenticationError,
    Reason.SSO_REQUIRED: AuthenticationError,
    Reason.INVALID_SECOND_FACTOR: SecondFactorError,
    Reason.CHALLENGE_NOT_FOUND: SecondFactorError,
    Reason.CHALLENGE_BUSY: SecondFactorError,
    Reason.APPROVAL_PENDING: SecondFactorError,
    Reason.TOO_MANY_ATTEMPTS: LimitError,
    Reason.TOO_MANY_REQUESTS: LimitError,
    Reason.UPSTREAM_UNAVAILABLE: UpstreamError,
    Reason.UPSTREAM_PROTOCOL_ERROR: UpstreamError,
    Reason.STORE_UNAVAILABLE: StoreError,
}
