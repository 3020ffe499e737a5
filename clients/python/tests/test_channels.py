"""Channel set-up: TLS to the real broker with a CA made at test time (openssl CLI), the
service bearer token on every call, and mTLS with a client certificate (checked on a small
in-test gRPC server, since the broker does not ask for client certificates yet)."""

from concurrent import futures

import grpc
import pytest

import credbroker
from credbroker import BrokerError, Reason
from credbroker.v1 import broker_pb2, broker_pb2_grpc
from conftest import login


def test_tls_channel_with_a_ca_bundle(make_stack, certs):
    stack = make_stack(tls=certs)
    client = stack.connect("localhost:%d" % stack.port, ca_file=certs.ca)
    session = login(client, "alice")
    assert session.principal.user_login == "alice"
    assert client.script_session("ingest-bot", "ingest-bot-key-0001").access_token

    by_ip = stack.connect(stack.address, ca_file=certs.ca)  # the certificate names 127.0.0.1
    assert by_ip.refresh(session.refresh_token).refresh_token

    untrusted = stack.connect(stack.address, tls=True, timeout=3)  # system roots only
    with pytest.raises(BrokerError) as raised:
        untrusted.script_session("ingest-bot", "ingest-bot-key-0001")
    assert raised.value.code == grpc.StatusCode.UNAVAILABLE and raised.value.reason == ""

    plain = stack.connect(stack.address, timeout=3)
    with pytest.raises(BrokerError) as raised:
        plain.script_session("ingest-bot", "ingest-bot-key-0001")
    assert raised.value.code == grpc.StatusCode.UNAVAILABLE


def test_the_service_token_does_not_disturb_todays_broker(stack):
    client = stack.connect(service_token="svc-token-1")
    session = login(client, "bob")
    assert client.refresh(session.refresh_token).access_token
    with pytest.raises(BrokerError) as raised:
        client.script_session("ingest-bot", "wrong")
    assert raised.value.reason == Reason.INVALID_SCRIPT_KEY


class RecordingBroker(broker_pb2_grpc.CredentialBrokerServicer):
    """Answers IssueScriptSession and records what each call carried."""

    def __init__(self):
        self.seen = []

    def IssueScriptSession(self, request, context):
        auth = context.auth_context()
        self.seen.append((dict(context.invocation_metadata()).get("authorization"),
                          [n.decode() for n in auth.get("x509_common_name", [])]))
        return broker_pb2.Session(access_token="t", token_type="Bearer",
                                  principal=broker_pb2.Principal(script_name=request.script_name))


@pytest.fixture
def mtls_server(certs):
    servicer = RecordingBroker()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    broker_pb2_grpc.add_CredentialBrokerServicer_to_server(servicer, server)
    with open(certs.server_key, "rb") as key, open(certs.server_cert, "rb") as cert, \
            open(certs.ca, "rb") as ca:
        credentials = grpc.ssl_server_credentials([(key.read(), cert.read())],
                                                  root_certificates=ca.read(),
                                                  require_client_auth=True)
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    yield "localhost:%d" % port, servicer
    server.stop(None)


def test_mtls_and_service_token_reach_the_server(certs, mtls_server):
    address, servicer = mtls_server
    tokens = iter(["svc-token-1", "svc-token-2"])
    with credbroker.connect(address, ca_file=certs.ca, client_cert=certs.client_cert,
                            client_key=certs.client_key,
                            service_token=lambda: next(tokens)) as client:
        assert client.script_session("ingest-bot", "k").principal.script_name == "ingest-bot"
        client.script_session("ingest-bot", "k")
    assert servicer.seen == [("Bearer svc-token-1", ["test-service"]),
                             ("Bearer svc-token-2", ["test-service"])]

    with credbroker.connect(address, ca_file=certs.ca, timeout=3) as no_cert:
        with pytest.raises(BrokerError) as raised:
            no_cert.script_session("ingest-bot", "k")
    assert raised.value.code == grpc.StatusCode.UNAVAILABLE
    assert len(servicer.seen) == 2


def test_channel_arguments_are_checked():
    with pytest.raises(ValueError):
        credbroker.connect("127.0.0.1:1", client_cert="c.pem")
