#!/usr/bin/python3
"""The real shotgun_api3 (3.10) against the fake site over plain HTTP.

Proves the fake's /api3/json speaks the protocol shotgun_api3 expects: connecting (info),
find() of projects with a script key, a person with 2FA (shotgun_api3 swaps the one-time code
for a session token at once), session-token logins and their expiry, and the SSO/Identity
refusals, all with exact site counters. Also walks the app session launcher the way tk-core does.

Usage: shotgun_api3_test.py PATH_TO_FAKE_SHOTGRID_BINARY
Uses an installed shotgun_api3 first, else ../shared/third_party/shotgun_api3-3.10.0 relative to
the repository root. Exits 77 (skipped) when neither is there.
"""
import base64
import hashlib
import hmac
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
THIRD_PARTY = os.path.join(REPO_ROOT, "..", "shared", "third_party", "shotgun_api3-3.10.0")

try:
    import shotgun_api3
except ImportError:
    if not os.path.isdir(THIRD_PARTY):
        print("SKIP: shotgun_api3 is neither installed nor at %s" % THIRD_PARTY)
        sys.exit(77)
    sys.path.insert(0, THIRD_PARTY)
    import shotgun_api3

# Built-in fixtures (tests/fake_shotgrid/fixtures.h).
SCRIPT = ("ingest-bot", "ingest-bot-key-0001")
ALICE = ("alice", "alice-password-1", "JBSWY3DPEHPK3PXP")
BOB = ("bob", "bob-password-1", "KRUGKIDCN5RCA43F")
PROJECTS = [
    {"type": "Project", "id": 1, "name": "Feature Film A"},
    {"type": "Project", "id": 2, "name": "Commercial B"},
]

SITE = {}


def totp(secret, now):
    key = base64.b32decode(secret)
    mac = hmac.new(key, struct.pack(">Q", int(now) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1000000)


def control(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        SITE["url"] + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def api3_calls():
    return control("GET", "/_fake/stats")["api3"]["by_method_and_auth"]


def site_now():
    return control("GET", "/_fake/clock")["now"]


def setUpModule():
    SITE["dir"] = tempfile.TemporaryDirectory()
    port_file = os.path.join(SITE["dir"].name, "port")
    SITE["process"] = subprocess.Popen(
        [sys.argv[1], "--quiet", "--two-factor", "--port-file", port_file],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        if os.path.exists(port_file):
            break
        time.sleep(0.02)
    with open(port_file) as f:
        SITE["url"] = "http://127.0.0.1:%d" % int(f.read())


def tearDownModule():
    SITE["process"].terminate()
    SITE["process"].wait(timeout=10)
    SITE["dir"].cleanup()


def connect(test, **kwargs):
    """A shotgun_api3.Shotgun on the fake site whose keep-alive connection closes with the test
    (an open one would hold the site's shutdown for its keep-alive timeout)."""
    sg = shotgun_api3.Shotgun(SITE["url"], **kwargs)
    test.addCleanup(sg.close)
    return sg


class ShotgunApi3AgainstFakeSite(unittest.TestCase):
    def setUp(self):
        control("POST", "/_fake/reset")
        control("POST", "/_fake/settings", {"two_factor": True})

    def test_script_key_find(self):
        sg = connect(self, script_name=SCRIPT[0], api_key=SCRIPT[1])
        self.assertEqual(sg.server_caps.version, (8, 0, 0))
        self.assertEqual(sg.find("Project", [], ["name"]), PROJECTS)
        self.assertEqual(sg.find_one("Project", [["id", "is", 2]], ["name"]), PROJECTS[1])
        self.assertEqual(api3_calls(), {"info.none": 1, "read.script": 2})

    def test_person_with_two_factor(self):
        code = totp(ALICE[2], site_now())
        sg = connect(
            self, login=ALICE[0], password=ALICE[1], auth_token=code
        )
        # The code was spent at once on a session token; every later call uses that.
        token = sg.get_session_token()
        self.assertRegex(token, "^[0-9a-f]{32}$")
        self.assertEqual(sg.find("Project", [], ["name"]), PROJECTS)
        self.assertEqual(
            api3_calls(),
            {"info.none": 1, "get_session_token.user": 1, "read.session_token": 1},
        )
        # The same code again: spent, 106 on this door.
        with self.assertRaises(shotgun_api3.MissingTwoFactorAuthenticationFault):
            connect(self, login=ALICE[0], password=ALICE[1], auth_token=code)
        # No code at all.
        sg = connect(self, login=BOB[0], password=BOB[1])
        with self.assertRaises(shotgun_api3.MissingTwoFactorAuthenticationFault):
            sg.find("Project", [])
        # A wrong password.
        sg = connect(self, login=BOB[0], password="wrong")
        with self.assertRaises(shotgun_api3.AuthenticationFault):
            sg.find("Project", [])

    def test_session_token_login_and_expiry(self):
        control("POST", "/_fake/settings", {"session_token_lifetime": 600})
        token = connect(
            self, script_name=SCRIPT[0], api_key=SCRIPT[1]
        ).get_session_token()
        sg = connect(self, session_token=token)
        self.assertEqual(len(sg.find("Project", [])), 2)
        control("POST", "/_fake/clock", {"offset_seconds": 601})
        with self.assertRaises(shotgun_api3.AuthenticationFault):
            sg.find("Project", [])
        self.assertEqual(
            api3_calls(),
            {"info.none": 2, "get_session_token.script": 1, "read.session_token": 2},
        )

    def test_sso_and_identity_sites(self):
        for mode, method, fault in [
            ("sso", "saml2", shotgun_api3.UserCredentialsNotAllowedForSSOAuthenticationFault),
            ("identity", "oxygen", shotgun_api3.shotgun.UserCredentialsNotAllowedForOxygenAuthenticationFault),
        ]:
            control("POST", "/_fake/settings", {"auth_mode": mode})
            sg = connect(self, login=BOB[0], password=BOB[1])
            self.assertEqual(sg.info()["user_authentication_method"], method)
            with self.assertRaises(fault):
                sg.find("Project", [])

    def test_app_session_launcher_as_tk_core_drives_it(self):
        control("POST", "/_fake/settings", {"auth_mode": "sso"})
        form = urllib.parse.urlencode({"appName": "tk-desktop", "machineId": "ws-042"}).encode()
        with urllib.request.urlopen(
            urllib.request.Request(
                SITE["url"] + "/internal_api/app_session_request", data=form, method="POST"
            ),
            timeout=10,
        ) as response:
            created = json.loads(response.read())
        poll_url = SITE["url"] + "/internal_api/app_session_request/" + created["sessionRequestId"]

        def poll():
            request = urllib.request.Request(poll_url, method="PUT")
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())

        self.assertEqual(poll(), {"approved": False})
        # The person approves on the page at `url`, as a browser would post its form.
        page = urllib.request.urlopen(created["url"], timeout=10).read().decode()
        self.assertIn(">Approve</button>", page)
        approval = urllib.parse.urlencode(
            {"login": BOB[0], "password": BOB[1], "decision": "approve"}
        ).encode()
        urllib.request.urlopen(
            urllib.request.Request(created["url"], data=approval, method="POST"), timeout=10
        ).read()
        approved = poll()
        self.assertEqual(approved["approved"], True)
        self.assertEqual(approved["userLogin"], BOB[0])
        sg = connect(self, session_token=approved["sessionToken"])
        self.assertEqual(len(sg.find("Project", [])), 2)
        stats = control("GET", "/_fake/stats")
        self.assertEqual(stats["launcher"], {"create": 1, "poll": 2, "approve": 1, "reject": 0})


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
