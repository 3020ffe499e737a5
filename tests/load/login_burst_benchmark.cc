// Load tool: fires N concurrent BeginLogin calls at a broker and reports how
// many succeeded, the wall time, latency percentiles and (given the broker's
// pid) the broker's peak thread count while the burst was in flight.
//
// usage: login_burst_benchmark --broker HOST:PORT --calls N --username U
//            --password-env VAR [--users N [--first K]] [--broker-pid PID]
//            [--custody caller|broker]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "credbroker/error_detail.h"
#include "credbroker/v1/broker.grpc.pb.h"

namespace {

namespace v1 = credbroker::v1;
using Clock = std::chrono::steady_clock;

struct Call {
  v1::BeginLoginRequest request;
  grpc::ClientContext context;
  v1::LoginResult result;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::LoginResult>> reader;
  Clock::time_point started;
  double latency_ms = 0;
};

// The Threads: line of /proc/PID/status, or -1.
int ThreadCount(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return -1;
}

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string broker = Flag(argc, argv, "--broker", "");
  const int calls = std::atoi(Flag(argc, argv, "--calls", "1000").c_str());
  const std::string username = Flag(argc, argv, "--username", "alice");
  // With --users N, call i logs in USERNAME-(FIRST + i mod N): different
  // people, each with a failure budget of their own. --first lets batches of
  // one run log in people no earlier batch did.
  const int users = std::max(0, std::atoi(Flag(argc, argv, "--users", "0").c_str()));
  const int first = std::max(0, std::atoi(Flag(argc, argv, "--first", "0").c_str()));
  const char* password =
      std::getenv(Flag(argc, argv, "--password-env", "CREDBROKER_PASSWORD").c_str());
  const int broker_pid = std::atoi(Flag(argc, argv, "--broker-pid", "0").c_str());
  // "broker": each login ends in a session the broker holds.
  const bool broker_custody = Flag(argc, argv, "--custody", "caller") == "broker";
  if (broker.empty() || calls <= 0 || password == nullptr) {
    std::cerr << "usage: login_burst_benchmark --broker HOST:PORT --calls N --username U "
                 "--password-env VAR [--users N [--first K]] [--broker-pid PID] "
                 "[--custody caller|broker]\n";
    return 2;
  }

  auto stub = v1::CredentialBroker::NewStub(
      grpc::CreateChannel(broker, grpc::InsecureChannelCredentials()));
  // Connect first so the burst measures logins, not the channel's handshake.
  v1::LoginResult warm;
  grpc::ClientContext warm_context;
  v1::BeginLoginRequest warm_request;  // empty username: refused by validation, no site call
  stub->BeginLogin(&warm_context, warm_request, &warm);

  std::atomic<bool> sampling{true};
  std::atomic<int> peak_threads{broker_pid > 0 ? ThreadCount(broker_pid) : -1};
  const int threads_before = peak_threads.load();
  std::thread sampler([&] {
    while (sampling && broker_pid > 0) {
      peak_threads = std::max(peak_threads.load(), ThreadCount(broker_pid));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });

  grpc::CompletionQueue queue;
  std::vector<std::unique_ptr<Call>> all(calls);
  for (int i = 0; i < calls; ++i) {
    all[i] = std::make_unique<Call>();
    v1::BeginLoginRequest& request = all[i]->request;
    request.set_username(users == 0 ? username
                                    : username + "-" + std::to_string(first + i % users));
    request.set_password(password);
    if (broker_custody) request.set_custody(v1::TOKEN_CUSTODY_BROKER);
  }
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < calls; ++i) {
    Call* call = all[i].get();
    const v1::BeginLoginRequest& request = call->request;
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    call->started = Clock::now();
    call->reader = stub->AsyncBeginLogin(&call->context, request, &queue);
    call->reader->Finish(&call->result, &call->status, call);
  }
  int done = 0, ok = 0;
  void* tag = nullptr;
  bool fine = false;
  while (done < calls && queue.Next(&tag, &fine)) {
    Call* call = static_cast<Call*>(tag);
    call->latency_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - call->started).count();
    ++done;
    if (call->status.ok()) {
      ++ok;
    } else if (done - ok <= 3) {
      std::cerr << "failed: " << call->status.error_message() << " ["
                << credbroker::client::ReasonOf(call->status) << "]\n";
    }
  }
  const double wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  sampling = false;
  sampler.join();
  queue.Shutdown();

  std::vector<double> latencies;
  for (const auto& call : all) latencies.push_back(call->latency_ms);
  std::sort(latencies.begin(), latencies.end());
  auto percentile = [&](double p) {
    return latencies[std::min<size_t>(latencies.size() - 1, p * latencies.size())];
  };

  std::cout << "calls:            " << calls << "\n"
            << "succeeded:        " << ok << "\n"
            << "wall time:        " << static_cast<int>(wall_ms) << " ms\n"
            << "latency p50/p99:  " << static_cast<int>(percentile(0.50)) << " / "
            << static_cast<int>(percentile(0.99)) << " ms\n";
  if (broker_pid > 0) {
    std::cout << "broker threads:   " << threads_before << " before, " << peak_threads
              << " at peak\n";
  }
  return ok == calls ? 0 : 1;
}
