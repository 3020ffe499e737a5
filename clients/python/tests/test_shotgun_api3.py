"""credbroker.shotgun(): the real shotgun_api3 (3.10) against the real broker and the fake site,
with session tokens from the broker. A script with no key (the keyring) and a person with 2FA
read projects; an expired script token is renewed once through rejected_token (one site call for
two tools), a person's refused token raises ShotgunSessionExpired or is renewed by `renew`, all
with exact /api3/json counts at the site; with a scripted token source, a refused renewal is
raised as it comes and an unchanged token is not tried twice. Uses an installed shotgun_api3
first, else the third-party copy beside the repository; skipped when neither is there."""

import sys

import pytest

import credbroker
from conftest import USERS, keyring_yaml, shotgun_api3_path, totp, totp_provider

_PATH = shotgun_api3_path()
if _PATH is None:
    pytest.skip("shotgun_api3 is neither installed nor in ../shared/third_party",
                allow_module_level=True)
if _PATH:
    sys.path.insert(0, _PATH)
import shotgun_api3  # noqa: E402

PROJECTS = [{"type": "Project", "id": 1, "name": "Feature Film A"},
            {"type": "Project", "id": 2, "name": "Commercial B"}]


def calls(stack):
    """The /api3/json calls at the site, per "method.auth", without the unauthenticated
    `info` every new Shotgun makes."""
    return {k: v for k, v in stack.api3()["by_method_and_auth"].items() if k != "info.none"}


@pytest.fixture
def keyring_stack(make_stack, tmp_path):
    return make_stack(broker_yaml=keyring_yaml(tmp_path))


@pytest.fixture
def shotgun(make_stack):
    """credbroker.shotgun, closing each Shotgun's keep-alive connection before the site stops
    (the site's graceful stop would wait it out)."""
    made = []

    def make(*args, **kwargs):
        made.append(credbroker.shotgun(*args, **kwargs))
        return made[-1]
    yield make
    for sg in made:
        sg.close()


def test_a_script_with_no_key_and_no_password_reads_projects(keyring_stack, shotgun):
    client = keyring_stack.connect()
    sg = shotgun(client, script="ingest-bot")

    assert isinstance(sg, shotgun_api3.Shotgun)
    assert sg.base_url == keyring_stack.site_url
    assert sg.config.script_name is None and sg.config.api_key is None
    assert sg.find("Project", [], ["name"]) == PROJECTS
    assert sg.find_one("Project", [["id", "is", 2]], ["name"]) == PROJECTS[1]
    # A second tool on the same script is served from the broker's cache.
    other = shotgun(keyring_stack.connect(), script="ingest-bot")
    assert other.config.session_token == sg.config.session_token
    assert other.find("Project", [], ["name"]) == PROJECTS
    assert calls(keyring_stack) == {"get_session_token.script": 1, "read.session_token": 3}
    assert keyring_stack.requests("client_credentials") == 0


def test_a_person_with_two_factor_gets_a_shotgun_without_keeping_the_password(stack, shotgun):
    client = stack.connect()
    prompts = []
    sg = shotgun(client, username="bob", password=USERS["bob"][0],
                            code_provider=totp_provider("bob", prompts))

    assert [p.attempts_left for p in prompts] == [5]
    assert sg.token_source.session.principal.user_login == "bob"
    assert sg.config.user_login is None and sg.config.user_password is None
    assert sg.find("Project", [], ["name"]) == PROJECTS
    # The login asked the site for a session token twice (the 2FA challenge, then the code),
    # over /api3/json only.
    assert calls(stack) == {"get_session_token.user": 2, "read.session_token": 1}
    assert stack.requests("password") == 0

    # A session-token Session from a login with the code up front works the same way.
    session = client.login("carol", USERS["carol"][0], code=totp(USERS["carol"][1]),
                           kind=credbroker.CredentialKind.SESSION_TOKEN)
    assert session.session_token and not session.access_token and session.expire_time is None
    assert session.site_url == stack.site_url
    assert shotgun(None, session=session).find("Project", [], ["name"]) == PROJECTS


def test_an_expired_script_token_is_renewed_once_through_rejected_token(keyring_stack, shotgun):
    keyring_stack.settings(session_token_lifetime=600)
    first = shotgun(keyring_stack.connect(), script="ingest-bot")
    second = shotgun(keyring_stack.connect(), script="ingest-bot")
    old = first.config.session_token
    assert first.find("Project", []) and second.find("Project", [])
    assert calls(keyring_stack) == {"get_session_token.script": 1, "read.session_token": 2}

    keyring_stack.set_clock(601)  # the site now refuses the token (fault 102)
    assert first.find("Project", [], ["name"]) == PROJECTS
    fresh = first.config.session_token
    assert fresh != old
    assert calls(keyring_stack) == {"get_session_token.script": 2, "read.session_token": 4}

    # The other tool reports the same refused token: the broker already holds the fresh one
    # and answers it without asking the site again.
    assert second.find("Project", [], ["name"]) == PROJECTS
    assert second.config.session_token == fresh
    assert calls(keyring_stack) == {"get_session_token.script": 2, "read.session_token": 6}


def test_a_persons_refused_token_raises_session_expired_unless_renew_logs_in(stack, shotgun):
    client = stack.connect()
    stack.settings(session_token_lifetime=600)
    password, secret = USERS["dave"]
    session = client.login("dave", password, code=totp(secret),
                           kind=credbroker.CredentialKind.SESSION_TOKEN)
    plain = shotgun(client, session=session)
    renewals = []

    def renew():
        renewals.append(1)
        # The site clock moved on: a backup code, which does not depend on it.
        return client.login("dave", password, code="1958-7346",
                            kind=credbroker.CredentialKind.SESSION_TOKEN)
    renewing = shotgun(client, session=session, renew=renew)
    assert plain.find("Project", []) and renewing.find("Project", [])
    before = calls(stack)

    stack.set_clock(601)
    with pytest.raises(credbroker.ShotgunSessionExpired) as raised:
        plain.find("Project", [])
    assert isinstance(raised.value, shotgun_api3.AuthenticationFault)
    assert isinstance(raised.value, credbroker.SessionTokenExpired)
    assert "dave" in str(raised.value) and session.session_token not in str(raised.value)
    assert isinstance(raised.value.__cause__, shotgun_api3.AuthenticationFault)
    assert calls(stack) == dict(before, **{"read.session_token": 3})

    assert renewing.find("Project", [], ["name"]) == PROJECTS
    assert renewals == [1]
    assert renewing.config.session_token not in ("", session.session_token)
    # One refused read, the renewing login, the read again.
    assert calls(stack) == dict(before, **{
        "read.session_token": 5,
        "get_session_token.user": before["get_session_token.user"] + 1})


class ScriptedSource:
    """A token source handing out the given tokens in turn, one more after each
    invalidate(): the renewal logic on its own, without the broker."""

    def __init__(self, site_url, tokens):
        self.session = credbroker.Session(session_token=tokens[0], site_url=site_url)
        self._next = iter(tokens[1:])
        self.invalidated = []

    def session_token(self):
        return self.session.session_token

    def invalidate(self, token):
        self.invalidated.append(token)
        self.session = credbroker.Session(session_token=next(self._next),
                                          site_url=self.session.site_url)


def test_a_refused_renewal_is_raised_as_it_comes(stack, shotgun):
    source = ScriptedSource(stack.site_url, ["refused-token-1", "refused-token-2"])
    sg = shotgun(None, tokens=source)
    with pytest.raises(shotgun_api3.AuthenticationFault) as raised:
        sg.find("Project", [])
    assert not isinstance(raised.value, credbroker.ShotgunSessionExpired)
    assert source.invalidated == ["refused-token-1"]
    assert calls(stack) == {"read.session_token": 2}


def test_an_unchanged_token_is_not_tried_twice(stack, shotgun):
    source = ScriptedSource(stack.site_url, ["refused-token-1", "refused-token-1"])
    with pytest.raises(shotgun_api3.AuthenticationFault):
        shotgun(None, tokens=source).find("Project", [])
    assert source.invalidated == ["refused-token-1"]
    assert calls(stack) == {"read.session_token": 1}


def test_shotgun_objects_on_one_source_share_its_renewal(stack, shotgun):
    good = stack.control("/_fake/session_token", {"script": "ingest-bot"})["session_token"]
    source = ScriptedSource(stack.site_url, ["refused-token-1", good])
    first = shotgun(None, tokens=source)
    second = shotgun(None, tokens=source)
    assert first.find("Project", [], ["name"]) == PROJECTS
    assert second.find("Project", [], ["name"]) == PROJECTS
    assert source.invalidated == ["refused-token-1"]
    assert second.config.session_token == good
    assert calls(stack) == {"read.session_token": 3}


def test_the_arguments_name_exactly_one_way_in(stack, shotgun):
    client = stack.connect()
    with pytest.raises(ValueError, match="exactly one"):
        shotgun(client)
    with pytest.raises(ValueError, match="exactly one"):
        shotgun(client, script="ingest-bot", username="bob")
    with pytest.raises(ValueError, match="no session token"):
        shotgun(client, session=credbroker.Session(access_token="rest-only"))
    assert calls(stack) == {}
