"""rejected_token: a script's token the site refused is reported to the broker, which drops it
from its shared cache and fetches one fresh token however many callers report it; a token that
is not the cached one changes nothing. Through script_session() (sync and asyncio) and through
the token sources' invalidate(token), for REST tokens and session tokens, counted at the site."""

import asyncio
import threading

import credbroker
from credbroker import aio
from conftest import SCRIPT_KEYS

KEY = SCRIPT_KEYS["ingest-bot"]
SESSION_TOKEN = credbroker.CredentialKind.SESSION_TOKEN


def test_invalidate_on_a_script_source_sends_rejected_token(stack):
    client = stack.connect()
    source = client.script_token_source("ingest-bot", KEY)
    refused = source.access_token()
    assert source.access_token() == refused
    assert stack.requests("client_credentials") == 1

    source.invalidate("not-the-current-token")  # ignored: nothing to report
    assert source.access_token() == refused
    source.invalidate(refused)
    fresh = source.access_token()
    assert fresh != refused
    assert stack.requests("client_credentials") == 2

    # Another caller still holding the refused token: the broker answers the one it holds.
    late = client.script_session("ingest-bot", KEY, rejected_token=refused)
    assert late.access_token == fresh
    assert stack.requests("client_credentials") == 2


def test_many_callers_reporting_one_token_cause_one_site_call(stack):
    client = stack.connect()
    refused = client.script_session("ingest-bot", KEY).access_token
    answers = [None] * 10
    barrier = threading.Barrier(len(answers))

    def report(i):
        barrier.wait()
        answers[i] = client.script_session("ingest-bot", KEY, rejected_token=refused)
    threads = [threading.Thread(target=report, args=(i,)) for i in range(len(answers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert len({a.access_token for a in answers}) == 1
    assert answers[0].access_token != refused
    assert stack.requests("client_credentials") == 2


def test_a_script_session_token_source_renews_through_rejected_token(stack):
    client = stack.connect()
    source = client.script_session_token_source("ingest-bot", KEY)
    refused = source.session_token()
    session = source.session
    assert session.principal.script_name == "ingest-bot" and session.site_url == stack.site_url
    assert not session.access_token and not session.refresh_token and session.expire_time is None
    assert source.session_token() == refused
    assert stack.api3()["by_method_and_auth"] == {"get_session_token.script": 1}

    source.invalidate(refused)
    assert source.session_token() not in ("", refused)
    assert stack.api3()["by_method_and_auth"] == {"get_session_token.script": 2}
    assert stack.requests("client_credentials") == 0


def test_the_asyncio_client_asks_for_session_tokens_and_reports_refused_ones(stack):
    async def run():
        async with aio.connect(stack.address) as client:
            first = await client.script_session("ingest-bot", KEY, kind=SESSION_TOKEN)
            again = await client.script_session("ingest-bot", KEY, kind=SESSION_TOKEN,
                                                rejected_token="some-other-token")
            fresh = await client.script_session("ingest-bot", KEY, kind=SESSION_TOKEN,
                                                rejected_token=first.session_token)
            return first, again, fresh

    first, again, fresh = asyncio.run(run())
    assert first.session_token and again.session_token == first.session_token
    assert fresh.session_token not in ("", first.session_token)
    assert stack.api3()["by_method_and_auth"] == {"get_session_token.script": 2}
