"""SessionTokenSource and ScriptTokenSource: refresh before expiry, single flight under
concurrency (counted at the fake site), rotated refresh tokens, shared failures, caching."""

import collections
import threading
import time

import grpc

import pytest

from credbroker import BrokerClient, BrokerError, Reason, ScriptTokenSource, SessionTokenSource
from conftest import login


class Clock:
    """time.time() shifted by a settable offset: lets a test age the tokens."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self):
        return time.time() + self.offset


def in_threads(count, function):
    barrier = threading.Barrier(count)
    results, errors = [None] * count, [None] * count

    def run(i):
        barrier.wait()
        try:
            results[i] = function()
        except Exception as error:  # collected for the test to check
            errors[i] = error
    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


def test_session_source_refreshes_near_expiry_once_for_ten_threads(make_stack):
    stack = make_stack(site_args=("--token-lifetime", "70"))
    client = stack.connect()
    session = login(client, "erin")
    clock = Clock()
    source = SessionTokenSource(client, session, margin=60, clock=clock)

    assert source.access_token() == session.access_token  # 70 s left > 60 s margin
    assert stack.requests("refresh_token") == 0

    stack.settings(token_lifetime=600)  # the refreshed token will be fresh for a while
    stack.faults(latency_ms=300)        # keep the refresh in flight while the threads pile up
    clock.offset = 15                   # 55 s left < 60 s margin
    tokens, errors = in_threads(10, source.access_token)

    assert errors == [None] * 10
    assert len(set(tokens)) == 1 and tokens[0] != session.access_token
    assert stack.requests("refresh_token") == 1
    assert source.refresh_token != session.refresh_token
    assert source.session.principal.user_login == "erin"  # kept from the login

    stack.faults(latency_ms=0)
    assert source.access_token() == tokens[0]
    assert stack.requests("refresh_token") == 1
    # The rotated refresh token is the live one; the login's was spent.
    with pytest.raises(BrokerError) as raised:
        client.refresh(session.refresh_token)
    assert raised.value.reason == Reason.REFRESH_TOKEN_INVALID
    client.revoke(source.refresh_token)


def test_session_source_shares_a_refresh_failure_with_every_waiter(stack):
    client = stack.connect()
    session = login(client, "frank")
    client.revoke(session.refresh_token)
    before = stack.requests("refresh_token")
    clock = Clock()
    clock.offset = 10 * 60  # expired
    source = SessionTokenSource(client, session, clock=clock)
    stack.faults(latency_ms=300)

    tokens, errors = in_threads(5, source.access_token)

    assert tokens == [None] * 5
    assert all(isinstance(e, BrokerError) and e.reason == Reason.REFRESH_TOKEN_INVALID
               for e in errors)
    assert stack.requests("refresh_token") == before + 1


class CallCounter(grpc.UnaryUnaryClientInterceptor):
    """Counts the calls a client makes to the broker, by method name."""

    def __init__(self):
        self.calls = collections.Counter()

    def intercept_unary_unary(self, continuation, details, request):
        self.calls[details.method.rsplit("/", 1)[-1]] += 1
        return continuation(details, request)


def test_script_source_caches_until_the_margin(make_stack):
    # The broker shares a script token for at least half its life (3 s of 6 here); the
    # source keeps it until `margin` (1 s) is left, so from 3 s to 5 s only the source's
    # own cache explains a site that was asked once.
    stack = make_stack(site_args=("--token-lifetime", "6"),
                       broker_yaml="script_tokens:\n  min_validity_seconds: 3600\n")
    counter = CallCounter()
    channel = grpc.insecure_channel(stack.address)
    client = BrokerClient(grpc.intercept_channel(channel, counter))
    clock = Clock()
    source = ScriptTokenSource(client, "ingest-bot", "ingest-bot-key-0001", margin=1,
                               clock=clock)
    assert source.session is None

    first = source.access_token()
    for _ in range(5):
        assert source.access_token() == first
    assert counter.calls["IssueScriptSession"] == 1
    assert source.session.principal.script_name == "ingest-bot"
    assert not source.session.refresh_token

    time.sleep(3.3)  # the broker's cache no longer serves this token; the source still does
    assert source.access_token() == first
    assert stack.requests("client_credentials") == 1
    assert counter.calls["IssueScriptSession"] == 1

    clock.offset = 2  # under 1 s left for the source
    stack.faults(latency_ms=300)
    tokens, errors = in_threads(10, source.access_token)
    assert errors == [None] * 10 and len(set(tokens)) == 1 and tokens[0] != first
    assert stack.requests("client_credentials") == 2
    assert counter.calls["IssueScriptSession"] == 2

    source.invalidate("not the current token")  # ignored
    assert source.access_token() == tokens[0]
    source.invalidate(tokens[0])  # the site refused it (a 401): ask the broker again
    source.access_token()
    assert counter.calls["IssueScriptSession"] == 3
    channel.close()


def test_script_source_raises_the_typed_error(stack):
    source = stack.connect().script_token_source("render-farm", "wrong-key")
    with pytest.raises(BrokerError) as raised:
        source.access_token()
    assert raised.value.reason == Reason.INVALID_SCRIPT_KEY
    assert stack.requests("client_credentials") == 1


def test_a_session_without_refresh_token_is_refused(stack):
    client = stack.connect()
    script = client.script_session("render-farm", "render-farm-key-0002", sudo_as="alice")
    assert script.principal.sudo_as_login == "alice"
    with pytest.raises(ValueError):
        SessionTokenSource(client, script)
