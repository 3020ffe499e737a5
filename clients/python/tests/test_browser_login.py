"""The browser-approved login (app session launcher) on an SSO fake site, where password logins
are refused: begin_browser_login / complete_browser_login (pending with wait=0 and with a wait,
approved, rejected, used up), the browser_login() helper for REST tokens with caller and broker
custody, concurrent completions sharing one result, the requests the broker refuses, and the
asyncio client. The person's approval comes from the fake site's control API; the exact codes
and reasons are asserted."""

import asyncio
import datetime
import threading
import time

import grpc
import pytest

import credbroker
from credbroker import aio
from conftest import USERS

SESSION_TOKEN = credbroker.CredentialKind.SESSION_TOKEN
FAST_POLLS = "browser_login:\n  poll_interval_ms: 100\n"


@pytest.fixture
def sso(make_stack):
    return make_stack(site_args=("--auth-mode", "sso"), broker_yaml=FAST_POLLS)


def site_requests(stack):
    return stack.control("/_fake/app_session_request")["requests"]


def decide(stack, **decision):
    """The person's answer to the newest launcher request (the site's id stays inside the
    broker; the fake lists it)."""
    stack.control("/_fake/app_session_request/%s" % site_requests(stack)[-1]["id"], decision)


def expect(code, reason, call, *args, **kwargs):
    with pytest.raises(credbroker.SecondFactorError) as raised:
        call(*args, **kwargs)
    assert (raised.value.code, raised.value.reason) == (code, reason)
    return raised.value


def test_a_person_approves_a_session_token_login_on_an_sso_site(sso):
    client = sso.connect()
    with pytest.raises(credbroker.AuthenticationError) as refused:  # passwords are refused
        client.login("erin", USERS["erin"][0])
    assert refused.value.reason == "SSO_REQUIRED"

    started = datetime.datetime.now(datetime.timezone.utc)
    challenge = client.begin_browser_login(app_name="ingest-tool", machine_id="ws-042",
                                           kind=SESSION_TOKEN)
    [at_site] = site_requests(sso)
    assert challenge.approval_url == "%s/app_session_request/%s" % (sso.site_url, at_site["id"])
    assert at_site["id"] not in challenge.request_id
    assert (at_site["app_name"], at_site["machine_id"]) == ("ingest-tool", "ws-042")
    assert 175 <= (challenge.expire_time - started).total_seconds() <= 185

    pending = expect(grpc.StatusCode.FAILED_PRECONDITION, "APPROVAL_PENDING",
                     client.complete_browser_login, challenge.request_id, wait=0)
    assert pending.retry_after is not None and pending.retry_after.total_seconds() > 0
    begun = time.monotonic()
    expect(grpc.StatusCode.FAILED_PRECONDITION, "APPROVAL_PENDING",
           client.complete_browser_login, challenge.request_id, wait=1)
    assert time.monotonic() - begun >= 0.9

    decide(sso, approve_as="erin")
    session = client.complete_browser_login(challenge.request_id)
    assert session.session_token and not session.access_token and not session.refresh_token
    assert session.principal.user_login == "erin" and session.site_url == sso.site_url
    expect(grpc.StatusCode.FAILED_PRECONDITION, "CHALLENGE_NOT_FOUND",
           client.complete_browser_login, challenge.request_id, wait=0)
    assert sso.stats()["launcher"]["create"] == 1


def test_browser_login_answers_rest_tokens_with_either_custody(sso):
    client = sso.connect()
    shown = []

    def show(challenge):  # the person opens the page and approves
        shown.append(challenge.approval_url)
        decide(sso, approve_as="frank")

    session = client.browser_login(show)
    assert len(shown) == 1 and shown[0].startswith(sso.site_url + "/app_session_request/")
    assert session.access_token and session.refresh_token and not session.session_token
    assert session.principal.user_login == "frank"
    held = client.browser_login(show, custody=credbroker.Custody.BROKER)
    assert len(held.session_id) == 64 and not held.refresh_token
    assert client.held_session_token_source(held.session_id).access_token()
    assert sso.requests("session_token") == 2 and sso.requests("password") == 0


def test_requests_the_broker_refuses(sso):
    client = sso.connect()
    with pytest.raises(credbroker.BrokerError) as held_token:
        client.begin_browser_login(kind=SESSION_TOKEN, custody=credbroker.Custody.BROKER)
    challenge = client.begin_browser_login()
    with pytest.raises(credbroker.BrokerError) as long_wait:
        client.complete_browser_login(challenge.request_id, wait=61)
    for refused in (held_token.value, long_wait.value):
        assert (refused.code, refused.reason) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                  "INVALID_REQUEST")
    assert sso.stats()["launcher"]["create"] == 1


def test_a_rejected_request_is_gone(sso):
    client = sso.connect()
    challenge = client.begin_browser_login()
    decide(sso, reject=True)
    expect(grpc.StatusCode.FAILED_PRECONDITION, "CHALLENGE_NOT_FOUND",
           client.complete_browser_login, challenge.request_id, wait=5)
    expect(grpc.StatusCode.FAILED_PRECONDITION, "CHALLENGE_NOT_FOUND",
           client.complete_browser_login, "0" * 64, wait=0)


def test_a_wait_longer_than_the_clients_timeout_is_not_cut_short(sso):
    client = sso.connect(timeout=1)
    challenge = client.begin_browser_login()
    expect(grpc.StatusCode.FAILED_PRECONDITION, "APPROVAL_PENDING",
           client.complete_browser_login, challenge.request_id, wait=2)


def test_concurrent_completions_get_the_same_session(sso):
    client = sso.connect()
    challenge = client.begin_browser_login(kind=SESSION_TOKEN)
    sessions = [None] * 4

    def complete(i):
        sessions[i] = client.complete_browser_login(challenge.request_id, wait=10)
    threads = [threading.Thread(target=complete, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    # Give the four calls time to reach the broker: an approval before a call arrives would
    # leave that call a used-up request. Nothing observable says they are all there.
    time.sleep(0.5)
    decide(sso, approve_as="grace")
    for t in threads:
        t.join(30)
    assert all(s is not None for s in sessions)
    assert len({s.session_token for s in sessions}) == 1
    assert {s.principal.user_login for s in sessions} == {"grace"}


def test_the_asyncio_client_logs_in_by_browser(sso):
    async def run():
        async with aio.connect(sso.address) as client:
            async def show(challenge):
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: decide(sso, approve_as="heidi"))
            session = await client.browser_login(show, kind=SESSION_TOKEN)
            challenge = await client.begin_browser_login()
            with pytest.raises(credbroker.SecondFactorError) as pending:
                await client.complete_browser_login(challenge.request_id, wait=0)
            return session, pending.value

    session, pending = asyncio.run(run())
    assert session.session_token and session.principal.user_login == "heidi"
    assert pending.reason == credbroker.Reason.APPROVAL_PENDING
