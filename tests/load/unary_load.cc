// Load driver for unary calls: keeps a fixed number of calls in flight on
// several connections (like h2load -c CONNECTIONS -m STREAMS) for a duration
// or a call count, then prints QPS, p50/p99/p999 latency and the failed calls
// by gRPC status code and by the broker's ErrorDetail reason.
//
// Each connection is its own channel with distinct channel arguments and a
// local subchannel pool, so no two share a TCP connection. Calls go through
// the async API: one CompletionQueue per client thread, each thread driving
// its own share of the connections.
//
// usage: unary_load --target HOST:PORT
//          [--method issue_script_session|begin_login|get_access_token]
//          [--connections 8] [--streams 10] [--threads 1]
//          [--duration-s 10 | --calls N] [--warmup-s 1]
//          [--rate QPS]   open loop: calls start on a fixed schedule of QPS per
//                         second (latency counted from the scheduled start)
//                         instead of each slot starting its next call at once
//          issue_script_session: [--site S] --script NAME [--script-key-env VAR]
//                                [--token-env VAR]   (authorization: Bearer $VAR)
//          begin_login:          --usernames a,b,c --password-env VAR [--token-env VAR]
//          get_access_token:     --login USER --password-env VAR: logs USER in once with
//                                broker custody (a site without 2FA), then asks for the
//                                held session's access token again and again
//          [--label TEXT]
//
// The last line of output is machine-readable:
//   RESULT label=… calls=… ok=… failed=… seconds=… qps=… p50_ms=… p99_ms=… p999_ms=… max_ms=…
//          answered=… (every finished call, warm-up included)
#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "credbroker/error_detail.h"
#include "credbroker/v1/broker.grpc.pb.h"

namespace {

namespace v1 = credbroker::v1;
using Clock = std::chrono::steady_clock;

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::size_t end = comma == std::string::npos ? text.size() : comma;
    if (end > start) parts.push_back(text.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

std::string EnvOrEmpty(const std::string& name) {
  if (name.empty()) return "";
  const char* value = std::getenv(name.c_str());
  return value ? value : "";
}

struct Options {
  std::string target;
  std::string method = "issue_script_session";
  int connections = 8;
  int streams = 10;
  int threads = 1;
  double duration_s = 10;
  int64_t calls = 0;  // > 0: stop after this many measured calls instead
  double warmup_s = 1;
  double rate = 0;     // > 0: calls per second on a fixed schedule
  std::string bearer;  // service token, sent as authorization: Bearer
  std::string label;
  v1::IssueScriptSessionRequest issue;
  std::vector<v1::BeginLoginRequest> logins;  // cycled through
  v1::GetAccessTokenRequest token;
};

// Logs `login` in with broker custody and keeps the held session's id in
// options.token. A server that answers no session (the constant baseline)
// gets a fixed id: it answers every GetAccessToken the same way.
bool HeldSessionId(Options& options, const std::string& login, const std::string& password) {
  auto stub = v1::CredentialBroker::NewStub(
      grpc::CreateChannel(options.target, grpc::InsecureChannelCredentials()));
  v1::BeginLoginRequest request;
  request.set_username(login);
  request.set_password(password);
  request.set_custody(v1::TOKEN_CUSTODY_BROKER);
  v1::LoginResult result;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!options.bearer.empty()) context.AddMetadata("authorization", "Bearer " + options.bearer);
  const grpc::Status status = stub->BeginLogin(&context, request, &result);
  if (!status.ok()) {
    std::cerr << "unary_load: the login for a held session failed: " << status.error_message()
              << "\n";
    return false;
  }
  options.token.set_session_id(
      result.session().session_id().empty() ? "constant-baseline" : result.session().session_id());
  return true;
}

// What one client thread measured.
struct Tally {
  std::vector<uint32_t> latency_us;
  int64_t ok = 0;
  int64_t answered = 0;  // every finished call, warm-up included
  std::map<int, int64_t> by_code;
  std::map<std::string, int64_t> by_reason;
};

// The shared clock of the run: calls started before `measure_from` are
// warm-up; no call starts at or after `stop_at` (duration mode) or once
// `budget` is spent (count mode).
struct Run {
  // The schedule of an open-loop run: call k starts at paced_from + k / rate.
  Clock::time_point paced_from;
  std::atomic<int64_t> next_call{0};
  Clock::time_point measure_from;
  Clock::time_point stop_at;
  std::atomic<int64_t> budget{0};
  bool count_mode = false;
};

class Slot;

// One client thread: its CompletionQueue, its connections' stubs, its slots.
class Worker {
 public:
  Worker(const Options& options, Run& run) : options_(options), run_(run) {}

  void AddStub(std::shared_ptr<v1::CredentialBroker::Stub> stub) {
    stubs_.push_back(std::move(stub));
  }
  void Start();
  void Drive();  // runs the CompletionQueue until every slot has stopped
  Tally& tally() { return tally_; }

 private:
  friend class Slot;
  const Options& options_;
  Run& run_;
  grpc::CompletionQueue cq_;
  std::vector<std::shared_ptr<v1::CredentialBroker::Stub>> stubs_;
  std::vector<std::unique_ptr<Slot>> slots_;
  Tally tally_;
  int active_ = 0;
  uint64_t login_index_ = 0;
};

// One call in flight at a time, restarted as soon as it finishes.
class Slot {
 public:
  Slot(Worker& worker, v1::CredentialBroker::Stub& stub) : worker_(worker), stub_(stub) {}

  // Starts the next call, or (open loop) waits for its turn on the
  // schedule; false when the run is over for this slot.
  bool Next() {
    Clock::time_point now = Clock::now();
    const Options& options = worker_.options_;
    if (options.rate > 0) {
      const int64_t k = worker_.run_.next_call.fetch_add(1);
      now = worker_.run_.paced_from + std::chrono::nanoseconds(static_cast<int64_t>(
                                          static_cast<double>(k) * 1e9 / options.rate));
    }
    if (worker_.run_.count_mode) {
      if (now >= worker_.run_.measure_from && worker_.run_.budget.fetch_sub(1) <= 0) return false;
    } else if (now >= worker_.run_.stop_at) {
      return false;
    }
    started_ = now;
    if (options.rate > 0 && now > Clock::now()) {
      waiting_ = true;
      alarm_.Set(
          &worker_.cq_,
          std::chrono::system_clock::now() +
              std::chrono::duration_cast<std::chrono::system_clock::duration>(now - Clock::now()),
          this);
      return true;
    }
    Start();
    return true;
  }

  // Whether the slot waits for its alarm (the next tag is its start).
  bool waiting() const { return waiting_; }
  void Start() {
    waiting_ = false;
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    const Options& options = worker_.options_;
    if (!options.bearer.empty()) context_->AddMetadata("authorization", "Bearer " + options.bearer);
    status_ = grpc::Status();
    if (options.method == "begin_login") {
      const v1::BeginLoginRequest& request =
          options.logins[worker_.login_index_++ % options.logins.size()];
      login_reader_ = stub_.PrepareAsyncBeginLogin(context_.get(), request, &worker_.cq_);
      login_reader_->StartCall();
      login_reader_->Finish(&login_result_, &status_, this);
    } else if (options.method == "get_access_token") {
      token_reader_ = stub_.PrepareAsyncGetAccessToken(context_.get(), options.token, &worker_.cq_);
      token_reader_->StartCall();
      token_reader_->Finish(&access_token_, &status_, this);
    } else {
      session_reader_ =
          stub_.PrepareAsyncIssueScriptSession(context_.get(), options.issue, &worker_.cq_);
      session_reader_->StartCall();
      session_reader_->Finish(&session_, &status_, this);
    }
  }

  // Records the finished call (unless it started during warm-up).
  void Record() {
    Tally& tally = worker_.tally_;
    ++tally.answered;
    if (started_ < worker_.run_.measure_from) return;
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count();
    tally.latency_us.push_back(static_cast<uint32_t>(std::min<int64_t>(elapsed, UINT32_MAX)));
    if (status_.ok()) {
      ++tally.ok;
      return;
    }
    ++tally.by_code[status_.error_code()];
    const std::string reason = credbroker::client::ReasonOf(status_);
    ++tally.by_reason[reason.empty() ? "(none)" : reason];
  }

 private:
  Worker& worker_;
  v1::CredentialBroker::Stub& stub_;
  Clock::time_point started_;
  grpc::Alarm alarm_;
  bool waiting_ = false;
  std::unique_ptr<grpc::ClientContext> context_;
  grpc::Status status_;
  v1::Session session_;
  v1::LoginResult login_result_;
  v1::AccessToken access_token_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::Session>> session_reader_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::AccessToken>> token_reader_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::LoginResult>> login_reader_;
};

void Worker::Start() {
  for (auto& stub : stubs_) {
    for (int i = 0; i < options_.streams; ++i) {
      slots_.push_back(std::make_unique<Slot>(*this, *stub));
      if (slots_.back()->Next()) ++active_;
    }
  }
}

void Worker::Drive() {
  void* tag = nullptr;
  bool ok = false;
  while (active_ > 0 && cq_.Next(&tag, &ok)) {
    Slot* slot = static_cast<Slot*>(tag);
    if (slot->waiting()) {
      slot->Start();
      continue;
    }
    slot->Record();
    if (!slot->Next()) --active_;
  }
  cq_.Shutdown();
  while (cq_.Next(&tag, &ok)) {
  }
}

double Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const std::size_t index =
      std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())));
  return sorted[index] / 1000.0;
}

int Usage() {
  std::cerr << "usage: unary_load --target HOST:PORT\n"
               "  [--method issue_script_session|begin_login|get_access_token]\n"
               "  [--connections 8] [--streams 10] [--threads 1] [--duration-s 10 | --calls N]\n"
               "  [--warmup-s 1] [--rate QPS] [--token-env VAR] [--label TEXT]\n"
               "  issue_script_session: [--site S] --script NAME [--script-key-env VAR]\n"
               "  begin_login: --usernames a,b,c --password-env VAR\n"
               "  get_access_token: --login USER --password-env VAR\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  options.target = Flag(argc, argv, "--target", "");
  options.method = Flag(argc, argv, "--method", options.method);
  options.connections = std::atoi(Flag(argc, argv, "--connections", "8").c_str());
  options.streams = std::atoi(Flag(argc, argv, "--streams", "10").c_str());
  options.threads = std::atoi(Flag(argc, argv, "--threads", "1").c_str());
  options.duration_s = std::atof(Flag(argc, argv, "--duration-s", "10").c_str());
  options.calls = std::atoll(Flag(argc, argv, "--calls", "0").c_str());
  options.warmup_s = std::atof(Flag(argc, argv, "--warmup-s", "1").c_str());
  options.rate = std::atof(Flag(argc, argv, "--rate", "0").c_str());
  options.bearer = EnvOrEmpty(Flag(argc, argv, "--token-env", ""));
  options.label = Flag(argc, argv, "--label", options.method);
  if (options.target.empty() || options.connections <= 0 || options.streams <= 0 ||
      options.threads <= 0 || (options.calls <= 0 && options.duration_s <= 0)) {
    return Usage();
  }
  if (options.method == "issue_script_session") {
    options.issue.set_site(Flag(argc, argv, "--site", ""));
    options.issue.set_script_name(Flag(argc, argv, "--script", ""));
    options.issue.set_script_key(EnvOrEmpty(Flag(argc, argv, "--script-key-env", "")));
    if (options.issue.script_name().empty()) return Usage();
  } else if (options.method == "begin_login") {
    const std::string password = EnvOrEmpty(Flag(argc, argv, "--password-env", ""));
    for (const std::string& username : SplitCommas(Flag(argc, argv, "--usernames", ""))) {
      v1::BeginLoginRequest request;
      request.set_username(username);
      request.set_password(password);
      options.logins.push_back(std::move(request));
    }
    if (options.logins.empty() || password.empty()) return Usage();
  } else if (options.method == "get_access_token") {
    const std::string login = Flag(argc, argv, "--login", "");
    const std::string password = EnvOrEmpty(Flag(argc, argv, "--password-env", ""));
    if (login.empty() || password.empty()) return Usage();
    if (!HeldSessionId(options, login, password)) return 1;
  } else {
    return Usage();
  }

  // Distinct channels: a channel_id argument of their own and a local
  // subchannel pool, so each is its own TCP connection.
  options.threads = std::min(options.threads, options.connections);
  Run run;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < options.threads; ++t) {
    workers.push_back(std::make_unique<Worker>(options, run));
  }
  for (int c = 0; c < options.connections; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", c);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel =
        grpc::CreateCustomChannel(options.target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      std::cerr << "unary_load: cannot connect to " << options.target << "\n";
      return 1;
    }
    workers[c % options.threads]->AddStub(v1::CredentialBroker::NewStub(channel));
  }

  const Clock::time_point start = Clock::now();
  run.paced_from = start;
  run.measure_from =
      start + std::chrono::microseconds(static_cast<int64_t>(options.warmup_s * 1e6));
  run.count_mode = options.calls > 0;
  run.budget = options.calls;
  run.stop_at = run.count_mode
                    ? Clock::time_point::max()
                    : run.measure_from +
                          std::chrono::microseconds(static_cast<int64_t>(options.duration_s * 1e6));
  for (auto& worker : workers) worker->Start();
  std::vector<std::thread> threads;
  for (auto& worker : workers) threads.emplace_back([&worker] { worker->Drive(); });
  for (std::thread& thread : threads) thread.join();
  const Clock::time_point end = Clock::now();

  Tally total;
  for (auto& worker : workers) {
    Tally& tally = worker->tally();
    total.latency_us.insert(total.latency_us.end(), tally.latency_us.begin(),
                            tally.latency_us.end());
    total.ok += tally.ok;
    total.answered += tally.answered;
    for (const auto& [code, n] : tally.by_code) total.by_code[code] += n;
    for (const auto& [reason, n] : tally.by_reason) total.by_reason[reason] += n;
  }
  std::sort(total.latency_us.begin(), total.latency_us.end());
  const int64_t calls = static_cast<int64_t>(total.latency_us.size());
  // Duration mode measures the window; count mode from the end of warm-up
  // to the last answer.
  const double seconds =
      run.count_mode ? std::chrono::duration<double>(end - run.measure_from).count()
                     : std::chrono::duration<double>(run.stop_at - run.measure_from).count();
  const double qps = seconds > 0 ? calls / seconds : 0;

  std::cout << options.label << ": " << options.connections << " connections x " << options.streams
            << " streams, " << options.threads << " client thread(s)\n";
  for (const auto& [code, n] : total.by_code) {
    std::cout << "  failed with status " << code << ": " << n << "\n";
  }
  for (const auto& [reason, n] : total.by_reason) {
    std::cout << "  failed with reason " << reason << ": " << n << "\n";
  }
  char line[512];
  std::snprintf(line, sizeof(line),
                "RESULT label=%s calls=%lld ok=%lld failed=%lld seconds=%.3f qps=%.0f "
                "p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f answered=%lld",
                options.label.c_str(), static_cast<long long>(calls),
                static_cast<long long>(total.ok), static_cast<long long>(calls - total.ok), seconds,
                qps, Percentile(total.latency_us, 0.50), Percentile(total.latency_us, 0.99),
                Percentile(total.latency_us, 0.999),
                total.latency_us.empty() ? 0.0 : total.latency_us.back() / 1000.0,
                static_cast<long long>(total.answered));
  std::cout << line << std::endl;
  return calls > 0 && total.ok == calls ? 0 : 3;
}
