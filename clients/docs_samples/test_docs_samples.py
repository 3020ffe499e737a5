"""Runs every code sample of docs/clients.md and docs/services.md against the real broker and
the fake ShotGrid site, so the docs stay true.

Convention in the markdown:
- A fenced block's language says how it runs: `python`, `ts`, `go`, `cpp`, or `console` (a
  shell transcript: lines starting with `$ ` are run, the other lines are what the person sees).
- A block that cannot run here (a deployment's config, a command for a cluster) has the comment
  `<!-- sample: not-run (why) -->` on the line right before its fence. Any other block must run:
  a block in another language, or one that fails, fails its test.

Each sample gets a fresh fake site (2FA on) and broker with TLS, callers identified by client
certificate or service token, a keyring and a policy, and runs in a directory that holds the
files the docs name (`ca.pem`, `svc.pem`, `svc.key`, ...). The test rewrites only the broker's
address (`broker.studio.lan:50051`) and the `/etc/studio/` folder. The names a sample takes from
its surroundings (`password`, `SITE`, `ask`, the web framework's objects, the connected client of
the section above, ...) come from a short per-language preamble below; a failure path taken by a
sample (a redirect to the login page, a wait after too many attempts) fails the test.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import textwrap

import importlib.util

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))


def load_python_client_support():
    """The Python client tests' conftest: it generates the gRPC code and starts brokers."""
    path = os.path.join(REPO, "clients", "python", "tests", "conftest.py")
    spec = importlib.util.spec_from_file_location("python_client_support", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


python_client_support = load_python_client_support()
make_stack = python_client_support.make_stack
certs = python_client_support.certs

DOCS = ("docs/clients.md", "docs/services.md")
DOC_BROKER_ADDRESS = "broker.studio.lan:50051"
NOT_RUN = re.compile(r"<!--\s*sample:\s*not-run\s*\((?P<reason>.+)\)\s*-->")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<language>[\w+-]*)\s*$")
LANGUAGES = ("python", "ts", "go", "cpp", "console")

BUILD = os.environ.get("CREDBROKER_BUILD_DIR", os.path.join(REPO, "build"))
CLI = os.environ.get("CREDBROKER_CLI_BINARY", os.path.join(BUILD, "clients", "cpp", "credbroker"))
CPP_CLIENT_LIBRARY = os.environ.get(
    "CREDBROKER_CPP_CLIENT_LIBRARY", os.path.join(BUILD, "clients", "cpp", "libcredbroker_client.a"))
CPP_PROTO_LIBRARY = os.environ.get(
    "CREDBROKER_CPP_PROTO_LIBRARY", os.path.join(BUILD, "proto", "libcredbroker_proto.a"))
CPP_PROTO_INCLUDE = os.environ.get("CREDBROKER_CPP_PROTO_INCLUDE", os.path.join(BUILD, "proto"))
GO_BUILD = os.environ.get("CREDBROKER_GO_BUILD_DIR", os.path.join(BUILD, "docs-samples-go"))

USER = "alice"
PASSWORD, TOTP_SECRET = python_client_support.USERS[USER]
BACKUP_CODES = ["7391-5520", "4820-1177"]
SCRIPT_KEYS = {"ingest-bot": "ingest-bot-key-0001", "webhook-bot": "webhook-bot-key-0003"}
SERVICE_TOKEN = "docs-sample-service-token-0001"


class Sample:
    def __init__(self, doc, line, language, text, not_run_reason):
        self.doc = doc
        self.line = line
        self.language = language
        self.text = text
        self.not_run_reason = not_run_reason

    @property
    def name(self):
        return "%s:%d-%s" % (os.path.basename(self.doc), self.line, self.language or "none")


def read_samples(doc):
    """The fenced blocks of one markdown file, with the not-run mark before each, if any."""
    lines = open(os.path.join(REPO, doc), encoding="utf-8").read().splitlines()
    samples = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent = opening.group("indent")
        end = index + 1
        while not re.match(r"^\s*```\s*$", lines[end]):
            end += 1
        body = "\n".join(l[len(indent):] if l.startswith(indent) else l
                         for l in lines[index + 1:end]) + "\n"
        previous = next((l for l in reversed(lines[:index]) if l.strip()), "")
        mark = NOT_RUN.search(previous)
        samples.append(Sample(doc, index + 1, opening.group("language"), body,
                              mark.group("reason") if mark else None))
        index = end + 1
    return samples


SAMPLES = [s for doc in DOCS for s in read_samples(doc)]


def rewrite(text, address):
    return text.replace(DOC_BROKER_ADDRESS, address).replace("/etc/studio/", "")


# --- the broker and site every sample runs against ---------------------------------------------

class SampleWorld:
    """A fresh fake site and TLS broker, and a directory with the files the docs name."""

    def __init__(self, make_stack, certs, directory):
        self.dir = str(directory)
        site_fixtures = directory / "site-fixtures.json"
        site_fixtures.write_text(
            '{"users": [{"login": "%s", "password": "%s", "totp_secret": "%s", '
            '"backup_codes": ["%s", "%s"]}], "scripts": [%s]}' % (
                USER, PASSWORD, TOTP_SECRET, *BACKUP_CODES,
                ", ".join('{"name": "%s", "key": "%s"}' % kv for kv in SCRIPT_KEYS.items())))
        keys = directory / "keys"
        keys.mkdir()
        for name, key in SCRIPT_KEYS.items():
            (keys / name).write_text(key + "\n")
        policy = directory / "policy.yaml"
        policy.write_text(textwrap.dedent("""\
            callers:
              - identity: anonymous
                methods: [BeginLogin, SubmitSecondFactor, RefreshSession, RevokeSession,
                          GetAccessToken, IssueScriptSession, ExchangeSessionToken,
                          BeginBrowserLogin, CompleteBrowserLogin]
              - identity: dns:test-service
                methods: [IssueScriptSession]
                scripts: [ingest-bot]
                sudo_as: ["*"]       # also its session tokens (shotgun_api3 tools)
              - identity: lambda-webhooks
                methods: [IssueScriptSession]
                scripts: [webhook-bot]
            """))
        broker_yaml = textwrap.dedent("""\
            callers:
              client_ca_file: %s
              allow_anonymous: true
              service_tokens:
                - identity: lambda-webhooks
                  sha256: %s
            keyring_dir: %s
            policy_file: %s
            """) % (certs.ca, hashlib.sha256(SERVICE_TOKEN.encode()).hexdigest(), keys, policy)
        self.stack = make_stack(site_args=["--fixtures", str(site_fixtures)],
                                broker_yaml=broker_yaml, tls=certs)
        self.address = "127.0.0.1:%d" % self.stack.port
        for name in ("ca.pem", "broker-ca.pem"):
            shutil.copy(certs.ca, os.path.join(self.dir, name))
        for name in ("svc.pem", "node.pem"):
            shutil.copy(certs.client_cert, os.path.join(self.dir, name))
        for name in ("svc.key", "node.key"):
            shutil.copy(certs.client_key, os.path.join(self.dir, name))
        self.env = dict(os.environ, BROKER_ADDR=self.address, BROKER_SERVICE_TOKEN=SERVICE_TOKEN,
                        INGEST_BOT_KEY=SCRIPT_KEYS["ingest-bot"],
                        WEBHOOK_BOT_KEY=SCRIPT_KEYS["webhook-bot"])

    def code(self):
        return python_client_support.totp(TOTP_SECRET)

    def run(self, argv, what, stdin="", timeout=300, env=None):
        result = subprocess.run(argv, cwd=self.dir, env=env or self.env, input=stdin, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        assert result.returncode == 0, "%s failed (exit %d):\n%s" % (
            what, result.returncode, result.stdout)
        return result.stdout


# --- one runner per language --------------------------------------------------------------------

def indent_body(text, prefix):
    return "".join(prefix + line if line.strip() else line for line in text.splitlines(True))


def run_python(world, sample):
    program = textwrap.dedent("""\
        import asyncio
        import credbroker, requests
        from credbroker.requests_auth import BearerAuth

        SITE = {site!r}
        user, password, code = {user!r}, {password!r}, {code!r}
        client = credbroker.connect({address!r}, ca_file="ca.pem")
        web_session = {{}}


        def redirect(url):
            raise AssertionError("the sample took its failure path: redirect to " + url)


        async def run_sample():
        {body}

        asyncio.run(run_sample())
        """).format(site=world.stack.site_url, user=USER, password=PASSWORD, code=world.code(),
                    address=world.address, body=indent_body(rewrite(sample.text, world.address), "    "))
    path = os.path.join(world.dir, "sample.py")
    open(path, "w").write(program)
    # shotgun_api3 for the pipeline-tool samples: installed, or the third-party copy.
    shotgun_api3 = python_client_support.shotgun_api3_path()
    if shotgun_api3 is None and "shotgun" in sample.text:
        pytest.skip("shotgun_api3 is neither installed nor in ../shared/third_party")
    env = dict(world.env, PYTHONPATH=os.pathsep.join(
        [os.path.join(REPO, "clients", "python")] + ([shotgun_api3] if shotgun_api3 else [])))
    # Samples that call input() read the person's code here.
    world.run([sys.executable, path], "the Python sample", stdin=world.code() + "\n", env=env)


NODE_PACKAGE = os.path.join(REPO, "clients", "node")


@pytest.fixture(scope="session")
def node_package():
    """clients/node built (generated code and tsc), as the package's own tests build it."""
    subprocess.run(["npm", "run", "build"], cwd=NODE_PACKAGE, check=True,
                   stdout=subprocess.DEVNULL)
    return NODE_PACKAGE


def run_ts(world, sample, node_package):
    body = rewrite(sample.text, world.address)
    imports = "".join(l + "\n" for l in body.splitlines() if l.startswith("import "))
    body = "".join(l + "\n" for l in body.splitlines() if not l.startswith("import "))
    program = textwrap.dedent("""\
        import * as credbrokerClient from "credbroker-client";
        {imports}
        async function runSample() {{
          const {{ BrokerError, HeldSessionTokenSource, TokenCustody, login }} = credbrokerClient;
          const broker = credbrokerClient.connect({address!r}, {{ caFile: "ca.pem" }});
          const [user, password, code, site] = [{user!r}, {password!r}, {code!r}, {site!r}];
          const ask = async (prompt: string): Promise<string> => code;
          const req = {{ session: {{ brokerSession: "" }} }};
          // A sample that reports a failure instead of throwing has taken its failure path.
          const console = {{
            ...globalThis.console,
            error(...what: unknown[]): never {{
              throw new Error("the sample took its failure path: " + what.join(" "));
            }},
          }};
          const res = {{
            redirect(url: string): never {{
              throw new Error("the sample took its failure path: redirect to " + url);
            }},
          }};
          {{
        {body}
          }}
        }}

        runSample().then(() => process.exit(0), (e) => {{ console.error(e); process.exit(1); }});
        """).format(imports=imports, address=world.address, user=USER, password=PASSWORD,
                    code=world.code(), site=world.stack.site_url, body=indent_body(body, "    "))
    os.makedirs(os.path.join(world.dir, "node_modules"))
    os.symlink(node_package, os.path.join(world.dir, "node_modules", "credbroker-client"))
    open(os.path.join(world.dir, "sample.ts"), "w").write(program)
    open(os.path.join(world.dir, "tsconfig.json"), "w").write(
        '{"compilerOptions": {"target": "ES2022", "module": "commonjs", "moduleResolution": "node",'
        ' "lib": ["ES2022", "DOM"], "types": ["node"], "typeRoots": ["%s"], "strict": true,'
        ' "esModuleInterop": true, "skipLibCheck": true}, "files": ["sample.ts"]}'
        % os.path.join(node_package, "node_modules", "@types"))
    world.run([os.path.join(node_package, "node_modules", ".bin", "tsc"), "-p", "."],
              "tsc of the TypeScript sample")
    world.run(["node", "sample.js"], "the TypeScript sample")


GO_DECLARATION = re.compile(r"^(?P<names>\w+(?:\s*,\s*\w+)*)\s*:=")


@pytest.fixture(scope="session")
def go_gopath():
    """The Go client in GOPATH mode (clients/go/build.sh), as its own tests build it."""
    subprocess.run([os.path.join(REPO, "clients", "go", "build.sh"), GO_BUILD], check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(GO_BUILD, "gopath")


def run_go(world, sample, go_gopath):
    body = rewrite(sample.text, world.address)
    # Go refuses unused variables; samples stop where the reader's code would go on.
    declared = []
    for line in body.splitlines():
        match = GO_DECLARATION.match(line)
        if match:
            declared += [n.strip() for n in match.group("names").split(",")
                         if n.strip() not in ("_",) + tuple(declared)]
    uses = "".join("_ = %s\n" % name for name in declared if name != "err")
    ending = "return err\n" if "err" in declared else "return nil\n"
    program = textwrap.dedent("""\
        package main

        import (
        	"context"
        	"fmt"
        	"net/http"
        	"os"
        	"time"

        	"golang.org/x/oauth2"

        	credbroker "github.com/studio-example/credential-broker/clients/go"
        	"github.com/studio-example/credential-broker/clients/go/credbrokerv1"
        )

        var (
        	_ = oauth2.NewClient
        	_ = time.Second
        	_ = credbrokerv1.TokenCustody_TOKEN_CUSTODY_BROKER
        )

        // webSessions stands for a web framework's server-side session store.
        type webSessions map[string]string

        func (s webSessions) Put(w http.ResponseWriter, r *http.Request, key, value string) {{ s[key] = value }}
        func (s webSessions) Get(r *http.Request, key string) string {{ return s[key] }}

        func runSample(ctx context.Context, c *credbroker.Client) error {{
        	user, password, code := {user}, {password}, {code}
        	askForCode := func(attemptsLeft int32, previous *credbroker.BrokerError) (string, error) {{ return code, nil }}
        	store := webSessions{{}}
        	var w http.ResponseWriter
        	r := &http.Request{{}}
        	_, _, _, _, _, _, _ = user, password, code, askForCode, store, w, r
        	{{
        {body}
        {uses}{ending}	}}
        }}

        func main() {{
        	ctx := context.Background()
        	c, err := credbroker.Dial(ctx, {address}, credbroker.WithCA("ca.pem"))
        	if err == nil {{
        		defer c.Close()
        		err = runSample(ctx, c)
        	}}
        	if err != nil {{
        		fmt.Fprintln(os.Stderr, "the sample failed:", err)
        		os.Exit(1)
        	}}
        }}
        """).format(user='"%s"' % USER, password='"%s"' % PASSWORD, code='"%s"' % world.code(),
                    address='"%s"' % world.address, body=body, uses=uses, ending=ending)
    gopath = os.path.join(world.dir, "gopath")
    os.makedirs(os.path.join(gopath, "src", "docsample"))
    open(os.path.join(gopath, "src", "docsample", "main.go"), "w").write(program)
    env = dict(world.env, GO111MODULE="off", GOPROXY="off", GOFLAGS="",
               GOPATH=":".join([gopath, go_gopath, "/usr/share/gocode"]),
               GOCACHE=os.path.join(GO_BUILD, "gocache"))
    world.run(["go", "build", "-o", os.path.join(world.dir, "sample"), "docsample"],
              "go build of the Go sample", env=env)
    world.run([os.path.join(world.dir, "sample")], "the Go sample")


def run_cpp(world, sample):
    body = rewrite(sample.text, world.address)
    includes = "".join(l + "\n" for l in body.splitlines() if l.startswith("#include"))
    body = "".join(l + "\n" for l in body.splitlines() if not l.startswith("#include"))
    program = textwrap.dedent("""\
        #include <chrono>
        #include <iostream>
        #include <stdexcept>
        #include <string>

        #include <credbroker/client.h>
        {includes}
        namespace cb = credbroker::client;

        namespace {{
        const std::string kCode = "{code}";
        std::string AskPerson(const std::string& prompt) {{ return kCode; }}
        void CallShotGrid(const std::string& token) {{
          if (token.empty()) throw std::runtime_error("no access token");
        }}
        void Wait(std::chrono::milliseconds) {{
          throw std::runtime_error("the sample took its failure path: too many attempts");
        }}
        void SendToLogin() {{
          throw std::runtime_error("the sample took its failure path: back to the login page");
        }}
        }}  // namespace

        int main() {{
          const std::string user = "{user}", password = "{password}";
          cb::ChannelOptions given_tls;
          given_tls.ca_file = "ca.pem";
          auto stub = cb::ConnectStub("{address}", given_tls);
          auto ask_code = [](const cb::Challenge&) {{ return kCode; }};
          {{
        {body}
          }}
          return 0;
        }}
        """).format(includes=includes, code=world.code(), user=USER, password=PASSWORD,
                    address=world.address, body=indent_body(body, "    "))
    source = os.path.join(world.dir, "sample.cc")
    open(source, "w").write(program)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "grpc++", "protobuf"], check=True,
                           stdout=subprocess.PIPE, text=True).stdout.split()
    # A sanitizer build's libraries link only into a program built the same way.
    sanitized = os.environ.get("CREDBROKER_SANITIZE", "").upper() in ("1", "ON", "TRUE", "YES")
    sanitize = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"] if sanitized else []
    world.run(["c++", "-std=c++17", *sanitize, "-I", os.path.join(REPO, "clients", "cpp"),
               "-I", CPP_PROTO_INCLUDE, source, "-o", os.path.join(world.dir, "sample"),
               CPP_CLIENT_LIBRARY, CPP_PROTO_LIBRARY, *flags, "-lpthread"],
              "c++ of the C++ sample")
    world.run([os.path.join(world.dir, "sample")], "the C++ sample")


def console_commands(text):
    """The `$ ` lines of a transcript (with `\\` continuations), without trailing comments."""
    commands = []
    lines = iter(text.splitlines())
    for line in lines:
        if not line.startswith("$ "):
            continue
        command = line[2:]
        while command.rstrip().endswith("\\"):
            command = command.rstrip()[:-1] + " " + next(lines).strip()
        commands.append(re.sub(r"\s{2,}#.*$", "", command).strip())
    return commands


def run_console(world, sample):
    codes = iter([world.code()] + BACKUP_CODES)
    failures = os.path.join(world.dir, "failures")
    # A failed credbroker inside "$(...)" would be lost to eval: the wrapper records it.
    script = ['credbroker() { command credbroker "$@"; local status=$?; '
              '[ $status -eq 0 ] || echo "credbroker $* exited $status" >> %s; '
              'return $status; }' % failures]
    for number, command in enumerate(console_commands(rewrite(sample.text, world.address))):
        answers = os.path.join(world.dir, "answers%d" % number)
        # The person's answers to a login's prompts: username, password, code.
        with open(answers, "w") as f:
            if re.search(r"\blogin\b", command):
                f.write("%s\n%s\n%s\n" % (USER, PASSWORD, next(codes)))
        script += ["exec 0<%s" % answers, "echo '$ %s' >&2" % command.replace("'", "'\\''"),
                   command, 'status=$?; [ $status -eq 0 ] || echo "exit $status" >> %s' % failures]
    path = os.path.join(world.dir, "sample.sh")
    open(path, "w").write("\n".join(script) + "\n")
    env = dict(world.env, PATH=os.path.dirname(CLI) + os.pathsep + world.env["PATH"])
    env.pop("CREDBROKER_ADDR", None)
    env.pop("SHOTGRID_REFRESH_TOKEN", None)
    output = world.run(["bash", path], "the shell transcript", env=env)
    assert not os.path.exists(failures), "%s\n%s" % (open(failures).read(), output)


# --- the tests ----------------------------------------------------------------------------------

def test_every_sample_has_a_language_that_runs_or_a_not_run_mark():
    unknown = ["%s:%d (%r)" % (s.doc, s.line, s.language) for s in SAMPLES
               if s.not_run_reason is None and s.language not in LANGUAGES]
    assert not unknown, ("blocks in no language this test runs: give each one of %s or mark it "
                         "<!-- sample: not-run (why) -->: %s" % (", ".join(LANGUAGES), unknown))


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.language in LANGUAGES],
                         ids=lambda s: s.name)
def test_sample_runs(sample, make_stack, certs, tmp_path, request):
    if sample.not_run_reason is not None:
        pytest.skip("marked not-run: " + sample.not_run_reason)
    directory = tmp_path / "sample"
    directory.mkdir()
    world = SampleWorld(make_stack, certs, directory)
    if sample.language == "python":
        run_python(world, sample)
    elif sample.language == "ts":
        run_ts(world, sample, request.getfixturevalue("node_package"))
    elif sample.language == "go":
        run_go(world, sample, request.getfixturevalue("go_gopath"))
    elif sample.language == "cpp":
        run_cpp(world, sample)
    else:
        run_console(world, sample)
