// How long the broker takes from exec to SERVING: starts the binary with a
// config, waits for its port file, then asks grpc.health.v1 for the broker's
// service every millisecond until it says SERVING. Prints both times.
//   start_to_serving BROKER_BINARY CONFIG.yaml PORT_FILE
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"

extern char** environ;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s BROKER_BINARY CONFIG.yaml PORT_FILE\n", argv[0]);
    return 2;
  }
  using Clock = std::chrono::steady_clock;
  const std::string port_file = argv[3];
  std::remove(port_file.c_str());
  char* child_argv[] = {argv[1], const_cast<char*>("--config"),
                        argv[2], const_cast<char*>("--port-file"),
                        argv[3], nullptr};
  const auto started = Clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[1], nullptr, nullptr, child_argv, environ) != 0) {
    std::perror("posix_spawn");
    return 1;
  }
  int port = 0;
  while (port == 0 && Clock::now() - started < std::chrono::seconds(10)) {
    std::ifstream in(port_file);
    if (!(in >> port)) port = 0;
    if (port == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const auto port_seen = Clock::now();
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  bool serving = false;
  while (!serving && port != 0 && Clock::now() - started < std::chrono::seconds(10)) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("credbroker.v1.CredentialBroker");
    grpc::health::v1::HealthCheckResponse response;
    serving = stub->Check(&context, request, &response).ok() &&
              response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    if (!serving) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const auto serving_at = Clock::now();
  kill(pid, SIGINT);
  waitpid(pid, nullptr, 0);
  const auto ms = [&](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(t - started).count();
  };
  if (!serving) {
    std::printf("never SERVING within 10 s (port file after %.1f ms)\n", ms(port_seen));
    return 1;
  }
  std::printf("port file %.1f ms, SERVING %.1f ms\n", ms(port_seen), ms(serving_at));
  return 0;
}
