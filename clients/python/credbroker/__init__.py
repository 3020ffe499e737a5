"""Python client for the credential broker (credbroker.v1): logins with the 2FA step or a
browser approval, token sources that refresh before expiry, script sessions and typed errors;
credbroker.aio has the same client for asyncio, and credbroker.shotgun(...) a shotgun_api3.Shotgun
authenticated through the broker (credbroker.api3, which needs shotgun_api3).

    import credbroker
    client = credbroker.connect("127.0.0.1:50051")
    session = client.login("alice", password, lambda prompt: input("Code: "))
    sg = credbroker.shotgun(client, script="ingest-bot")
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
    AuthenticationError, BrokerError, LimitError, Reason, SecondFactorError,
    SessionTokenExpired, StoreError, UpstreamError)
from credbroker.client import (  # noqa: E402
    BrokerClient, BrowserLoginChallenge, CredentialKind, Custody, Principal, SecondFactorPrompt,
    SecondFactorRequired, Session, connect)
from credbroker.policy import DEFAULT_TIMEOUT, is_loopback  # noqa: E402
from credbroker.token_source import (  # noqa: E402
    HeldSessionTokenSource, PersonSessionTokenSource, ScriptSessionTokenSource,
    ScriptTokenSource, SessionTokenSource)

# From credbroker.api3, imported when first used (and left out of __all__): only they need
# shotgun_api3.
_API3_NAMES = ("shotgun", "BrokerShotgun", "ShotgunSessionExpired")


def __getattr__(name):  # type: ignore[no-untyped-def]
    if name in _API3_NAMES:
        from credbroker import api3
        return getattr(api3, name)
    raise AttributeError("module 'credbroker' has no attribute %r" % name)


__all__ = [
    "AuthenticationError", "BrokerClient", "BrokerError", "BrowserLoginChallenge",
    "CredentialKind", "Custody", "HeldSessionTokenSource", "LimitError",
    "PersonSessionTokenSource", "ScriptSessionTokenSource",
    "SecondFactorError", "SessionTokenExpired", "StoreError", "UpstreamError",
    "DEFAULT_TIMEOUT", "Principal", "Reason",
    "ScriptTokenSource", "SecondFactorPrompt", "SecondFactorRequired", "Session",
    "SessionTokenSource", "connect", "is_loopback",
]
