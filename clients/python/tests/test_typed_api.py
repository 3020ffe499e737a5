"""The typed API: reasons as a str Enum, one exception subclass per family chosen from the
broker's ErrorDetail, the py.typed marker, and the grpc.aio client with the same connection
policy (retries, no retry for a login with a code, deadlines), against in-test servers."""

import asyncio
import os
from concurrent import futures

import grpc
import pytest

import credbroker
from credbroker import aio
from credbroker.v1 import broker_pb2, broker_pb2_grpc
from test_connection_policy import flaky  # noqa: F401  (the fixture)

FAMILIES = {
    "INVALID_CREDENTIALS": credbroker.AuthenticationError,
    "CALLER_NOT_ALLOWED": credbroker.AuthenticationError,
    "INVALID_SECOND_FACTOR": credbroker.SecondFactorError,
    "CHALLENGE_NOT_FOUND": credbroker.SecondFactorError,
    "APPROVAL_PENDING": credbroker.SecondFactorError,
    "TOO_MANY_ATTEMPTS": credbroker.LimitError,
    "UPSTREAM_UNAVAILABLE": credbroker.UpstreamError,
    "STORE_UNAVAILABLE": credbroker.StoreError,
    "UNKNOWN_SITE": credbroker.BrokerError,
}


class RefusingBroker(broker_pb2_grpc.CredentialBrokerServicer):
    """IssueScriptSession fails with the reason named by the script, packed as the broker
    packs it (RichStatus with an ErrorDetail in grpc-status-details-bin)."""

    def IssueScriptSession(self, request, context):
        detail = broker_pb2.ErrorDetail(reason=request.script_name, attempts_left=2)
        rich = broker_pb2.RichStatus(code=grpc.StatusCode.UNAUTHENTICATED.value[0],
                                     message="refused")
        rich.details.add().Pack(detail)
        context.set_trailing_metadata((("grpc-status-details-bin", rich.SerializeToString()),))
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "refused")


@pytest.fixture
def refusing():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    broker_pb2_grpc.add_CredentialBrokerServicer_to_server(RefusingBroker(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield "127.0.0.1:%d" % port
    server.stop(None)


def test_reasons_are_a_str_enum():
    assert issubclass(credbroker.Reason, str)
    assert credbroker.Reason("TOO_MANY_ATTEMPTS") is credbroker.Reason.TOO_MANY_ATTEMPTS
    assert credbroker.Reason.TOO_MANY_ATTEMPTS == "TOO_MANY_ATTEMPTS"
    assert str(credbroker.Reason.SSO_REQUIRED) == "SSO_REQUIRED"


def test_each_reason_raises_its_familys_exception(refusing):
    with credbroker.connect(refusing) as client:
        for reason, family in FAMILIES.items():
            with pytest.raises(credbroker.BrokerError) as raised:
                client.script_session(reason)
            assert type(raised.value) is family, reason
            assert raised.value.reason is credbroker.Reason(reason)
            assert raised.value.code == grpc.StatusCode.UNAUTHENTICATED
            assert raised.value.attempts_left == 2
        with pytest.raises(credbroker.BrokerError) as raised:
            client.script_session("A_REASON_FROM_A_NEWER_BROKER")
        assert type(raised.value) is credbroker.BrokerError
        assert raised.value.reason == "A_REASON_FROM_A_NEWER_BROKER"


def test_the_package_is_marked_typed():
    package = os.path.dirname(credbroker.__file__)
    assert os.path.isfile(os.path.join(package, "py.typed"))
    with open(os.path.join(os.path.dirname(package), "pyproject.toml")) as f:
        assert '"py.typed"' in f.read()


def test_aio_client_retries_deadlines_and_errors(flaky, refusing):  # noqa: F811
    servicer, address = flaky(2)
    once, once_address = flaky(1)

    async def scenario():
        with pytest.raises(ValueError, match="refusing plaintext"):
            aio.connect("192.0.2.10:50051", tls=False)
        async with aio.connect(address) as client:
            assert (await client.script_session("ingest-bot")).access_token == "tok"
            assert (await client.login("alice", "pw")).access_token == "tok"
        async with aio.connect(once_address) as client:
            with pytest.raises(credbroker.BrokerError) as raised:
                await client.login("bob", "pw", code="123456")
            assert raised.value.code == grpc.StatusCode.UNAVAILABLE
            with pytest.raises(credbroker.BrokerError) as raised:
                await client.refresh("refresh-1")
            assert raised.value.code == grpc.StatusCode.UNAVAILABLE
        async with aio.connect(refusing) as client:
            with pytest.raises(credbroker.LimitError):
                await client.script_session("TOO_MANY_ATTEMPTS")

    asyncio.run(scenario())
    assert servicer.attempts == {"IssueScriptSession": 3, "BeginLogin": 3}
    assert once.attempts == {"BeginLogin": 1, "RefreshSession": 1}
    assert 8.0 < servicer.time_remaining[0] <= 10.1


def test_aio_login_asks_an_async_code_provider(make_stack):
    from conftest import USERS, totp
    stack = make_stack()

    async def scenario():
        async def provide(prompt):
            assert prompt.attempts_left > 0
            return totp(USERS["grace"][1])
        async with aio.connect(stack.address) as client:
            session = await client.login("grace", USERS["grace"][0], provide)
            assert session.principal.user_login == "grace"
            await client.revoke(session.refresh_token)
            with pytest.raises(credbroker.AuthenticationError) as raised:
                await client.refresh(session.refresh_token)
            assert raised.value.reason is credbroker.Reason.REFRESH_TOKEN_INVALID

    asyncio.run(scenario())
