"""The connection policy shared by every credbroker client: TLS unless the broker is on this
machine, no service token in the clear off this machine, a default deadline on every call, and
the shipped gRPC service config (clients/service_config.json) that retries UNAVAILABLE for the
calls that are safe to repeat."""

import ipaddress
import json
import os
from typing import Any, Dict, List, Tuple

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


def service_config(timeout: float = DEFAULT_TIMEOUT) -> Dict[str, Any]:
    """The shipped service config with every method's timeout set to `timeout` seconds, so
    that calls made on the raw stub are bounded too."""
    with open(_SERVICE_CONFIG, encoding="utf-8") as f:
        config = json.load(f)
    for method in config["methodConfig"]:
        method["timeout"] = "%.3fs" % timeout
    return config


def channel_options(timeout: float, retries: bool) -> List[Tuple[str, Any]]:
    """gRPC channel options carrying the service config. retries=False keeps the deadlines
    but turns retries off: for a login that carries a second-factor code, which a repeat
    would spend twice against the broker's failure budget."""
    return [("grpc.service_config", json.dumps(service_config(timeout))),
            ("grpc.enable_retries", 1 if retries else 0)]
