"""HeldSessionTokenSource (broker custody) against the real broker: ten threads share one
GetAccessToken and one site refresh, the cached token until invalidate(), revoke() and
SESSION_NOT_FOUND after it, REFRESH_TOKEN_INVALID then SESSION_NOT_FOUND for a session the
site no longer refreshes, BearerAuth with a held session, and the asyncio source."""

import asyncio
import threading

import grpc
import pytest
import requests

from credbroker import AuthenticationError, Custody, HeldSessionTokenSource, Reason, aio
from credbroker.requests_auth import BearerAuth
from conftest import Stack, login


def held_login(client, user):
    session = login(client, user, custody=Custody.BROKER)
    assert len(session.session_id) == 64 and session.refresh_token == ""
    return session


class CountingClient:
    """Counts the client's GetAccessToken calls; everything else goes to the client."""

    def __init__(self, client):
        self._client = client
        self.get_access_token_calls = 0

    def get_access_token(self, session_id, min_validity):
        self.get_access_token_calls += 1
        return self._client.get_access_token(session_id, min_validity)

    def __getattr__(self, name):
        return getattr(self._client, name)


@pytest.fixture(scope="module")
def stack100(tmp_path_factory):
    # One stack for the module (starting one per test would cost seconds). Tokens live 100 s:
    # min_validity 120 makes the broker refresh, 60 does not.
    stack = Stack(tmp_path_factory.mktemp("held"), site_args=("--token-lifetime", "100"))
    yield stack
    stack.stop()


def test_ten_threads_share_one_broker_refresh(stack100):
    client = stack100.connect()
    session = held_login(client, "erin")
    counting = CountingClient(client)
    source = HeldSessionTokenSource(counting, session.session_id, min_validity=120)
    before = stack100.requests("refresh_token")
    stack100.faults(latency_ms=1000)  # keep the one call in flight while the threads pile up

    barrier = threading.Barrier(10)
    tokens, errors = [None] * 10, [None] * 10

    def run(i):
        barrier.wait()
        try:
            tokens[i] = source.access_token()
        except Exception as error:  # collected for the asserts below
            errors[i] = error
    threads = [threading.Thread(target=run, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    stack100.faults(latency_ms=0)

    assert errors == [None] * 10
    assert len(set(tokens)) == 1 and tokens[0] != session.access_token
    assert counting.get_access_token_calls == 1
    assert stack100.requests("refresh_token") == before + 1


def test_cached_token_until_invalidated(stack100):
    client = stack100.connect()
    session = held_login(client, "frank")
    counting = CountingClient(client)
    source = HeldSessionTokenSource(counting, session.session_id, min_validity=60)
    before = stack100.requests("refresh_token")
    first = source.access_token()
    assert source.access_token() == first
    assert counting.get_access_token_calls == 1

    source.invalidate()
    # The broker's token still has about 100 s: the same one, and no site refresh.
    assert source.access_token() == first
    assert counting.get_access_token_calls == 2
    assert stack100.requests("refresh_token") == before


def test_revoked_session_is_not_found(stack100):
    client = stack100.connect()
    session = held_login(client, "heidi")  # one login per user: a TOTP code is single use
    source = HeldSessionTokenSource(client, session.session_id, min_validity=60)
    source.access_token()
    source.revoke()
    source.revoke()  # idempotent
    with pytest.raises(AuthenticationError) as raised:
        source.access_token()
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    assert raised.value.reason == Reason.SESSION_NOT_FOUND
    assert session.session_id not in str(raised.value)


def test_bearer_auth_with_a_held_session(stack100):
    client = stack100.connect()
    source = client.held_session_token_source(held_login(client, "grace").session_id)
    reads = stack100.stats()["entity_reads"]
    answer = requests.get(stack100.site_url + "/api/v1/entity/projects",
                          auth=BearerAuth(source), timeout=10)
    assert answer.status_code == 200 and answer.history == []
    assert answer.request.headers["Authorization"] == "Bearer " + source.session.access_token
    assert stack100.stats()["entity_reads"] == reads + 1


def test_empty_session_id_is_refused(stack100):
    with pytest.raises(ValueError):
        HeldSessionTokenSource(stack100.connect(), "")


def test_asyncio_source_shares_one_call_and_ends_with_revoke(stack100):
    session = held_login(stack100.connect(), "alice")
    before = stack100.requests("refresh_token")

    async def run():
        async with aio.connect(stack100.address) as client:
            counting = CountingClient(client)
            source = aio.AsyncHeldSessionTokenSource(counting, session.session_id,
                                                     min_validity=120)
            stack100.faults(latency_ms=1000)
            try:
                tokens = await asyncio.gather(*(source.access_token() for _ in range(10)))
            finally:
                stack100.faults(latency_ms=0)
            assert len(set(tokens)) == 1 and tokens[0] != session.access_token
            assert counting.get_access_token_calls == 1
            assert stack100.requests("refresh_token") == before + 1
            await source.revoke()
            with pytest.raises(AuthenticationError) as raised:
                await source.access_token()
            assert raised.value.code == grpc.StatusCode.NOT_FOUND
            assert raised.value.reason == Reason.SESSION_NOT_FOUND
            assert counting.get_access_token_calls == 2
    asyncio.run(run())


def test_a_session_the_site_no_longer_refreshes_is_gone(stack100):
    client = stack100.connect()
    session = held_login(client, "bob")
    source = HeldSessionTokenSource(client, session.session_id, min_validity=120)
    before = stack100.requests("refresh_token")
    stack100.set_clock(25 * 3600)  # the site's refresh tokens live 24 h: this one has expired
    try:
        with pytest.raises(AuthenticationError) as raised:
            source.access_token()
        assert raised.value.code == grpc.StatusCode.UNAUTHENTICATED
        assert raised.value.reason == Reason.REFRESH_TOKEN_INVALID
        with pytest.raises(AuthenticationError) as raised:
            source.access_token()
        assert raised.value.code == grpc.StatusCode.NOT_FOUND
        assert raised.value.reason == Reason.SESSION_NOT_FOUND
        assert stack100.requests("refresh_token") == before + 1
    finally:
        stack100.set_clock(0)
