"""An outside client, generated from proto/ alone, drives every flow of the real
broker against the fake ShotGrid site and reads every error reason.

It uses nothing of the project but the .proto file and the two binaries: code is
generated with protoc and grpc_python_plugin into a temporary directory, TOTP
codes are computed here (RFC 6238) independently of the C++ implementation, and
the ErrorDetail is read from the standard grpc-status-details-bin trailer.
"""

import base64
import hashlib
import hmac
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

import grpc
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BROKER = os.environ["CREDBROKER_BROKER_BINARY"]
FAKE_SITE = os.environ["CREDBROKER_FAKE_SITE_BINARY"]

ALICE = ("alice", "alice-password-1", "JBSWY3DPEHPK3PXP")
BOB = ("bob", "bob-password-1", "KRUGKIDCN5RCA43F")


def totp(base32_secret, unix_time):
    key = base64.b32decode(base32_secret)
    digest = hmac.new(key, struct.pack(">Q", int(unix_time) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1000000)


def wait_for_port(path, process):
    for _ in range(1000):
        if os.path.exists(path) and open(path).read().strip():
            return int(open(path).read())
        assert process.poll() is None, "process exited early"
        time.sleep(0.01)
    raise TimeoutError(path)


@pytest.fixture(scope="module")
def generated():
    out = tempfile.mkdtemp(prefix="credbroker-py-")
    subprocess.run(
        ["protoc", "-I", os.path.join(REPO, "proto"), "-I", "/usr/include",
         "--python_out=" + out, "--grpc_python_out=" + out,
         "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
         "credbroker/v1/broker.proto"],
        check=True)
    sys.path.insert(0, out)
    from credbroker.v1 import broker_pb2, broker_pb2_grpc
    return broker_pb2, broker_pb2_grpc


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    work = tmp_path_factory.mktemp("processes")
    site = subprocess.Popen(
        [FAKE_SITE, "--two-factor", "--quiet", "--listen", "127.0.0.1:0",
         "--port-file", str(work / "site.port")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    site_url = "http://127.0.0.1:%d" % wait_for_port(str(work / "site.port"), site)
    (work / "broker.yaml").write_text(
        "listen: 127.0.0.1:0\ndefault_site: main\nsites:\n"
        "  - name: main\n    url: %s\n" % site_url)
    broker = subprocess.Popen(
        [BROKER, "--config", str(work / "broker.yaml"), "--port-file", str(work / "broker.port")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = "127.0.0.1:%d" % wait_for_port(str(work / "broker.port"), broker)
    yield address, site_url
    broker.terminate()
    assert broker.wait(timeout=30) == 0
    site.kill()  # its graceful stop waits out idle keep-alive connections; not under test here
    site.wait(timeout=30)


@pytest.fixture(scope="module")
def stub(generated, running):
    _, broker_pb2_grpc = generated
    channel = grpc.insecure_channel(running[0])
    yield broker_pb2_grpc.CredentialBrokerStub(channel)
    # Closed before the broker stops: a graceful stop waits for open
    # connections to go away after it says GOAWAY.
    channel.close()


def site_requests(site_url, grant):
    with urllib.request.urlopen(site_url + "/_fake/stats") as answer:
        return json.load(answer)["requests"][grant]


def error_detail(generated, error):
    """The ErrorDetail packed in the standard rich-status trailer."""
    broker_pb2, _ = generated
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = broker_pb2.RichStatus.FromString(value)
            assert status.code == error.code().value[0]
            detail = broker_pb2.ErrorDetail()
            assert status.details[0].Unpack(detail)
            return detail
    raise AssertionError("no grpc-status-details-bin trailer")


def expect_error(generated, call, code, reason):
    with pytest.raises(grpc.RpcError) as raised:
        call()
    assert raised.value.code() == code, raised.value.details()
    detail = error_detail(generated, raised.value)
    assert detail.reason == reason
    return detail


def test_two_step_login_refresh_and_revoke(generated, stub, running):
    pb, _ = generated
    login, password, secret = ALICE
    first = stub.BeginLogin(pb.BeginLoginRequest(username=login, password=password), timeout=20)
    assert first.WhichOneof("result") == "challenge"
    challenge = first.challenge
    assert len(challenge.challenge_id) == 64 and challenge.attempts_left == 5

    detail = expect_error(
        generated,
        lambda: stub.SubmitSecondFactor(
            pb.SubmitSecondFactorRequest(challenge_id=challenge.challenge_id, code="000000"),
            timeout=20),
        grpc.StatusCode.UNAUTHENTICATED, "INVALID_SECOND_FACTOR")
    assert detail.attempts_left == 4

    second = stub.SubmitSecondFactor(
        pb.SubmitSecondFactorRequest(challenge_id=challenge.challenge_id,
                                     code=totp(secret, time.time())),
        timeout=20)
    session = second.session
    assert session.token_type == "Bearer" and session.principal.user_login == login
    assert session.refresh_token

    refreshed = stub.RefreshSession(pb.RefreshSessionRequest(refresh_token=session.refresh_token),
                                    timeout=20)
    assert refreshed.access_token and refreshed.refresh_token != session.refresh_token
    expect_error(
        generated,
        lambda: stub.RefreshSession(pb.RefreshSessionRequest(refresh_token=session.refresh_token),
                                    timeout=20),
        grpc.StatusCode.UNAUTHENTICATED, "REFRESH_TOKEN_INVALID")

    stub.RevokeSession(pb.RevokeSessionRequest(refresh_token=refreshed.refresh_token), timeout=20)
    expect_error(
        generated,
        lambda: stub.RefreshSession(
            pb.RefreshSessionRequest(refresh_token=refreshed.refresh_token), timeout=20),
        grpc.StatusCode.UNAUTHENTICATED, "REFRESH_TOKEN_INVALID")
    expect_error(
        generated,
        lambda: stub.SubmitSecondFactor(
            pb.SubmitSecondFactorRequest(challenge_id=challenge.challenge_id, code="123456"),
            timeout=20),
        grpc.StatusCode.FAILED_PRECONDITION, "CHALLENGE_NOT_FOUND")


def test_one_step_login_with_the_code_up_front(generated, stub):
    pb, _ = generated
    login, password, secret = BOB
    result = stub.BeginLogin(
        pb.BeginLoginRequest(username=login, password=password,
                             second_factor_code=totp(secret, time.time())),
        timeout=20)
    assert result.WhichOneof("result") == "session"


def test_script_sessions(generated, stub, running):
    pb, _ = generated
    session = stub.IssueScriptSession(
        pb.IssueScriptSessionRequest(script_name="ingest-bot", script_key="ingest-bot-key-0001"),
        timeout=20)
    assert session.principal.script_name == "ingest-bot" and not session.refresh_token
    expect_error(
        generated,
        lambda: stub.IssueScriptSession(
            pb.IssueScriptSessionRequest(script_name="ingest-bot", script_key="wrong"),
            timeout=20),
        grpc.StatusCode.UNAUTHENTICATED, "INVALID_SCRIPT_KEY")


def test_every_other_reason_a_caller_can_meet(generated, stub, running):
    pb, _ = generated
    site_url = running[1]
    before = site_requests(site_url, "password")
    expect_error(generated,
                 lambda: stub.BeginLogin(pb.BeginLoginRequest(username="", password="x"),
                                         timeout=20),
                 grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST")
    expect_error(generated,
                 lambda: stub.BeginLogin(
                     pb.BeginLoginRequest(site="nowhere", username="a", password="x"), timeout=20),
                 grpc.StatusCode.NOT_FOUND, "UNKNOWN_SITE")
    expect_error(generated,
                 lambda: stub.GetAccessToken(pb.GetAccessTokenRequest(session_id="s"), timeout=20),
                 grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND")
    assert site_requests(site_url, "password") == before  # none of these reached the site

    for _ in range(5):
        expect_error(generated,
                     lambda: stub.BeginLogin(
                         pb.BeginLoginRequest(username="carol", password="wrong"), timeout=20),
                     grpc.StatusCode.UNAUTHENTICATED, "INVALID_CREDENTIALS")
    detail = expect_error(
        generated,
        lambda: stub.BeginLogin(pb.BeginLoginRequest(username="carol", password="wrong"),
                                timeout=20),
        grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_ATTEMPTS")
    assert detail.retry_after.seconds > 0
    assert site_requests(site_url, "password") == before + 5
