"""Login flows through credbroker.BrokerClient.login against the real broker and fake site:
two-step login, a wrong code re-asked, attempts used up, wrong password, refresh and revoke."""

import datetime

import grpc
import pytest

import credbroker
from credbroker import BrokerError, Reason
from conftest import USERS, totp, totp_provider, wrong_code


def test_two_step_login_then_refresh_and_revoke(stack):
    client = stack.connect()
    prompts = []
    session = client.login("alice", USERS["alice"][0], totp_provider("alice", prompts))

    assert len(prompts) == 1
    assert prompts[0].attempts_left == 5 and prompts[0].previous_error is None
    assert prompts[0].username == "alice"
    assert prompts[0].expire_time > datetime.datetime.now(datetime.timezone.utc)
    assert session.principal.user_login == "alice" and session.token_type == "Bearer"
    assert session.access_token and session.refresh_token
    assert 500 < session.expires_in() <= 600
    assert "access_token" not in repr(session) and session.access_token not in repr(session)
    assert stack.requests("password") == 2  # BeginLogin, then the grant with the code

    refreshed = client.refresh(session.refresh_token)
    assert refreshed.access_token != session.access_token
    assert refreshed.refresh_token != session.refresh_token
    with pytest.raises(BrokerError) as raised:
        client.refresh(session.refresh_token)  # spent
    assert raised.value.reason == Reason.REFRESH_TOKEN_INVALID
    assert raised.value.code == grpc.StatusCode.UNAUTHENTICATED

    client.revoke(refreshed.refresh_token)
    client.revoke(refreshed.refresh_token)  # idempotent
    with pytest.raises(BrokerError) as raised:
        client.refresh(refreshed.refresh_token)
    assert raised.value.reason == "REFRESH_TOKEN_INVALID"
    assert stack.requests("refresh_token") == 5


def test_wrong_code_is_asked_again_then_succeeds(stack):
    client = stack.connect()
    secret = USERS["bob"][1]
    prompts = []

    def provide(prompt):
        prompts.append(prompt)
        return wrong_code(secret) if len(prompts) == 1 else totp(secret)

    session = client.login("bob", USERS["bob"][0], provide)
    assert session.principal.user_login == "bob"
    assert [p.attempts_left for p in prompts] == [5, 4]
    assert prompts[0].previous_error is None
    error = prompts[1].previous_error
    assert isinstance(error, BrokerError)
    assert error.reason == Reason.INVALID_SECOND_FACTOR and error.attempts_left == 4
    assert error.code == grpc.StatusCode.UNAUTHENTICATED
    assert stack.requests("password") == 3


def test_used_up_attempts_raise_with_the_reason(make_stack):
    stack = make_stack(broker_yaml="challenge:\n  max_attempts: 3\n")
    client = stack.connect()
    prompts = []

    def provide(prompt):
        prompts.append(prompt)
        return wrong_code(USERS["carol"][1])

    with pytest.raises(BrokerError) as raised:
        client.login("carol", USERS["carol"][0], provide)
    assert raised.value.reason == Reason.INVALID_SECOND_FACTOR
    assert raised.value.attempts_left == 0
    assert [p.attempts_left for p in prompts] == [3, 2, 1]
    assert stack.requests("password") == 4


def test_default_five_attempts_then_the_person_is_locked_out(stack):
    client = stack.connect()
    prompts = []

    def provide(prompt):
        prompts.append(prompt)
        return wrong_code(USERS["heidi"][1])

    with pytest.raises(BrokerError) as raised:
        client.login("heidi", USERS["heidi"][0], provide)
    assert raised.value.reason == Reason.INVALID_SECOND_FACTOR
    assert raised.value.attempts_left == 0
    assert [p.attempts_left for p in prompts] == [5, 4, 3, 2, 1]
    assert [p.previous_error.attempts_left for p in prompts[1:]] == [4, 3, 2, 1]
    assert stack.requests("password") == 6

    with pytest.raises(BrokerError) as raised:  # 5 failures: the budget is spent
        client.login("heidi", USERS["heidi"][0], provide)
    assert raised.value.reason == Reason.TOO_MANY_ATTEMPTS
    assert raised.value.retry_after > datetime.timedelta(0)
    assert len(prompts) == 5 and stack.requests("password") == 6


def test_wrong_password_and_then_too_many_attempts(stack):
    client = stack.connect()
    asked = []
    for _ in range(5):
        with pytest.raises(BrokerError) as raised:
            client.login("dave", "not-the-password", asked.append)
        assert raised.value.reason == Reason.INVALID_CREDENTIALS
        assert raised.value.code == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(BrokerError) as raised:
        client.login("dave", "not-the-password", asked.append)
    assert raised.value.reason == Reason.TOO_MANY_ATTEMPTS
    assert raised.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert raised.value.retry_after > datetime.timedelta(0)
    assert not raised.value.retryable
    assert asked == []  # the code provider is never asked
    assert stack.requests("password") == 5


def test_request_errors_carry_their_reason(stack):
    client = stack.connect()
    with pytest.raises(BrokerError) as raised:
        client.login("erin", USERS["erin"][0], totp_provider("erin"), site="nowhere")
    assert (raised.value.code, raised.value.reason) == (grpc.StatusCode.NOT_FOUND,
                                                        Reason.UNKNOWN_SITE)
    with pytest.raises(BrokerError) as raised:
        client.login("", "x", totp_provider("erin"))
    assert raised.value.reason == Reason.INVALID_REQUEST
    assert stack.stats()["requests"]["password"] == 0


def test_an_unreachable_broker_is_a_retryable_error_without_reason(stack):
    client = credbroker.connect("127.0.0.1:1", timeout=2)
    with pytest.raises(BrokerError) as raised:
        client.refresh("whatever")
    client.close()
    assert raised.value.code == grpc.StatusCode.UNAVAILABLE
    assert raised.value.reason == "" and raised.value.retryable


def test_the_code_up_front_logs_in_in_one_call(stack):
    client = stack.connect()
    before = stack.requests("password")
    session = client.login("heidi", USERS["heidi"][0], code=totp(USERS["heidi"][1]))
    assert session.principal.user_login == "heidi" and session.refresh_token
    assert stack.requests("password") - before == 1  # no challenge round trip
    # Broker custody: a session id and no refresh token (a backup code, as the TOTP code is spent).
    held = client.login("heidi", USERS["heidi"][0], code="8714-2295",
                        custody=credbroker.Custody.BROKER)
    assert len(held.session_id) == 64 and not held.refresh_token
    with pytest.raises(credbroker.SecondFactorRequired):
        client.login("grace", USERS["grace"][0])  # a challenge and no code provider
