// Uses the installed headers, generated stubs and library: connects to an
// address where nothing listens and expects a BrokerError (UNAVAILABLE).
#include <credbroker/client.h>

#include <iostream>

int main() {
  auto stub = credbroker::client::ConnectStub("127.0.0.1:1");
  credbroker::client::LoginOptions options;
  options.timeout = std::chrono::seconds(2);
  try {
    credbroker::client::Login(*stub, "nobody", "x", nullptr, options);
  } catch (const credbroker::client::BrokerError& error) {
    if (error.code() == grpc::StatusCode::UNAVAILABLE) {
      std::cout << "consumer ok: BrokerError UNAVAILABLE\n";
      return 0;
    }
    std::cerr << "unexpected error: " << error.what() << "\n";
    return 1;
  }
  std::cerr << "unexpected success\n";
  return 1;
}
