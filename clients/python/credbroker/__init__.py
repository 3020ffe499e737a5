"""Python client for the credential broker (credbroker.v1): logins with the 2FA step,
token sources that refresh before expiry, script sessions and typed errors; credbroker.aio
has the same client for asyncio.

    import credbroker
    client = credbroker.connect("127.0.0.1:50051")
    session = client.login("alice", password, lambda prompt: input("Code: "))
"""

import os as _os

# The generated modules live in _generated/credbroker/v1 and import each other as
# `credbroker.v1.broker_pb2`; adding that folder to this package's path makes
# `credbroker.v1` resolve there.
_GENERATED = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "_generated", "credbroker")
if _GENERATED not in __path__:
    __path__.append(_GENERATED)
if not _os.path.exists(_os.path.join(_GENERATED, "v1", "broker_pb2.py")):
    raise ImportError("credbroker: generated code missing; run clients/python/generate.py first")

from credbroker.errors import (  # noqa: E402
    AuthenticationError, BrokerError, LimitError, Reason, SecondFactorError, StoreError,
    UpstreamError)
from credbroker.client import (  # noqa: E402
    BrokerClient, Custody, Principal, SecondFactorPrompt, SecondFactorRequired, Session, connect)
from credbroker.policy import DEFAULT_TIMEOUT, is_loopback  # noqa: E402
from credbroker.token_source import (  # noqa: E402
    HeldSessionTokenSource, ScriptTokenSource, SessionTokenSource)

__all__ = [
    "AuthenticationError", "BrokerClient", "BrokerError", "Custody", "HeldSessionTokenSource",
    "LimitError",
    "SecondFactorError", "StoreError", "UpstreamError", "DEFAULT_TIMEOUT", "Principal", "Reason",
    "ScriptTokenSource", "SecondFactorPrompt", "SecondFactorRequired", "Session",
    "SessionTokenSource", "connect", "is_loopback",
]
