"""The connection policy every client shares: plaintext only to this machine unless insecure
is asked for, never a service token in the clear off this machine, a default deadline on every
call, and retries of UNAVAILABLE only for the calls that are safe to repeat. Checked against a
small in-test gRPC server that fails on demand and counts attempts."""

import threading
import time
from concurrent import futures

import grpc
import pytest

import credbroker
from credbroker import BrokerError
from credbroker.v1 import broker_pb2, broker_pb2_grpc


class FlakyBroker(broker_pb2_grpc.CredentialBrokerServicer):
    """Answers UNAVAILABLE `failures` times per method, then a session; records each call's
    remaining time."""

    def __init__(self, failures, delay=0.0):
        self.failures = failures
        self.delay = delay
        self.attempts = {}
        self.time_remaining = []
        self._lock = threading.Lock()

    def _answer(self, method, context):
        with self._lock:
            self.attempts[method] = self.attempts.get(method, 0) + 1
            self.time_remaining.append(context.time_remaining())
            failing = self.attempts[method] <= self.failures
        if self.delay:
            threading.Event().wait(self.delay)
        if failing:
            context.abort(grpc.StatusCode.UNAVAILABLE, "down for a moment")
        return broker_pb2.Session(access_token="tok", token_type="Bearer")

    def BeginLogin(self, request, context):
        return broker_pb2.LoginResult(session=self._answer("BeginLogin", context))

    def SubmitSecondFactor(self, request, context):
        return broker_pb2.LoginResult(session=self._answer("SubmitSecondFactor", context))

    def RefreshSession(self, request, context):
        return self._answer("RefreshSession", context)

    def IssueScriptSession(self, request, context):
        return self._answer("IssueScriptSession", context)

    def RevokeSession(self, request, context):
        self._answer("RevokeSession", context)
        return broker_pb2.RevokeSessionResponse()


@pytest.fixture
def flaky():
    def start(failures, delay=0.0):
        servicer = FlakyBroker(failures, delay)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        broker_pb2_grpc.add_CredentialBrokerServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        started.append(server)
        return servicer, "127.0.0.1:%d" % port
    started = []
    yield start
    for server in started:
        server.stop(None)


@pytest.mark.parametrize("address", ["192.0.2.10:50051", "broker.studio.lan:50051",
                                     "dns:///broker.studio.lan:443", "[2001:db8::1]:50051"])
def test_plaintext_off_this_machine_needs_insecure(address):
    with pytest.raises(ValueError, match="refusing plaintext"):
        credbroker.connect(address, tls=False)
    credbroker.connect(address, insecure=True).close()  # the explicit opt-out
    credbroker.connect(address).close()  # the default: TLS with the system roots


@pytest.mark.parametrize("address", ["127.0.0.1:1", "localhost:1", "[::1]:1", "unix:/tmp/b"])
def test_loopback_is_plaintext_by_default(address):
    assert credbroker.is_loopback(address)
    credbroker.connect(address, service_token="svc").close()


def test_service_token_never_in_the_clear_off_this_machine():
    with pytest.raises(ValueError, match="service token in the clear"):
        credbroker.connect("192.0.2.10:50051", insecure=True, service_token="svc-token")
    with pytest.raises(ValueError, match="service token in the clear"):
        credbroker.connect("broker.studio.lan:50051", insecure=True,
                           service_token=lambda: "svc-token")


def test_default_deadline_on_every_call(flaky):
    servicer, address = flaky(0)
    with credbroker.connect(address) as client:
        client.script_session("ingest-bot")
    # grpc-timeout is sent rounded up: allow a little over.
    assert credbroker.DEFAULT_TIMEOUT == 10.0
    assert 8.0 < servicer.time_remaining[-1] <= 10.1
    with credbroker.connect(address, timeout=2.5) as client:  # overridden
        client.script_session("ingest-bot")
    assert 1.5 < servicer.time_remaining[-1] <= 2.6


def test_raw_stub_calls_get_the_default_deadline(flaky):
    servicer, address = flaky(0, delay=1.5)
    with credbroker.connect(address, timeout=0.4) as client:
        stub = broker_pb2_grpc.CredentialBrokerStub(client.channel)
        start = time.monotonic()
        with pytest.raises(grpc.RpcError) as raw:  # no timeout given on the call
            stub.RefreshSession(broker_pb2.RefreshSessionRequest(refresh_token="r"))
        assert raw.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert 0.35 < time.monotonic() - start < 1.2
    assert 0.2 < servicer.time_remaining[-1] <= 0.45


def test_the_service_config_reaches_grpc_without_timeouts():
    # gRPC core 1.51 shortens a service-config timeout by a process-dependent offset: the
    # deadline comes from the client instead.
    config = credbroker.policy.service_config()
    assert all("timeout" not in method for method in config["methodConfig"])
    retried = {n["method"] for m in config["methodConfig"] if "retryPolicy" in m
               for n in m["name"]}
    assert retried == {"IssueScriptSession", "GetAccessToken", "BeginLogin", "RevokeSession",
                       "ExchangeSessionToken"}


def test_unavailable_is_retried_for_calls_safe_to_repeat(flaky):
    servicer, address = flaky(2)
    with credbroker.connect(address) as client:
        assert client.script_session("ingest-bot").access_token == "tok"
        client.revoke("refresh-1")
        assert client.login("alice", "pw").access_token == "tok"
    assert servicer.attempts == {"IssueScriptSession": 3, "RevokeSession": 3, "BeginLogin": 3}


def test_unavailable_is_not_retried_when_a_repeat_could_spend_something(flaky):
    servicer, address = flaky(1)
    with credbroker.connect(address) as client:
        with pytest.raises(BrokerError) as raised:
            client.refresh("refresh-1")
        assert raised.value.code == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(BrokerError) as raised:
            client.login("alice", "pw", code="123456")  # the code would be spent twice
        assert raised.value.code == grpc.StatusCode.UNAVAILABLE
        stub = broker_pb2_grpc.CredentialBrokerStub(client.channel)
        with pytest.raises(grpc.RpcError) as raw:
            stub.SubmitSecondFactor(broker_pb2.SubmitSecondFactorRequest(
                challenge_id="c", code="123456"))
        assert raw.value.code() == grpc.StatusCode.UNAVAILABLE
    assert servicer.attempts == {"RefreshSession": 1, "BeginLogin": 1, "SubmitSecondFactor": 1}
