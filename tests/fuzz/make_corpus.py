#!/usr/bin/env python3
"""Writes the handwritten seed corpus under corpus/<fuzzer>/.

The inputs are examples from docs (shotgrid-auth.md) and the shapes proxies
really send; rerun after editing. Files the fuzzer found and someone checked in
(crash-*/regression-*) are left alone.
"""
import json
import os
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"

# site_answer header: status selector, raw status byte, flags, retry length.
STATUS = {200: 0, 400: 1, 401: 2, 403: 3, 404: 4, 415: 5, 429: 6, 500: 7, 502: 8,
          503: 9, 504: 10, 301: 11, 0: 12, 204: 13, 599: 14, 600: 15}
PASSWORD, SCRIPT, REFRESH = 0, 1, 2
SENT_CODE, HTML, API3, LAUNCHER = 4, 8, 16, 32


def answer(status, body, grant=PASSWORD, flags=0, retry=b"", raw=None):
    if raw is not None:  # ((b0 & 0x0F) << 8 | b1) - 200
        value = raw + 200
        head = bytes([0xF0 | (value >> 8), value & 0xFF])
    else:
        head = bytes([STATUS[status], 0])
    assert len(retry) < 16
    if isinstance(body, str):
        body = body.encode()
    return head + bytes([grant | flags, len(retry)]) + retry + body


def envelope(status, code, title, source="null", detail="null"):
    return ('{"errors":[{"id":"0123456789abcdef0123456789abcdef","status":%d,"code":%d,'
            '"title":%s,"source":%s,"detail":%s,"meta":null}]}'
            % (status, code, json.dumps(title), source, detail))


def html(status):
    return ("<html><head><title>%d</title></head><body><h1>%d error</h1>"
            "<p>nginx</p></body></html>" % (status, status))


GRANT = ('{"token_type":"Bearer","access_token":"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln",'
         '"expires_in":600,"refresh_token":"rt-0123456789"}')

SITE_ANSWER = {
    "grant_ok": answer(200, GRANT),
    "grant_3600_no_refresh": answer(200, '{"token_type":"bearer","access_token":"a","expires_in":3600}'),
    "grant_float_expiry": answer(200, '{"access_token":"a","expires_in":1e3,"refresh_token":null}'),
    "grant_script": answer(200, GRANT, grant=SCRIPT),
    "grant_refresh": answer(200, GRANT, grant=REFRESH),
    "grant_bad_type": answer(200, '{"token_type":"MAC","access_token":"a","expires_in":600}'),
    "grant_huge_expiry": answer(200, '{"access_token":"a","expires_in":1.7976931348623157e308}'),
    "grant_truncated": answer(200, GRANT[:57]),
    "needs_2fa": answer(400, envelope(400, 106, "Missing argument for 2FA login",
                                      '{"auth_token":"missing for 2FA login"}')),
    "needs_2fa_already_sent": answer(400, envelope(400, 106, "Missing argument for 2FA login"),
                                     flags=SENT_CODE),
    "bad_user": answer(400, envelope(400, 102, "Can't authenticate user 'ana'.")),
    "bad_code": answer(400, envelope(400, 102, "Can't authenticate user 'ana'."), flags=SENT_CODE),
    "bad_script": answer(400, envelope(400, 102, "Can't authenticate script 'render'"), grant=SCRIPT),
    "bad_session": answer(400, envelope(400, 102, "Can't authenticate session token ending with 'abcd'")),
    "missing_args": answer(400, envelope(400, 103, "Missing or invalid authentication arguments")),
    "missing_args_102": answer(400, envelope(400, 102, "Missing or invalid authentication arguments")),
    "refresh_spent": answer(401, envelope(401, 102, "Unauthorized", detail='"Token invalid"'), grant=REFRESH),
    "sudo_refused": answer(400, envelope(400, 102, "Cannot 'sudo' - inactive user")),
    "sso": answer(400, envelope(400, 108, "user credentials not allowed for an SSO-enabled site")),
    "identity": answer(400, envelope(400, 110, "user credentials not allowed for an Autodesk Identity site")),
    "bad_grant_type": answer(400, envelope(400, 103, "Unsupported grant_type")),
    "text_plain": answer(415, envelope(415, 103, "Unsupported Content-Type 'text/plain'")),
    "unknown_route": answer(404, envelope(404, 103, "Not Found")),
    "unknown_code": answer(403, envelope(403, 999, "Forbidden")),
    "two_errors": answer(400, '{"errors":[{"status":400,"code":106},{"status":400,"code":102}]}'),
    "error_code_string": answer(400, '{"errors":[{"status":"400","code":"102","title":1}]}'),
    "errors_empty": answer(400, '{"errors":[]}'),
    "errors_not_object": answer(400, '{"errors":[42]}'),
    "error_code_huge": answer(400, '{"errors":[{"code":18446744073709551615,"status":-1}]}'),
    "envelope_truncated": answer(400, envelope(400, 106, "Missing argument for 2FA login")[:40]),
    "rate_limited": answer(429, html(429), flags=HTML, retry=b"30"),
    "rate_limited_date": answer(429, "", retry=b"Wed, 21 Oct 15"),
    "rate_limited_huge": answer(429, "", retry=b"99999999999"),
    "rate_limited_negative": answer(503, "", retry=b" -5 "),
    "html_502": answer(502, html(502), flags=HTML),
    "html_504": answer(504, html(504), flags=HTML),
    "html_500_json": answer(500, envelope(500, 103, "Internal error")),
    "html_400": answer(400, html(400), flags=HTML),
    "html_200": answer(200, html(200), flags=HTML),
    "redirect": answer(301, html(301), flags=HTML),
    "no_answer": answer(0, ""),
    "status_418": answer(None, envelope(418, 102, "teapot"), raw=418),
    "status_negative": answer(None, "", raw=-1),
    "status_99": answer(None, "{}", raw=99),
    "json_bom_nested": answer(400, b"\xef\xbb\xbf" + b"[" * 40 + b"]" * 40),
    "json_escapes": answer(400, '{"errors":[{"code":106,"title":"\\u00e9\\ud83d\\ude00\\u0000"}]}'),
    "json_bad_surrogate": answer(200, '{"access_token":"\\ud800","expires_in":5}'),
    "api3_session": answer(200, '{"results":{"session_id":"9f8e7d"}}', flags=API3),
    "api3_fault_106": answer(200, '{"exception":true,"error_code":106,"message":"m"}',
                             flags=API3 | SENT_CODE),
    "api3_fault_102_script": answer(200, '{"exception":true,"error_code":102}', grant=SCRIPT,
                                    flags=API3),
    "api3_fault_108": answer(200, '{"exception":true,"error_code":108}', flags=API3),
    "launcher_created": answer(200, '{"sessionRequestId":"ab12","url":"https://s/app_session_request/ab12"}',
                               flags=LAUNCHER),
    "launcher_approved": answer(200, '{"approved":true,"sessionToken":"t","userLogin":"alice"}',
                                flags=LAUNCHER),
    "launcher_pending": answer(200, '{"approved":false}', flags=LAUNCHER),
    "launcher_gone": answer(404, '{"message":"gone"}', flags=LAUNCHER),
    "launcher_bad_id": answer(200, '{"sessionRequestId":"../x","url":"https://s/"}', flags=LAUNCHER),
}

def record(*fields, version=b"\x02"):
    """A challenge record's plaintext: a version byte, then length-prefixed fields."""
    out = version
    for field in fields:
        data = field.encode() if isinstance(field, str) else field
        out += len(data).to_bytes(4, "big") + data
    return out


GOOD = ("main", "ana@studio.example", "pw-\x00\xff", "token:web-portal", "1", "5",
        "1767225600000", "10.0.0.7")
CHALLENGE = {
    "valid": record(*GOOD),
    "valid_ipv6_unicode": record("studio.eu", "j\u00f6rg", "", "spiffe://s/x", "2", "1", "0", "::1"),
    "attempts_wide": record(*GOOD[:5], "4294967301", *GOOD[6:]),
    "attempts_negative": record(*GOOD[:5], "-1", *GOOD[6:]),
    "expire_huge": record(*GOOD[:6], "18446744073709551615", GOOD[7]),
    "custody_unknown": record(*GOOD[:4], "7", *GOOD[5:]),
    "length_overflow": b"\x02\xff\xff\xff\xffmain",
    "trailing_bytes": record(*GOOD) + b"x",
    "old_version": record(*GOOD, version=b"\x01"),
    "truncated": record(*GOOD)[:20],
    "empty": "",
}

MINIMAL = """listen: 127.0.0.1:50051
default_site: main
sites:
  - name: main
    url: https://studio.shotgrid.autodesk.com
"""
CONFIG = {
    "minimal.yaml": MINIMAL,
    "full.yaml": MINIMAL + """    connect_timeout_ms: 2000
    request_timeout_ms: 15000
  - name: local-fake
    url: http://[::1]:8080/
tls:
  cert_file: /nonexistent/cert.pem
  key_file: /nonexistent/key.pem
challenge:
  lifetime_seconds: 120
  max_attempts: 3
failure_budget:
  max_failures: 9
  window_seconds: 3600
script_tokens:
  min_validity_seconds: 30
seal_key_file: /run/secrets/seal.key
log_level: debug
max_request_bytes: 1048576
""",
    "flow.yaml": '{listen: "[::1]:0", default_site: a, sites: [{name: a, url: "http://localhost"}]}\n',
    "unknown_key.yaml": MINIMAL + "listn: x\n",
    "nested_unknown.yaml": MINIMAL + "challenge:\n  lifetime: 5\n",
    "out_of_range.yaml": MINIMAL + "challenge:\n  max_attempts: 99999999999999999999\n",
    "http_remote.yaml": "sites:\n  - name: x\n    url: http://user@127.0.0.1@evil.example/\n",
    "url_no_host.yaml": "sites:\n  - {name: x, url: 'https://'}\n  - {name: y, url: 'https://[/'}\n",
    "duplicate_site.yaml": "sites: [{name: a, url: 'https://a'}, {name: a, url: 'https://b'}]\n",
    "wrong_types.yaml": "listen: [1, 2]\nsites: {name: a}\ntls: 3\n",
    "complex_key.yaml": "? [a, b]\n: c\n",
    "anchors.yaml": "base: &b {name: a, url: 'https://a'}\nsites: [*b, *b]\n",
    "tags.yaml": "listen: !!binary aGVsbG8=\nsites: !!seq [ !!map {name: !!str a} ]\n",
    "bad_indent.yaml": "sites:\n  - name: a\n   url: b\n",
    "multi_doc.yaml": MINIMAL + "---\nlisten: other\n",
    "not_a_map.yaml": "- just\n- a list\n",
    "empty.yaml": "",
    "tab_and_nul.yaml": "listen:\t\"\\0\"\n",
}

PEER = {
    "ipv4": "ipv4:10.0.0.7:5123",
    "ipv6": "ipv6:[::1]:5123",
    "ipv6_scoped": "ipv6:[fe80::1%25eth0]:443",
    "ipv6_no_port": "ipv6:[::1]",
    "ipv4_no_port": "ipv4:",
    "unix": "unix:/run/credbroker.sock",
    "unix_abstract": "unix-abstract:broker",
    "empty": "",
}

# validation: one byte picking the request (see validation_fuzz.cc), then the
# message in protobuf wire format, encoded by hand to need no generated code.
BEGIN, SUBMIT, REFRESH_REQ, ISSUE, GET, REVOKE, EXCHANGE, BEGIN_BROWSER, COMPLETE_BROWSER = range(9)


def varint(value):
    value &= (1 << 64) - 1  # negative int64s take ten bytes
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def text(number, value):
    if isinstance(value, str):
        value = value.encode()
    return varint(number << 3 | 2) + varint(len(value)) + value


def number(number_, value):
    return varint(number_ << 3) + varint(value)


def request(kind, *fields):
    return bytes([kind]) + b"".join(fields)


CHALLENGE_ID = "0123456789abcdef" * 4
CLIENT = text(1, "10.0.0.7") + text(2, "Mozilla/5.0 (X11; Linux x86_64)")
VALIDATION = {
    "begin_minimal": request(BEGIN, text(2, "jdoe"), text(3, "Pa55word-S3cr3t!")),
    "begin_full": request(BEGIN, text(1, "studio"), text(2, "jane.doe@studio.example"),
                          text(3, "Pa55word-S3cr3t!"), text(4, "7391-5520"), number(5, 2),
                          text(6, CLIENT)),
    "begin_username_spaces": request(BEGIN, text(2, " jdoe "), text(3, "p")),
    "begin_username_forged_line": request(BEGIN, text(2, 'jdoe\n{"event":"forged"}'), text(3, "p")),
    "begin_username_long": request(BEGIN, text(2, "u" * 257), text(3, "p")),
    "begin_code_with_space": request(BEGIN, text(2, "jdoe"), text(3, "p"), text(4, "12 34")),
    "begin_custody_unknown": request(BEGIN, text(2, "jdoe"), text(3, "p"), number(5, 7)),
    "begin_client_agent_newline": request(BEGIN, text(2, "jdoe"), text(3, "p"),
                                          text(6, text(2, "agent\r\nx"))),
    "begin_unknown_field": request(BEGIN, text(2, "jdoe"), text(3, "p"), text(99, "extra")),
    "submit_valid": request(SUBMIT, text(1, CHALLENGE_ID), text(2, "123456"), text(3, CLIENT)),
    "submit_bad_id": request(SUBMIT, text(1, CHALLENGE_ID.upper()), text(2, "123456")),
    "submit_no_code": request(SUBMIT, text(1, CHALLENGE_ID)),
    "refresh_token": request(REFRESH_REQ, text(2, "rt-0123456789")),
    "refresh_session_id": request(REFRESH_REQ, text(1, "studio"), text(3, "s-1")),
    "refresh_both_last_wins": request(REFRESH_REQ, text(2, "rt-1"), text(3, "s-1")),
    "refresh_none": request(REFRESH_REQ, text(1, "studio")),
    "issue_keyring": request(ISSUE, text(2, "ingest-bot")),
    "issue_sudo": request(ISSUE, text(2, "ingest-bot"), text(4, "jane.doe@studio.example")),
    "issue_sudo_colon": request(ISSUE, text(2, "ingest-bot"), text(4, "bob:admin")),
    "issue_sudo_space": request(ISSUE, text(2, "ingest-bot"), text(4, "jane doe")),
    "issue_key_with_space": request(ISSUE, text(2, "ingest-bot"), text(3, "key with spaces")),
    "get_valid": request(GET, text(1, "s-1"), text(2, number(1, 60))),
    "get_negative": request(GET, text(1, "s-1"), text(2, number(1, -1))),
    "get_two_days": request(GET, text(1, "s-1"), text(2, number(1, 2 * 86400))),
    "revoke_token": request(REVOKE, text(2, "rt-0123456789"), text(3, "studio")),
    "revoke_none": request(REVOKE),
    "not_a_message": request(BEGIN) + b"\xff\xff\xff\xff",
    "invalid_utf8": request(ISSUE, text(2, b"\xc3\x28")),
    "issue_session_token_rejected": request(ISSUE, text(2, "ingest-bot"), number(5, 2),
                                            text(6, "old-token")),
    "issue_session_token_sudo": request(ISSUE, text(2, "ingest-bot"), text(4, "bob"), number(5, 2)),
    "begin_session_token_held": request(BEGIN, text(2, "jdoe"), text(3, "p"), number(5, 2),
                                        number(7, 2)),
    "exchange_valid": request(EXCHANGE, text(2, "0a1b2c3d4e5f"), number(3, 2)),
    "exchange_empty": request(EXCHANGE, text(1, "studio")),
    "begin_browser": request(BEGIN_BROWSER, text(2, "Nuke"), text(3, "ws-12"), number(4, 2)),
    "begin_browser_held_token": request(BEGIN_BROWSER, number(4, 2), number(5, 2)),
    "complete_browser": request(COMPLETE_BROWSER, text(1, CHALLENGE_ID), text(2, number(1, 30))),
    "complete_browser_long_wait": request(COMPLETE_BROWSER, text(1, CHALLENGE_ID),
                                          text(2, number(1, 61))),
    "kind_wraps": bytes([9 + ISSUE]) + text(2, "ingest-bot"),
    "empty": b"",
}


def write(name, files):
    directory = CORPUS / name
    directory.mkdir(parents=True, exist_ok=True)
    for file_name, content in files.items():
        if isinstance(content, str):
            content = content.encode()
        (directory / file_name).write_bytes(content)


if __name__ == "__main__":
    write("site_answer", SITE_ANSWER)
    write("challenge_record", CHALLENGE)
    write("config", CONFIG)
    write("peer_address", PEER)
    write("validation", VALIDATION)
    print("corpus written under", os.path.relpath(CORPUS))
