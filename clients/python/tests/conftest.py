"""Shared fixtures for the credbroker Python client tests: generates the gRPC code, starts a
fresh fake ShotGrid site and broker per test (OS-picked ports via port files), makes TLS
certificates with the openssl CLI, computes RFC 6238 TOTP codes, and finds shotgun_api3."""

import base64
import hashlib
import hmac
import json
import os
import struct
import subprocess
import sys
import time
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)
sys.path.insert(0, PACKAGE_ROOT)
subprocess.run([sys.executable, os.path.join(PACKAGE_ROOT, "generate.py")], check=True,
               stdout=subprocess.DEVNULL)

import credbroker  # noqa: E402  (needs the generated code)

# ctest names the binaries; by hand, the ones in the repository's build/.
BUILD_DIR = os.path.normpath(os.path.join(PACKAGE_ROOT, "..", "..", "build"))
BROKER = os.environ.get("CREDBROKER_BROKER_BINARY",
                        os.path.join(BUILD_DIR, "broker", "credential-broker"))
FAKE_SITE = os.environ.get("CREDBROKER_FAKE_SITE_BINARY",
                           os.path.join(BUILD_DIR, "tests", "fake_shotgrid", "fake-shotgrid"))

# shotgun_api3 3.10.0, for machines whose registries do not carry it (see its README).
SHOTGUN_API3_COPY = os.path.normpath(os.path.join(
    PACKAGE_ROOT, "..", "..", "..", "shared", "third_party", "shotgun_api3-3.10.0"))


def shotgun_api3_path():
    """The folder to put on sys.path for shotgun_api3: "" when it is installed, the
    third-party copy beside the repository otherwise, None when neither is there."""
    import importlib.util
    if importlib.util.find_spec("shotgun_api3") is not None:
        return ""
    return SHOTGUN_API3_COPY if os.path.isdir(SHOTGUN_API3_COPY) else None

USERS = {
    "alice": ("alice-password-1", "JBSWY3DPEHPK3PXP"),
    "bob": ("bob-password-1", "KRUGKIDCN5RCA43F"),
    "carol": ("carol-password-1", "MNQXE33MFVZWKY3S"),
    "dave": ("dave-password-1", "MRQXMZJNONSWG4TF"),
    "erin": ("erin-password-1", "MVZGS3RNONSWG4TF"),
    "frank": ("frank-password-1", "MZZGC3TLFVZWKY3S"),
    "grace": ("grace-password-1", "M5ZGCY3FFVZWKY3S"),
    "heidi": ("heidi-password-1", "NBSWSZDJFVZWKY3S"),
}


def totp(secret, unix_time=None):
    """RFC 6238: HMAC-SHA-1, 30 s steps, 6 digits."""
    step = int(time.time() if unix_time is None else unix_time) // 30
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1000000)


def wrong_code(secret):
    """A six-digit code the site accepts at no step around now."""
    valid = {totp(secret, time.time() + d) for d in (-60, -30, 0, 30, 60)}
    return next(c for c in ("%06d" % n for n in range(100000, 1000000, 7919)) if c not in valid)


def _wait_for_port(path, process):
    for _ in range(2000):
        if os.path.exists(path):
            text = open(path).read().strip()
            if text:
                return int(text)
        assert process.poll() is None, "process exited early"
        time.sleep(0.01)
    raise TimeoutError(path)


class Stack:
    """One fake site and one broker, with the fake site's control API at hand."""

    def __init__(self, work, site_args=(), broker_yaml="", tls=None):
        self._work = work
        self._clients = []
        self._procs = []
        site = self._spawn([FAKE_SITE, "--two-factor", "--quiet", "--listen", "127.0.0.1:0",
                            "--port-file", str(work / "site.port"), *site_args])
        self.site_url = "http://127.0.0.1:%d" % _wait_for_port(str(work / "site.port"), site)
        # No drain delay: the fixture stops the broker with SIGTERM and need not wait.
        config = ("listen: 127.0.0.1:0\nserver:\n  drain_seconds: 0\ndefault_site: main\nsites:\n"
                  "  - name: main\n    url: %s\n%s" % (self.site_url, broker_yaml))
        if tls:
            config += "tls:\n  cert_file: %s\n  key_file: %s\n" % (tls.server_cert, tls.server_key)
        (work / "broker.yaml").write_text(config)
        self.broker = self._spawn([BROKER, "--config", str(work / "broker.yaml"),
                                   "--port-file", str(work / "broker.port")],
                                  stderr=open(str(work / "broker.log"), "wb"))
        self.port = _wait_for_port(str(work / "broker.port"), self.broker)
        self.address = "127.0.0.1:%d" % self.port

    def _spawn(self, argv, stderr=subprocess.DEVNULL):
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr)
        self._procs.append(proc)
        return proc

    def connect(self, address=None, **kwargs):
        client = credbroker.connect(address or self.address, **kwargs)
        self._clients.append(client)
        return client

    def _http(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.site_url + path, data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)

    def stats(self):
        return self._http("/_fake/stats")

    def requests(self, grant):
        return self.stats()["requests"][grant]

    def control(self, path, body=None):
        """The fake site's control API: GET without a body, POST with one."""
        return self._http(path, body)

    def api3(self):
        """/api3/json calls at the site: per method, per auth, per "method.auth"."""
        return self.stats()["api3"]

    def set_clock(self, offset_seconds):
        self._http("/_fake/clock", {"offset_seconds": offset_seconds})

    def settings(self, **values):
        self._http("/_fake/settings", values)

    def faults(self, **values):
        self._http("/_fake/faults", values)

    def stop(self):
        for client in self._clients:  # the broker's graceful stop waits for connections
            client.close()
        for proc in reversed(self._procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


SCRIPT_KEYS = {"ingest-bot": "ingest-bot-key-0001", "render-farm": "render-farm-key-0002"}


def keyring_yaml(directory, scripts=("ingest-bot",)):
    """Broker YAML for a keyring holding the fake site's script keys and a policy that lets
    anonymous callers (these tests send no credential) call every method and use `scripts`
    with no key, session tokens included."""
    keys = directory / "keys"
    keys.mkdir()
    for name, key in SCRIPT_KEYS.items():
        (keys / name).write_text(key + "\n")
    policy = directory / "policy.yaml"
    # sudo_as "*": a script's session token lets its holder act as anyone the script may.
    policy.write_text("callers:\n  - identity: anonymous\n    methods: [\"*\"]\n"
                      "    scripts: [%s]\n    sudo_as: [\"*\"]\n" % ", ".join(scripts))
    return "keyring_dir: %s\npolicy_file: %s\n" % (keys, policy)


@pytest.fixture
def make_stack(tmp_path):
    stacks = []

    def make(site_args=(), broker_yaml="", tls=None):
        work = tmp_path / ("stack%d" % len(stacks))
        work.mkdir()
        stacks.append(Stack(work, site_args, broker_yaml, tls))
        return stacks[-1]

    yield make
    for stack in stacks:
        stack.stop()


@pytest.fixture
def stack(make_stack):
    return make_stack()


class Certificates:
    """A CA, a server certificate (localhost, 127.0.0.1) and a client certificate."""

    def __init__(self, directory):
        d = str(directory)

        def openssl(*args):
            subprocess.run(["openssl", *args], check=True, cwd=d,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                "-subj", "/CN=credbroker test CA")
        for name, usage, san in (("server", "serverAuth", "DNS:localhost,IP:127.0.0.1"),
                                 ("client", "clientAuth", "DNS:test-service")):
            with open(os.path.join(d, name + ".ext"), "w") as ext:
                ext.write("basicConstraints=CA:FALSE\nsubjectAltName=%s\n"
                          "extendedKeyUsage=%s\n" % (san, usage))
            openssl("req", *key, "-keyout", name + ".key", "-out", name + ".csr",
                    "-subj", "/CN=" + ("localhost" if name == "server" else "test-service"))
            openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                    "-CAcreateserial", "-days", "2", "-extfile", name + ".ext",
                    "-out", name + ".crt")
        self.ca = os.path.join(d, "ca.crt")
        self.server_cert = os.path.join(d, "server.crt")
        self.server_key = os.path.join(d, "server.key")
        self.client_cert = os.path.join(d, "client.crt")
        self.client_key = os.path.join(d, "client.key")


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    return Certificates(tmp_path_factory.mktemp("certs"))


def totp_provider(user, prompts=None):
    """A code provider answering the user's current TOTP, recording each prompt."""
    secret = USERS[user][1]

    def provide(prompt):
        if prompts is not None:
            prompts.append(prompt)
        return totp(secret)
    return provide


def login(client, user, **kwargs):
    return client.login(user, USERS[user][0], totp_provider(user), **kwargs)
