"""exchange_session_token(): a ShotGrid session token (minted at the fake site, or from a
session-token login) turned into REST tokens that work at the site, with caller or broker
custody; refused, empty and oversized tokens answer their exact code and reason, and only
accepted shapes reach the site (grant counts at the fake site)."""

import asyncio
import json
import urllib.request

import grpc
import pytest

import credbroker
from credbroker import aio
from conftest import USERS, totp


def projects(stack, access_token):
    request = urllib.request.Request(stack.site_url + "/api/v1/entity/projects",
                                     headers={"Authorization": "Bearer " + access_token})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return sorted(p["attributes"]["name"] for p in json.load(answer)["data"])


def test_a_minted_session_token_becomes_rest_tokens(stack):
    client = stack.connect()
    token = stack.control("/_fake/session_token", {"login": "frank"})["session_token"]
    session = client.exchange_session_token(token)

    assert session.access_token and session.refresh_token and session.token_type == "Bearer"
    assert session.expire_time is not None and not session.session_token
    assert session.principal == credbroker.Principal()  # the site's answer names no one
    assert session.site == "main" and session.site_url == stack.site_url
    assert projects(stack, session.access_token) == ["Commercial B", "Feature Film A"]
    # Using a session token does not consume it: a second exchange works too.
    held = client.exchange_session_token(token, custody=credbroker.Custody.BROKER)
    assert len(held.session_id) == 64 and not held.refresh_token
    tokens = client.held_session_token_source(held.session_id)
    assert projects(stack, tokens.access_token()) == ["Commercial B", "Feature Film A"]
    assert stack.requests("session_token") == 2


def test_a_session_token_login_then_rest_tokens(stack):
    async def run():
        async with aio.connect(stack.address) as client:
            login = await client.login("grace", USERS["grace"][0], code=totp(USERS["grace"][1]),
                                       kind=credbroker.CredentialKind.SESSION_TOKEN)
            return login, await client.exchange_session_token(login.session_token)

    login, session = asyncio.run(run())
    assert login.principal.user_login == "grace" and login.session_token
    assert projects(stack, session.access_token) == ["Commercial B", "Feature Film A"]
    assert stack.requests("session_token") == 1 and stack.requests("password") == 0


@pytest.mark.parametrize("token, code, reason, family, at_site", [
    ("0123456789abcdef0123456789abcdef", grpc.StatusCode.UNAUTHENTICATED,
     "INVALID_CREDENTIALS", credbroker.AuthenticationError, 1),
    ("", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST", credbroker.BrokerError, 0),
    ("x" * 4097, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST", credbroker.BrokerError, 0),
    ("has space", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST", credbroker.BrokerError, 0),
], ids=["refused", "empty", "oversized", "not_printable"])
def test_refused_and_malformed_tokens(stack, token, code, reason, family, at_site):
    with pytest.raises(family) as raised:
        stack.connect().exchange_session_token(token)
    assert raised.value.code == code and raised.value.reason == reason
    assert token[:8] not in raised.value.message or not token
    assert stack.requests("session_token") == at_site
