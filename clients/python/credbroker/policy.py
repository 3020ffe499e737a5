"""The connection policy shared by every credbroker client: TLS unless the broker is on this
machine, no service token in the clear off this machine, a default deadline on every call, and
the shipped gRPC service config (clients/service_config.json) that retries UNAVAILABLE for the
calls that are safe to repeat."""

import collections
import ipaddress
import json
import os
from typing import Any, Callable, Dict, List, Tuple

import grpc

DEFAULT_TIMEOUT = 10.0
"""Seconds a call may take unless the caller says otherwise."""

_SERVICE_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "service_config.json")


def is_loopback(address: str) -> bool:
    """Whether a gRPC target ("host:port", "dns:///host:port", "unix:...") names this machine."""
    target = address
    if target.startswith(("unix:", "unix-abstract:")):
        return True
    for scheme in ("dns:///", "dns:", "ipv4:", "ipv6:"):
        if target.startswith(scheme):
            target = target[len(scheme):]
            break
    if target.startswith("["):
        host = target[1:target.find("]")] if "]" in target else target[1:]
    elif target.count(":") == 1:
        host = target.rsplit(":", 1)[0]
    else:
        host = target  # a bare IPv6 address or a host without a port
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def service_config() -> Dict[str, Any]:
    """The shipped service config without its per-method timeouts. gRPC core 1.51 (Debian's
    grpcio) starts a service-config timeout from a shifted clock, cutting calls short by a
    process-dependent second or more, so the deadline comes from DefaultDeadline instead."""
    with open(_SERVICE_CONFIG, encoding="utf-8") as f:
        config = json.load(f)
    for method in config["methodConfig"]:
        method.pop("timeout", None)
    return config


def channel_options(retries: bool) -> List[Tuple[str, Any]]:
    """gRPC channel options carrying the service config. retries=False turns retries off:
    for a login that carries a second-factor code, which a repeat would spend twice against
    the person's failure budget."""
    return [("grpc.service_config", json.dumps(service_config())),
            ("grpc.enable_retries", 1 if retries else 0)]


class _CallDetails(collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready",
                         "compression")), grpc.ClientCallDetails):
    pass


class DefaultDeadline(grpc.UnaryUnaryClientInterceptor):
    """Gives every unary call that sets no timeout this many seconds, so that calls made on
    the raw stub (BrokerClient.channel) are bounded too."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout

    def intercept_unary_unary(self, continuation: Callable[..., Any],
                              client_call_details: grpc.ClientCallDetails, request: Any) -> Any:
        if client_call_details.timeout is None:
            d = client_call_details
            client_call_details = _CallDetails(
                d.method, self._timeout, d.metadata, d.credentials,
                getattr(d, "wait_for_ready", None), getattr(d, "compression", None))
        return continuation(client_call_details, request)
