"""Typed broker errors: every failed call raises BrokerError carrying the gRPC code and the
ErrorDetail (reason, attempts_left, retry_after, metadata) from grpc-status-details-bin."""

import datetime

import grpc

from credbroker.v1 import broker_pb2

_DETAILS_KEY = "grpc-status-details-bin"


class Reason:
    """The machine-readable reasons of docs/api.md (compare with BrokerError.reason)."""
    INVALID_REQUEST = "INVALID_REQUEST"
    UNKNOWN_SITE = "UNKNOWN_SITE"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_SECOND_FACTOR = "INVALID_SECOND_FACTOR"
    CHALLENGE_NOT_FOUND = "CHALLENGE_NOT_FOUND"
    CHALLENGE_BUSY = "CHALLENGE_BUSY"
    SSO_REQUIRED = "SSO_REQUIRED"
    REFRESH_TOKEN_INVALID = "REFRESH_TOKEN_INVALID"
    SESSION_NOT_FOUND = "SESSION_NOT_FOUND"
    INVALID_SCRIPT_KEY = "INVALID_SCRIPT_KEY"
    CALLER_UNAUTHENTICATED = "CALLER_UNAUTHENTICATED"
    CALLER_NOT_ALLOWED = "CALLER_NOT_ALLOWED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    UPSTREAM_PROTOCOL_ERROR = "UPSTREAM_PROTOCOL_ERROR"
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
    INTERNAL = "INTERNAL"


class BrokerError(Exception):
    """A failed broker call.

    code: grpc.StatusCode; reason: a Reason name ("" when the status carried no
    ErrorDetail, e.g. a deadline or a connection failure); message: text for a person;
    attempts_left: int; retry_after: datetime.timedelta or None; metadata: dict.
    """

    def __init__(self, code, message, reason="", attempts_left=0, retry_after=None,
                 metadata=None):
        super().__init__("%s: %s%s" % (code.name if code else "UNKNOWN", message,
                                       " [%s]" % reason if reason else ""))
        self.code = code
        self.message = message
        self.reason = reason
        self.attempts_left = attempts_left
        self.retry_after = retry_after
        self.metadata = dict(metadata or {})

    @property
    def retryable(self):
        """Only UNAVAILABLE is safe to retry automatically."""
        return self.code == grpc.StatusCode.UNAVAILABLE

    @classmethod
    def from_rpc_error(cls, error):
        """Builds a BrokerError from a grpc.RpcError (a grpc.Call)."""
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
                    return cls(code, message or status.message, detail.reason,
                               detail.attempts_left, retry_after, detail.metadata)
        return cls(code, message or "")
