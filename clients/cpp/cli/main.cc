// credbroker: log in to ShotGrid through the credential broker from a shell.
//   credbroker login [--site S] [--user U] [--session-token] [--format json|export]
//   credbroker login --browser [--site S] [--wait SECONDS] [--session-token] [--format ...]
//   credbroker refresh [--site S] [--refresh-token-file F] [--format ...]
//   credbroker revoke [--site S] [--refresh-token-file F]
//   credbroker script-token NAME [--site S] [--key-file F] [--sudo-as U] [--session-token]
// Secrets are read from the terminal, stdin, files or the environment, and
// are never printed in messages. Exit codes: cli/exit_codes.h.
#include <grpcpp/grpcpp.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "credbroker/client.h"
#include "exit_codes.h"
#include "interrupt.h"
#include "prompt.h"

namespace {

namespace client = credbroker::client;
namespace cli = credbroker::cli;
namespace v1 = credbroker::v1;

constexpr char kUsage[] =
    "usage: credbroker [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  login [--site S] [--user U] [--session-token] [--format json|export]\n"
    "      asks for the username (unless --user), the password (no echo) and, when the\n"
    "      site has two-factor authentication on, the code; prints the session.\n"
    "      Without a terminal, reads those answers as lines from standard input.\n"
    "  login --browser [--site S] [--wait SECONDS] [--session-token] [--format json|export]\n"
    "      sign-in approved in a browser (for SSO and Autodesk Identity sites, and any\n"
    "      other): prints the page to open on standard error, then waits until the\n"
    "      request is approved, rejected or expires (about 3 minutes), or --wait ends.\n"
    "      Ctrl-C stops the wait.\n"
    "      --session-token: a session token for shotgun_api3 / Toolkit instead of REST\n"
    "      tokens; prints the token alone (--json: the session as JSON; --format export:\n"
    "      SHOTGRID_SESSION_TOKEN).\n"
    "  refresh [--site S] [--refresh-token-file F] [--format json|export]\n"
    "      exchanges the refresh token in $SHOTGRID_REFRESH_TOKEN (or the file) for new\n"
    "      tokens. (--refresh-token T also works but puts the token on the command line.)\n"
    "  revoke [--site S] [--refresh-token-file F]\n"
    "      spends the refresh token in $SHOTGRID_REFRESH_TOKEN (or the file) at the site;\n"
    "      prints {\"revoked\": true}.\n"
    "  script-token NAME [--site S] [--key-file F] [--sudo-as USER] [--session-token]\n"
    "               [--format json|export]\n"
    "      a script-key session. The key comes from $CREDBROKER_SCRIPT_KEY or the file;\n"
    "      with neither, the broker's keyring supplies it (if its policy allows this caller).\n"
    "      --session-token as for login.\n"
    "\n"
    "global options:\n"
    "  --broker HOST:PORT         default $CREDBROKER_ADDR or 127.0.0.1:50051\n"
    "  --ca-file F                TLS: the CA bundle that signed the broker's certificate\n"
    "                             (a broker that is not on this machine is always TLS)\n"
    "  --cert F --key F           mutual TLS: this client's certificate and key\n"
    "  --service-token-file F     send the service token in F as a bearer token\n"
    "  --insecure                 plaintext to a broker on another machine (no service token)\n"
    "  --timeout SECONDS          deadline of each call (default 30)\n"
    "  --json                     JSON output, errors included (same as --format json; errors\n"
    "                             go to standard error as {\"error\": {...}})\n"
    "\n"
    "--format export prints `export SHOTGRID_ACCESS_TOKEN=...` lines for\n"
    "  eval \"$(credbroker login --format export)\"\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// --help, -h or `credbroker help`.
struct HelpRequested {};

const std::set<std::string> kGlobalOptions = {
    "broker", "ca-file", "cert", "key", "service-token-file", "timeout", "insecure", "json"};
// Options that take no value.
const std::set<std::string> kFlags = {"insecure", "json", "browser", "session-token"};
const std::map<std::string, std::set<std::string>> kCommandOptions = {
    {"login", {"site", "user", "format", "browser", "wait", "session-token"}},
    {"refresh", {"site", "refresh-token", "refresh-token-file", "format"}},
    {"revoke", {"site", "refresh-token", "refresh-token-file"}},
    {"script-token", {"site", "key-file", "sudo-as", "format", "session-token"}},
};

struct Args {
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;

  std::string Get(const std::string& name, const std::string& fallback = "") const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
  bool Has(const std::string& name) const { return options.count(name) > 0; }
};

// Parses argv; overwrites the value of --refresh-token in place so that it
// does not stay readable in /proc/PID/cmdline.
Args Parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word == "-h" || word == "--help") throw HelpRequested{};
    if (word.rfind("--", 0) != 0 || word.size() == 2) {
      if (args.command.empty()) {
        args.command = word;
        if (word != "help" && kCommandOptions.count(word) == 0) {
          throw UsageError("unknown command '" + word + "'");
        }
      } else {
        args.positional.push_back(word);
      }
      continue;
    }
    std::string name = word.substr(2);
    std::string value;
    char* value_memory = nullptr;
    const size_t equals = name.find('=');
    if (kFlags.count(name) > 0 && equals == std::string::npos) {
      args.options[name] = "true";
      continue;
    }
    if (equals != std::string::npos) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
      value_memory = argv[i] + 2 + equals + 1;
    } else {
      if (i + 1 >= argc) throw UsageError("--" + name + " needs a value");
      value = argv[++i];
      value_memory = argv[i];
    }
    if (name == "script-key" || name == "password") {
      throw UsageError("--" + name +
                       " is not accepted: secrets are never taken on the command line");
    }
    if (name == "refresh-token") std::memset(value_memory, 'x', std::strlen(value_memory));
    args.options[name] = value;
  }
  if (args.command == "help") throw HelpRequested{};
  if (args.command.empty()) throw UsageError("no command given");
  const std::set<std::string>& allowed = kCommandOptions.at(args.command);
  for (const auto& [name, value] : args.options) {
    if (kGlobalOptions.count(name) == 0 && allowed.count(name) == 0) {
      throw UsageError("unknown option --" + name + " for '" + args.command + "'");
    }
  }
  const size_t positional = args.command == "script-token" ? 1 : 0;
  if (args.positional.size() != positional) {
    throw UsageError(positional ? "script-token needs exactly one script NAME"
                                : "'" + args.command + "' takes no arguments");
  }
  const std::string format = args.Get("format", "json");
  if (format != "json" && format != "export") {
    throw UsageError("--format must be json or export");
  }
  if (args.Has("json") && format != "json") throw UsageError("--json and --format export clash");
  if (args.Has("browser") && args.Has("user")) {
    throw UsageError("--browser takes no --user: the person signs in on the approval page");
  }
  if (args.Has("wait") && !args.Has("browser")) throw UsageError("--wait goes with --browser");
  return args;
}

// A file holding one secret (key, token): its content without trailing whitespace.
std::string ReadSecretFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read the " + what + " file " + path);
  std::ostringstream content;
  content << in.rdbuf();
  std::string text = content.str();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (text.empty()) throw UsageError("the " + what + " file " + path + " is empty");
  return text;
}

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string Rfc3339(int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

// {"name": value, ...} from names and values already in JSON.
std::string JsonObject(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    out += (i ? ", " : "") + JsonString(fields[i].first) + ": " + fields[i].second;
  }
  return out + "}";
}

// How the session is printed: "json", "export", or "token" (the session
// token alone, the default with --session-token, for tools that take one).
std::string OutputFormat(const Args& args) {
  if (args.Has("session-token") && !args.Has("json") && !args.Has("format")) return "token";
  return args.Get("format", "json");
}

// `kind`: what was asked for.
void PrintSession(const v1::Session& session, const std::string& format,
                  v1::CredentialKind kind = v1::CREDENTIAL_KIND_REST) {
  const bool session_token = !session.session_token().empty();
  if (kind == v1::CREDENTIAL_KIND_SESSION_TOKEN && !session_token) {
    // A broker older than CREDENTIAL_KIND_SESSION_TOKEN ignores the kind.
    throw std::runtime_error("the broker answered no session token (is it older than this CLI?)");
  }
  if (format == "token") {
    std::cout << session.session_token() << "\n";
    return;
  }
  const int64_t expires_at = session.expire_time().seconds();
  if (format == "export") {
    if (session_token) {
      std::cout << "export SHOTGRID_SESSION_TOKEN=" << ShellQuote(session.session_token()) << "\n";
      if (!session.site_url().empty()) {
        std::cout << "export SHOTGRID_SITE_URL=" << ShellQuote(session.site_url()) << "\n";
      }
      return;
    }
    std::cout << "export SHOTGRID_ACCESS_TOKEN=" << ShellQuote(session.access_token()) << "\n";
    if (!session.refresh_token().empty()) {
      std::cout << "export SHOTGRID_REFRESH_TOKEN=" << ShellQuote(session.refresh_token()) << "\n";
    }
    std::cout << "export SHOTGRID_TOKEN_EXPIRES_AT=" << expires_at << "\n";
    return;
  }
  std::vector<std::pair<std::string, std::string>> fields;
  if (session_token) {
    // Session tokens carry no lifetime.
    fields.emplace_back("session_token", JsonString(session.session_token()));
  } else {
    fields = {
        {"access_token", JsonString(session.access_token())},
        {"token_type", JsonString(session.token_type())},
        {"expires_at", std::to_string(expires_at)},
        {"expire_time", JsonString(Rfc3339(expires_at))},
    };
  }
  if (!session.refresh_token().empty()) {
    fields.emplace_back("refresh_token", JsonString(session.refresh_token()));
  }
  if (!session.site().empty()) fields.emplace_back("site", JsonString(session.site()));
  if (!session.site_url().empty()) fields.emplace_back("site_url", JsonString(session.site_url()));
  const v1::Principal& who = session.principal();
  if (!who.user_login().empty()) fields.emplace_back("user_login", JsonString(who.user_login()));
  if (!who.script_name().empty()) {
    fields.emplace_back("script_name", JsonString(who.script_name()));
  }
  if (!who.sudo_as_login().empty()) {
    fields.emplace_back("sudo_as_login", JsonString(who.sudo_as_login()));
  }
  std::cout << JsonObject(fields) << "\n";
}

// Where the person approves a browser login: on standard error, where
// prompts go (standard output carries only the session); with --json as one
// JSON line there.
void PrintApproval(const Args& args, const client::BrowserApproval& approval) {
  const int64_t expires_at =
      std::chrono::duration_cast<std::chrono::seconds>(approval.expire_time.time_since_epoch())
          .count();
  if (args.Has("json")) {
    std::cerr << JsonObject(
                     {{"approval", JsonObject({{"approval_url", JsonString(approval.approval_url)},
                                               {"expires_at", std::to_string(expires_at)},
                                               {"expire_time", JsonString(Rfc3339(expires_at))}})}})
              << "\n"
              << std::flush;
    return;
  }
  const std::time_t t = static_cast<std::time_t>(expires_at);
  std::tm local{};
  localtime_r(&t, &local);
  char until[16];
  std::strftime(until, sizeof until, "%H:%M:%S", &local);
  std::cerr << "To sign in, open this page in a browser and approve the request:\n  "
            << approval.approval_url << "\nWaiting for the approval until " << until
            << " (Ctrl-C stops)...\n"
            << std::flush;
}

std::string Seconds(std::chrono::milliseconds duration) {
  const long long seconds = (duration.count() + 999) / 1000;
  return std::to_string(seconds) + (seconds == 1 ? " second" : " seconds");
}

// What to tell the person, from the reason; never echoes what they typed.
std::string Explain(const client::BrokerError& error, const Args& args, const std::string& broker) {
  const std::string& r = error.reason();
  const std::string site =
      args.Get("site").empty() ? "the default site" : "site '" + args.Get("site") + "'";
  if (args.Has("browser")) {
    if (r == "CHALLENGE_NOT_FOUND") {
      return "the sign-in request was rejected in the browser, or it expired. Run `credbroker "
             "login --browser` again to get a new one.";
    }
    if (r == "APPROVAL_PENDING") {
      return "nobody approved the sign-in request " +
             (args.Has("wait") ? "within " + args.Get("wait") + " seconds"
                               : std::string("before it expired")) +
             ". Run `credbroker login --browser` again and approve it in the browser.";
    }
  }
  if (r == "INVALID_CREDENTIALS") {
    return "wrong username or password for " + site +
           ". Check them and try again (5 failures in 15 minutes lock the login for a while).";
  }
  if (r == "INVALID_SECOND_FACTOR") {
    return "the two-factor code was not accepted and no attempts are left. Run `credbroker "
           "login` again and enter the current code from your authenticator app (or a backup "
           "code).";
  }
  if (r == "CHALLENGE_NOT_FOUND") {
    return "the two-factor challenge expired or was already used up. Run `credbroker login` "
           "again.";
  }
  if (r == "TOO_MANY_ATTEMPTS") {
    return "too many failed attempts for this login. Try again in " +
           (error.retry_after().count() > 0 ? Seconds(error.retry_after())
                                            : std::string("a few minutes")) +
           ".";
  }
  if (r == "UPSTREAM_UNAVAILABLE") {
    return "the ShotGrid site could not be reached (or is overloaded). Try again" +
           (error.retry_after().count() > 0 ? " in " + Seconds(error.retry_after())
                                            : std::string(" later")) +
           ". Broker said: " + error.message();
  }
  if (r == "UPSTREAM_PROTOCOL_ERROR") {
    return "the ShotGrid site answered something the broker could not read. Try again later; "
           "if it persists, tell the broker's operators.";
  }
  if (r == "STORE_UNAVAILABLE")
    return "the broker's state store is unavailable. Try again shortly.";
  if (r == "SSO_REQUIRED") {
    return site +
           " signs people in through SSO / Autodesk Identity: password login is not "
           "possible there. Use `credbroker login --browser`, or a script key for automation.";
  }
  if (r == "REFRESH_TOKEN_INVALID") {
    return "the refresh token was refused (already used, expired or not from this site). Run "
           "`credbroker login` again.";
  }
  if (r == "INVALID_SCRIPT_KEY") {
    return "the site refused script '" + (args.positional.empty() ? "" : args.positional[0]) +
           "' with this key. Check the script name and the key (in $CREDBROKER_SCRIPT_KEY or "
           "--key-file).";
  }
  if (r == "CALLER_UNAUTHENTICATED") {
    return "the broker did not recognise this client. Give it a client certificate (--cert/"
           "--key) or a service token (--service-token-file) it accepts.";
  }
  if (r == "CALLER_NOT_ALLOWED") {
    return "the broker (or the site) does not allow this: " + error.message();
  }
  if (r == "UNKNOWN_SITE")
    return "the broker has no site named '" + args.Get("site") + "'. Check --site.";
  if (r == "NOT_IMPLEMENTED") return "this broker does not support that yet: " + error.message();
  if (r.empty() && error.code() == grpc::StatusCode::UNAVAILABLE) {
    return "cannot reach the broker at " + broker + " (" + error.message() +
           "). Check --broker / $CREDBROKER_ADDR, and --ca-file if it uses TLS.";
  }
  if (r.empty() && error.code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return "the broker at " + broker + " did not answer in time. Try again, or raise --timeout.";
  }
  if (r.empty() && error.code() == grpc::StatusCode::UNAUTHENTICATED) {
    return "the broker refused this client's credentials (" + error.message() +
           "). Check --cert/--key and --service-token-file.";
  }
  // The broker's messages are written for people and carry no secrets.
  return error.message() + (r.empty() ? "" : " [" + r + "]");
}

// --NAME SECONDS: a positive whole number, or `fallback` when absent.
std::chrono::seconds SecondsOption(const Args& args, const std::string& name, int fallback) {
  if (!args.Has(name)) return std::chrono::seconds(fallback);
  int seconds = 0;
  try {
    seconds = std::stoi(args.Get(name));
  } catch (const std::exception&) {
    seconds = 0;
  }
  if (seconds <= 0) throw UsageError("--" + name + " must be a positive number of seconds");
  return std::chrono::seconds(seconds);
}

// The refresh token for refresh and revoke: the file, the option, or
// $SHOTGRID_REFRESH_TOKEN.
std::string RefreshTokenFrom(const Args& args) {
  std::string token;
  if (args.Has("refresh-token-file")) {
    token = ReadSecretFile(args.Get("refresh-token-file"), "refresh token");
  } else if (args.Has("refresh-token")) {
    token = args.Get("refresh-token");
  } else {
    token = EnvOr("SHOTGRID_REFRESH_TOKEN", "");
  }
  if (token.empty()) {
    throw UsageError("no refresh token: set $SHOTGRID_REFRESH_TOKEN or use --refresh-token-file");
  }
  return token;
}

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : "UNKNOWN";
}

// A failure for a person ("credbroker: ..." on standard error), or with
// --json one JSON object there: {"error": {"message", "exit_code", and for
// broker answers "code", "reason", "attempts_left", "retry_after_seconds"}}.
// The message never holds what the person typed.
void PrintError(const Args& args, const std::string& message, int exit_code,
                const client::BrokerError* error = nullptr) {
  if (!args.Has("json")) {
    std::cerr << "credbroker: " << message << "\n";
    return;
  }
  std::cerr << "{\"error\": {\"message\": " << JsonString(message)
            << ", \"exit_code\": " << exit_code;
  if (error != nullptr) {
    std::cerr << ", \"code\": " << JsonString(CodeName(error->code()))
              << ", \"reason\": " << JsonString(error->reason())
              << ", \"attempts_left\": " << error->attempts_left()
              << ", \"retry_after_seconds\": " << (error->retry_after().count() + 999) / 1000;
  }
  std::cerr << "}}\n";
}

int Run(const Args& args) {
  const std::string broker = args.Get("broker", EnvOr("CREDBROKER_ADDR", "127.0.0.1:50051"));
  client::ChannelOptions channel;
  channel.ca_file = args.Get("ca-file");
  channel.client_cert_file = args.Get("cert");
  channel.client_key_file = args.Get("key");
  channel.insecure = args.Has("insecure");
  if (args.Has("service-token-file")) {
    channel.service_token = ReadSecretFile(args.Get("service-token-file"), "service token");
  }
  const std::chrono::seconds timeout = SecondsOption(args, "timeout", 30);
  const std::chrono::seconds max_wait = SecondsOption(args, "wait", 0);
  const std::string format = OutputFormat(args);
  const std::string site = args.Get("site");
  const v1::CredentialKind kind =
      args.Has("session-token") ? v1::CREDENTIAL_KIND_SESSION_TOKEN : v1::CREDENTIAL_KIND_REST;

  // Everything the person must supply is gathered before the first call.
  std::shared_ptr<v1::CredentialBroker::Stub> stub;
  try {
    stub = client::ConnectStub(broker, channel);
  } catch (const std::invalid_argument& error) {
    throw UsageError(error.what());
  }
  auto context = [&] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + timeout);
    return c;
  };

  client::LoginCancellation cancellation;
  try {
    if (args.command == "login" && args.Has("browser")) {
      client::BrowserLoginOptions options;
      options.site = site;
      options.kind = kind;
      options.timeout = timeout;
      options.max_wait = max_wait;
      options.cancellation = &cancellation;
      cli::InterruptWatcher interrupt(&cancellation);
      const v1::Session session = client::BrowserLogin(
          *stub, [&](const client::BrowserApproval& approval) { PrintApproval(args, approval); },
          options);
      PrintSession(session, format, kind);
      return cli::kOk;
    }
    if (args.command == "login") {
      cli::Prompter prompter;
      std::string user = args.Get("user");
      if (user.empty()) user = prompter.Ask("ShotGrid username: ", "username");
      if (user.empty()) throw UsageError("no username given");
      const std::string password = prompter.AskSecret("Password for " + user + ": ", "password");
      client::LoginOptions options;
      options.site = site;
      options.timeout = timeout;
      options.kind = kind;
      const v1::Session session = client::Login(
          *stub, user, password,
          [&](const client::Challenge& challenge) {
            if (challenge.previous_error != nullptr) {
              std::cerr << "credbroker: that code was not accepted; " << challenge.attempts_left
                        << (challenge.attempts_left == 1 ? " attempt" : " attempts") << " left.\n";
            } else if (prompter.interactive()) {
              std::cerr << "The site asks for a two-factor code (authenticator app or backup "
                           "code).\n";
            }
            return prompter.Ask("Code: ", "two-factor code");
          },
          options);
      PrintSession(session, format, kind);
      return cli::kOk;
    }
    if (args.command == "revoke") {
      v1::RevokeSessionRequest request;
      request.set_site(site);
      request.set_refresh_token(RefreshTokenFrom(args));
      v1::RevokeSessionResponse response;
      client::ThrowIfError(stub->RevokeSession(context().get(), request, &response));
      std::cout << "{\"revoked\": true}\n";
      return cli::kOk;
    }
    if (args.command == "refresh") {
      const std::string token = RefreshTokenFrom(args);
      v1::RefreshSessionRequest request;
      request.set_site(site);
      request.set_refresh_token(token);
      v1::Session session;
      client::ThrowIfError(stub->RefreshSession(context().get(), request, &session));
      if (session.site().empty()) session.set_site(site);
      PrintSession(session, format, kind);
      return cli::kOk;
    }
    // script-token. No key: an empty one, and the broker's keyring supplies
    // it (docs/services.md) if its policy lets this caller use the script.
    const std::string key = args.Has("key-file")
                                ? ReadSecretFile(args.Get("key-file"), "script key")
                                : EnvOr("CREDBROKER_SCRIPT_KEY", "");
    v1::IssueScriptSessionRequest request;
    request.set_site(site);
    request.set_script_name(args.positional[0]);
    request.set_script_key(key);
    request.set_sudo_as_login(args.Get("sudo-as"));
    request.set_kind(kind);
    v1::Session session;
    client::ThrowIfError(stub->IssueScriptSession(context().get(), request, &session));
    PrintSession(session, format, kind);
    return cli::kOk;
  } catch (const client::BrokerError& error) {
    if (cancellation.cancelled()) {
      PrintError(args,
                 "stopped before the sign-in was approved (the request expires at the site "
                 "on its own).",
                 cli::kInterrupted, &error);
      return cli::kInterrupted;
    }
    const int exit_code = cli::ExitCodeFor(error, args.Has("browser"));
    PrintError(args, Explain(error, args, broker), exit_code, &error);
    return exit_code;
  } catch (const cli::InputEnded& error) {
    PrintError(args, error.what(), cli::kUsage);
    return cli::kUsage;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = Parse(argc, argv);
    return Run(args);
  } catch (const HelpRequested&) {
    std::cout << kUsage;
    return cli::kOk;
  } catch (const UsageError& error) {
    if (argc <= 1) {
      std::cerr << kUsage;
      return cli::kUsage;
    }
    // Parse() may have failed before it saw --json: look for it in argv.
    for (int i = 1; i < argc; ++i) {
      if (std::strcmp(argv[i], "--json") == 0) args.options["json"] = "true";
    }
    if (args.Has("json")) {
      PrintError(args, error.what(), cli::kUsage);
      return cli::kUsage;
    }
    std::cerr << "credbroker: " << error.what() << "\n(run `credbroker --help` for usage)\n";
    return cli::kUsage;
  } catch (const std::exception& error) {
    PrintError(args, error.what(), cli::kOther);
    return cli::kOther;
  }
}
