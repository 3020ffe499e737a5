"""credbroker.requests_auth.BearerAuth against the fake site's REST API: the bearer header, one
refresh and retry after a 401, and no retry loop when the site keeps refusing."""

import itertools

import requests

from credbroker.requests_auth import BearerAuth
from conftest import login


def projects(stack, auth):
    return requests.get(stack.site_url + "/api/v1/entity/projects", auth=auth, timeout=10)


def test_bearer_auth_reads_projects_and_retries_once_after_a_401(stack):
    client = stack.connect()
    source = client.session_token_source(login(client, "grace"))
    auth = BearerAuth(source)

    answer = projects(stack, auth)
    assert answer.status_code == 200 and answer.history == []
    assert answer.json()["data"][0]["attributes"]["name"] == "Feature Film A"
    assert answer.request.headers["Authorization"] == "Bearer " + source.session.access_token
    assert stack.stats()["entity_reads"] == 1

    # The site's clock jumps past the token's expiry: the site answers 401 while the
    # source still believes its token good. The auth refreshes once and retries.
    old_token = source.session.access_token
    stack.set_clock(700)
    with requests.Session() as http:
        http.auth = auth
        answer = http.get(stack.site_url + "/api/v1/entity/projects", timeout=10)
        assert answer.status_code == 200
        assert [r.status_code for r in answer.history] == [401]
        assert source.session.access_token != old_token
        assert answer.request.headers["Authorization"] == "Bearer " + source.session.access_token
        assert stack.requests("refresh_token") == 1
        assert stack.stats()["entity_reads"] == 3

        assert http.get(stack.site_url + "/api/v1/entity/projects", timeout=10).ok
    assert stack.requests("refresh_token") == 1
    assert stack.stats()["entity_reads"] == 4


def test_script_tokens_work_the_same_way(stack):
    source = stack.connect().script_token_source("render-farm", "render-farm-key-0002")
    answer = projects(stack, BearerAuth(source))
    assert answer.status_code == 200 and len(answer.json()["data"]) == 2
    assert stack.requests("client_credentials") == 1


class FixedTokens:
    """A token source whose tokens the site never accepts."""

    def __init__(self, tokens):
        self._tokens = tokens
        self.current = next(tokens)
        self.invalidated = []

    def access_token(self):
        return self.current

    def invalidate(self, token):
        self.invalidated.append(token)
        self.current = next(self._tokens)


def test_a_site_that_keeps_refusing_gets_exactly_one_retry(stack):
    source = FixedTokens(("bogus-%d" % i for i in itertools.count()))
    answer = projects(stack, BearerAuth(source))
    assert answer.status_code == 401
    assert [r.status_code for r in answer.history] == [401]
    assert source.invalidated == ["bogus-0"]
    assert answer.request.headers["Authorization"] == "Bearer bogus-1"
    assert stack.stats()["entity_reads"] == 2


def test_no_retry_when_the_source_has_nothing_new(stack):
    source = FixedTokens(itertools.repeat("bogus"))
    answer = projects(stack, BearerAuth(source))
    assert answer.status_code == 401 and answer.history == []
    assert stack.stats()["entity_reads"] == 1
