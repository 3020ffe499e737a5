// HTTP wiring of the fake site: routing, content negotiation, fault injection and the control
// API. The ShotGrid rules themselves live in token_endpoint.cc.
#include "site.h"

#include <httplib.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>

#include "keep_alive_server.h"
#include "random_id.h"

namespace fake_shotgrid {

namespace {

constexpr const char* kJsonType = "application/json; charset=utf-8";

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "Application/X-WWW-Form-Urlencoded; charset=UTF-8" -> "application/x-www-form-urlencoded"
std::string MediaType(const std::string& content_type) {
  std::string media = content_type.substr(0, content_type.find(';'));
  media.erase(0, media.find_first_not_of(" \t"));
  media.erase(media.find_last_not_of(" \t") + 1);
  return Lower(media);
}

void Send(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_header("x-request-id", RandomHex(16));
  res.set_content(body.dump(), kJsonType);
}

void Send(httplib::Response& res, const ApiReply& reply) { Send(res, reply.status, reply.body); }

void SendError(httplib::Response& res, int status, int code, const std::string& title,
               nlohmann::json detail = nullptr) {
  Send(res, ErrorReply(status, code, title, nullptr, std::move(detail)));
}

// Merges `text` (a=b&c=d) into params; the first occurrence of a name wins.
void AddQueryText(const std::string& text, TokenParams* params) {
  httplib::Params parsed;
  httplib::detail::parse_query_text(text, parsed);
  for (const auto& kv : parsed) params->emplace(kv.first, kv.second);
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Temporarily Unavailable";
    case 504:
      return "Gateway Time-out";
    default:
      return "Error";
  }
}

// Answers as a broken proxy or site would, instead of the real token logic.
void ApplyFailure(const FailSpec& fail, httplib::Response& res) {
  switch (fail.kind) {
    case FailKind::kStatus: {
      res.status = fail.status;
      res.set_header("x-request-id", RandomHex(16));
      if (fail.retry_after >= 0) res.set_header("Retry-After", std::to_string(fail.retry_after));
      std::string title = std::to_string(fail.status) + " " + ReasonPhrase(fail.status);
      if (fail.json_body) {
        res.set_content(ErrorEnvelope(fail.status, 103, ReasonPhrase(fail.status)).dump(),
                        kJsonType);
      } else {
        // Shaped like nginx's stock page, the usual thing in front of a site.
        res.set_content("<html>\r\n<head><title>" + title +
                            "</title></head>\r\n<body>\r\n"
                            "<center><h1>" +
                            title +
                            "</h1></center>\r\n<hr><center>nginx</center>\r\n"
                            "</body>\r\n</html>\r\n",
                        "text/html");
      }
      return;
    }
    case FailKind::kMalformedJson:
      res.status = 200;
      res.set_header("x-request-id", RandomHex(16));
      res.set_content(R"({"token_type":"Bearer","access_token":"eyJhbGciOiJIUzI1NiJ9.eyJ)",
                      kJsonType);
      return;
    case FailKind::kReset:
      // Promise a body, send a few bytes, then abort: httplib closes the connection and the
      // client sees a transport error mid-body, like a proxy reset.
      res.status = 200;
      res.set_content_provider(4096, kJsonType, [](size_t offset, size_t, httplib::DataSink& sink) {
        if (offset == 0) sink.write("{\"token_type\":", 14);
        return false;
      });
      return;
  }
}

using BodyHandler =
    std::function<void(const httplib::Request&, httplib::Response&, const std::string& body)>;

// cpp-httplib waits for a POST body until its read timeout when no Content-Length is sent
// (curl -X POST with the parameters in the query string does that). Reading the body ourselves
// lets such a request count as "empty body" right away.
httplib::Server::HandlerWithContentReader WithBody(BodyHandler handler) {
  return [handler](const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader) {
    std::string body;
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
      reader([&body](const char* data, size_t n) {
        body.append(data, n);
        return true;
      });
    }
    handler(req, res, body);
  };
}

bool ParseJsonBody(const std::string& text, httplib::Response& res, nlohmann::json* out) {
  if (text.empty()) {
    *out = nlohmann::json::object();
    return true;
  }
  try {
    *out = nlohmann::json::parse(text);
    return true;
  } catch (const std::exception&) {
    SendError(res, 400, 103, "Invalid JSON body");
    return false;
  }
}

std::string HtmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void SendHtml(httplib::Response& res, int status, const std::string& title,
              const std::string& body) {
  res.status = status;
  res.set_header("x-request-id", RandomHex(16));
  res.set_content("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" +
                      HtmlEscape(title) + "</title></head>\n<body>\n<h1>" + HtmlEscape(title) +
                      "</h1>\n" + body + "</body></html>\n",
                  "text/html; charset=utf-8");
}

// The page a person sees at a launcher request's url: who asks, and a sign-in form whose
// Approve and Reject buttons decide the request.
std::string ApprovalForm(const std::string& id, const std::string& app_name,
                         const std::string& machine_id, const std::string& notice) {
  std::string action = "/app_session_request/" + HtmlEscape(id);
  return (notice.empty() ? "" : "<p id=\"notice\">" + HtmlEscape(notice) + "</p>\n") +
         "<p>The application <b id=\"app-name\">" + HtmlEscape(app_name) +
         "</b> on <b id=\"machine-id\">" + HtmlEscape(machine_id) +
         "</b> asks to sign in to this site as you.</p>\n"
         "<form method=\"post\" action=\"" +
         action +
         "\">\n"
         "<label>Login <input id=\"login\" name=\"login\" autocomplete=\"username\"></label>\n"
         "<label>Password <input id=\"password\" name=\"password\" type=\"password\" "
         "autocomplete=\"current-password\"></label>\n"
         "<button id=\"approve\" name=\"decision\" value=\"approve\" type=\"submit\">Approve"
         "</button>\n"
         "<button id=\"reject\" name=\"decision\" value=\"reject\" type=\"submit\">Reject"
         "</button>\n"
         "</form>\n";
}

// A pool whose every thread has drawn random bytes once. OpenSSL 3 makes a thread's random
// generator on its first use, under one lock: a burst of 1,000 answers all due at the same
// instant (a latency fault) queued on it for seconds on two cores.
httplib::ThreadPool* NewWarmPool(size_t threads) {
  auto* pool = new httplib::ThreadPool(threads);
  struct Countdown {
    std::mutex mu;
    std::condition_variable all_here;
    size_t left;
  };
  auto countdown = std::make_shared<Countdown>();
  countdown->left = threads;
  for (size_t i = 0; i < threads; ++i) {
    // Each task holds its thread until every thread has one, so no thread takes two.
    pool->enqueue([countdown] {
      RandomBytes(1);
      std::unique_lock<std::mutex> lock(countdown->mu);
      if (--countdown->left == 0) countdown->all_here.notify_all();
      countdown->all_here.wait(lock, [&] { return countdown->left == 0; });
    });
  }
  return pool;
}

}  // namespace

FakeShotgridSite::FakeShotgridSite(SiteOptions options)
    : options_(std::move(options)),
      settings_(options_.settings),
      endpoint_(options_.fixtures, settings_),
      api3_(endpoint_, settings_, counters_),
      launcher_(endpoint_, settings_, counters_) {}

FakeShotgridSite::~FakeShotgridSite() { Stop(); }

std::string FakeShotgridSite::base_url() const {
  std::string host = options_.host;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  return std::string(tls() ? "https" : "http") + "://" + host + ":" + std::to_string(port_);
}

nlohmann::json FakeShotgridSite::StatsJson() const {
  nlohmann::json stats = counters_.ToJson();
  stats["failed_logins"] = endpoint_.FailedLoginsJson();
  stats["locked"] = endpoint_.LockedJson();
  return stats;
}

void FakeShotgridSite::ResetAll() {
  counters_.Reset();
  faults_.Reset();
  settings_.Reset();
  endpoint_.Reset();
  launcher_.Reset();
}

bool FakeShotgridSite::Start(std::string* error) {
  if (tls() != !options_.tls_key.empty()) {
    *error = "--tls-cert and --tls-key go together";
    return false;
  }
  if (tls()) {
    server_ =
        std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
  } else {
    server_ = std::make_unique<KeepAliveServer>();
  }
  if (!server_->is_valid()) {
    *error = "cannot load TLS certificate/key";
    return false;
  }
  // Each served connection holds a descriptor; 1,000+ at once exceeds the usual soft limit.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  const size_t threads = options_.threads;
  server_->new_task_queue = [threads] { return NewWarmPool(threads); };
  server_->set_keep_alive_max_count(100000);
  // Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and the
  // client's delayed ACK add ~40 ms to every answer.
  server_->set_tcp_nodelay(true);
  // cpp-httplib 0.11 listens with a backlog of 5, which makes a burst of 1,000 connects wait
  // for SYN retransmits; capture the socket so the backlog can be raised after bind.
  auto listen_fd = std::make_shared<std::atomic<int>>(-1);
  server_->set_socket_options([listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd->store(sock);
  });
  if (!options_.quiet) {
    server_->set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::cerr << req.method << " " << req.path << " " << res.status << "\n";
    });
  }
  InstallRoutes();

  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
    if (port_ <= 0) {
      *error = "cannot bind " + options_.host + ":0";
      return false;
    }
  } else {
    if (!server_->bind_to_port(options_.host, options_.port)) {
      *error = "cannot bind " + options_.host + ":" + std::to_string(options_.port);
      return false;
    }
    port_ = options_.port;
  }
  if (listen_fd->load() >= 0) ::listen(listen_fd->load(), 4096);

  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs, so wait for it before reporting ready.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_->is_running()) {
    *error = "server did not start";
    return false;
  }
  return true;
}

void FakeShotgridSite::Stop() {
  if (!server_) return;
  server_->stop();
  if (auto* plain = dynamic_cast<KeepAliveServer*>(server_.get())) plain->ReleaseIdle();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

void FakeShotgridSite::InstallRoutes() {
  httplib::Server& svr = *server_;
  const char* kTokenPath = R"(/api/v1(?:\.1)?/auth/access_token)";
  const char* kProjectsPath = R"(/api/v1(?:\.1)?/entity/projects)";

  svr.Post(kTokenPath, WithBody([this](const httplib::Request& req, httplib::Response& res,
                                       const std::string& body) {
             TokenParams params;
             std::string unsupported_type;
             bool bad_json = false;
             const std::string media = MediaType(req.get_header_value("Content-Type"));
             if (!body.empty()) {
               // No Content-Type at all: read it as a form, which is what such a body almost always
               // is.
               if (media == "application/x-www-form-urlencoded" || media.empty()) {
                 AddQueryText(body, &params);
               } else if (media == "application/json") {
                 try {
                   auto doc = nlohmann::json::parse(body);
                   if (!doc.is_object()) throw std::runtime_error("not an object");
                   for (auto& [k, v] : doc.items()) {
                     params.emplace(k, v.is_string() ? v.get<std::string>() : v.dump());
                   }
                 } catch (const std::exception&) {
                   bad_json = true;
                 }
               } else {
                 unsupported_type = media;
               }
             }
             auto q = req.target.find('?');
             if (q != std::string::npos) AddQueryText(req.target.substr(q + 1), &params);

             auto grant = params.find("grant_type");
             InFlightGuard in_flight(counters_, grant == params.end() ? "" : grant->second);

             if (int latency = faults_.latency_ms(); latency > 0) {
               std::this_thread::sleep_for(std::chrono::milliseconds(latency));
             }
             if (auto fail = faults_.TakeFailure()) {
               ApplyFailure(*fail, res);
               return;
             }
             if (!unsupported_type.empty()) {
               SendError(res, 415, 103, "Unsupported Content-Type '" + unsupported_type + "'");
               return;
             }
             if (bad_json) {
               SendError(res, 400, 103, "Invalid JSON body");
               return;
             }
             Send(res, endpoint_.Handle(params));
           }));

  svr.Get(kProjectsPath, [this](const httplib::Request& req, httplib::Response& res) {
    counters_.CountEntityRead();
    std::string auth = req.get_header_value("Authorization");
    const std::string kBearer = "bearer ";
    bool ok = auth.size() > kBearer.size() && Lower(auth.substr(0, kBearer.size())) == kBearer &&
              endpoint_.VerifyAccessToken(auth.substr(kBearer.size())).has_value();
    if (!ok) {
      SendError(res, 401, 102, "Unauthorized", "Token invalid");
      return;
    }
    nlohmann::json data = nlohmann::json::array();
    for (const auto& p : fixtures::kProjects) {
      data.push_back({{"type", "Project"}, {"id", p.id}, {"attributes", {{"name", p.name}}}});
    }
    Send(res, 200, {{"data", data}});
  });

  // shotgun_api3 and Toolkit: every call is a JSON POST here, answered 200 even on failure.
  svr.Post("/api3/json",
           WithBody([this](const httplib::Request&, httplib::Response& res,
                           const std::string& body) { Send(res, api3_.Handle(body)); }));

  // App session launcher (tk-core's browser-approved login).
  svr.Post("/internal_api/app_session_request",
           WithBody([this](const httplib::Request& req, httplib::Response& res,
                           const std::string& body) {
             TokenParams form;
             AddQueryText(body, &form);
             // The url is for the person's browser: the host the client reached, or ours.
             std::string host = req.get_header_value("Host");
             std::string site =
                 host.empty() ? base_url() : std::string(tls() ? "https" : "http") + "://" + host;
             Send(res, launcher_.Create(form["appName"], form["machineId"], site));
           }));
  svr.Put(R"(/internal_api/app_session_request/([^/]+))",
          WithBody([this](const httplib::Request& req, httplib::Response& res, const std::string&) {
            Send(res, launcher_.Poll(req.matches[1]));
          }));
  svr.Get(R"(/app_session_request/([^/]+))", [this](const httplib::Request& req,
                                                    httplib::Response& res) {
    const std::string id = req.matches[1];
    auto about = launcher_.Describe(id);
    if (!about) {
      return SendHtml(res, 404, "Request not found",
                      "<p>This request has expired or was already decided.</p>\n");
    }
    SendHtml(res, 200, "Approve sign-in", ApprovalForm(id, about->first, about->second, ""));
  });
  svr.Post(
      R"(/app_session_request/([^/]+))",
      WithBody(
          [this](const httplib::Request& req, httplib::Response& res, const std::string& body) {
            const std::string id = req.matches[1];
            TokenParams form;
            AddQueryText(body, &form);
            auto about = launcher_.Describe(id);
            if (!about) {
              return SendHtml(res, 404, "Request not found",
                              "<p>This request has expired or was already decided.</p>\n");
            }
            if (form["decision"] == "reject") {
              launcher_.Reject(id);
              return SendHtml(res, 200, "Request rejected",
                              "<p id=\"result\">Rejected. You can close this window.</p>\n");
            }
            // The person signs in on this page; a wrong password never approves.
            const UserFixture* user = endpoint_.ActiveUser(form["login"]);
            if (user == nullptr || form["password"].empty() || user->password != form["password"]) {
              return SendHtml(
                  res, 403, "Approve sign-in",
                  ApprovalForm(id, about->first, about->second, "Wrong login or password."));
            }
            if (launcher_.Approve(id, user->login) != AppSessionLauncher::Decision::kApproved) {
              return SendHtml(res, 404, "Request not found",
                              "<p>This request has expired or was already decided.</p>\n");
            }
            SendHtml(res, 200, "Request approved",
                     "<p id=\"result\">Approved. You can close this window.</p>\n");
          }));

  svr.Get("/_fake/stats",
          [this](const httplib::Request&, httplib::Response& res) { Send(res, 200, StatsJson()); });
  svr.Post("/_fake/reset",
           WithBody([this](const httplib::Request&, httplib::Response& res, const std::string&) {
             ResetAll();
             Send(res, 200, {{"ok", true}});
           }));
  svr.Get("/_fake/faults", [this](const httplib::Request&, httplib::Response& res) {
    Send(res, 200, faults_.ToJson());
  });
  svr.Post("/_fake/faults", WithBody([this](const httplib::Request&, httplib::Response& res,
                                            const std::string& text) {
             nlohmann::json body;
             if (!ParseJsonBody(text, res, &body)) return;
             std::string error;
             if (!faults_.ApplyJson(body, &error)) return SendError(res, 400, 103, error);
             Send(res, 200, faults_.ToJson());
           }));
  svr.Get("/_fake/clock", [this](const httplib::Request&, httplib::Response& res) {
    Send(res, 200, {{"offset_seconds", settings_.ClockOffset()}, {"now", settings_.Now()}});
  });
  svr.Post(
      "/_fake/clock",
      WithBody([this](const httplib::Request&, httplib::Response& res, const std::string& text) {
        nlohmann::json body;
        if (!ParseJsonBody(text, res, &body)) return;
        if (!body.is_object() || !body.contains("offset_seconds") ||
            !body["offset_seconds"].is_number_integer()) {
          return SendError(res, 400, 103, "offset_seconds must be an integer");
        }
        settings_.SetClockOffset(body["offset_seconds"].get<int64_t>());
        Send(res, 200, {{"offset_seconds", settings_.ClockOffset()}, {"now", settings_.Now()}});
      }));
  svr.Get("/_fake/settings", [this](const httplib::Request&, httplib::Response& res) {
    Send(res, 200, settings_.ToJson());
  });
  svr.Post("/_fake/settings", WithBody([this](const httplib::Request&, httplib::Response& res,
                                              const std::string& text) {
             nlohmann::json body;
             if (!ParseJsonBody(text, res, &body)) return;
             std::string error;
             if (!settings_.ApplyJson(body, &error)) return SendError(res, 400, 103, error);
             Send(res, 200, settings_.ToJson());
           }));

  svr.Get("/_fake/app_session_request", [this](const httplib::Request&, httplib::Response& res) {
    Send(res, 200, {{"requests", launcher_.ToJson()}});
  });
  svr.Post(
      R"(/_fake/app_session_request/([^/]+))",
      WithBody(
          [this](const httplib::Request& req, httplib::Response& res, const std::string& text) {
            nlohmann::json body;
            if (!ParseJsonBody(text, res, &body)) return;
            const std::string id = req.matches[1];
            if (body.is_object() && body.contains("fail_polls")) {
              const auto& n = body["fail_polls"];
              const int status = body.value("status", 503);
              if (!n.is_number_integer() || n.get<int>() < 0 || status < 500 || status > 599) {
                return SendError(res, 400, 103, "fail_polls must be a count and status a 5xx code");
              }
              if (!launcher_.FailPolls(id, n.get<int>(), status)) {
                return SendError(res, 404, 103, "No live request " + id);
              }
              return Send(res, 200, {{"fail_polls", n}, {"status", status}});
            }
            const bool reject = body.is_object() && body.value("reject", false) == true;
            const bool approve =
                body.is_object() && body.contains("approve_as") && body["approve_as"].is_string();
            if (reject == approve) {
              return SendError(res, 400, 103, "give either approve_as (a login) or reject: true");
            }
            auto decision = reject ? launcher_.Reject(id)
                                   : launcher_.Approve(id, body["approve_as"].get<std::string>());
            switch (decision) {
              case AppSessionLauncher::Decision::kApproved:
                return Send(res, 200, {{"state", "approved"}});
              case AppSessionLauncher::Decision::kRejected:
                return Send(res, 200, {{"state", "rejected"}});
              case AppSessionLauncher::Decision::kUnknownUser:
                return SendError(res, 400, 103, "approve_as must be an active user's login");
              case AppSessionLauncher::Decision::kUnknownRequest:
                break;
            }
            SendError(res, 404, 103, "No pending request " + id);
          }));
  svr.Post("/_fake/session_token", WithBody([this](const httplib::Request&, httplib::Response& res,
                                                   const std::string& text) {
             nlohmann::json body;
             if (!ParseJsonBody(text, res, &body)) return;
             SessionHolder holder;
             if (body.is_object() && body.contains("login") && body["login"].is_string()) {
               const UserFixture* user = endpoint_.ActiveUser(body["login"].get<std::string>());
               if (user == nullptr) {
                 return SendError(res, 400, 103, "login must be an active user's login");
               }
               holder = {"HumanUser", user->id, user->login};
             } else if (body.is_object() && body.contains("script") && body["script"].is_string()) {
               const std::string name = body["script"].get<std::string>();
               const ScriptFixture* script = nullptr;
               for (const auto& s : options_.fixtures.scripts) {
                 if (s.name == name) script = &s;
               }
               if (script == nullptr)
                 return SendError(res, 400, 103, "script must be a script name");
               holder = {"ApiUser", script->id, script->name};
             } else {
               return SendError(res, 400, 103, "give login or script");
             }
             int64_t expires_at = 0;
             std::string token = endpoint_.MintSessionToken(holder, &expires_at);
             Send(res, 200, {{"session_token", token}, {"expires_at", expires_at}});
           }));

  // Everything else, including other API versions, is a JSON:API 404 like the real site's.
  auto not_found = [](const httplib::Request& req, httplib::Response& res) {
    SendError(res, 404, 103, "Not found", "No route for " + req.method + " " + req.path);
  };
  auto not_found_with_body =
      WithBody([not_found](const httplib::Request& req, httplib::Response& res,
                           const std::string&) { not_found(req, res); });
  svr.Get(".*", not_found);
  svr.Post(".*", not_found_with_body);
  svr.Put(".*", not_found_with_body);
  svr.Patch(".*", not_found_with_body);
  svr.Delete(".*", not_found);
  svr.Options(".*", not_found);
}

}  // namespace fake_shotgrid
