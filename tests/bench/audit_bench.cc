// One audit line as a cache-hit IssueScriptSession writes it (audit.h): the
// event built from the call, the JSON line built and escaped, written and
// flushed under the logger's lock. To a stream that discards (the cost of
// building), and to /dev/null through a file stream (adds the write(2) each
// line's flush makes).
#include <benchmark/benchmark.h>

#include <fstream>
#include <ostream>
#include <streambuf>

#include "broker/telemetry/audit.h"
#include "broker/telemetry/logger.h"

namespace credbroker {
namespace {

// Accepts and forgets everything.
class NullBuffer final : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

CallContext TypicalCall() {
  CallContext call;
  call.request_id = "0123456789abcdef0123456789abcdef";
  call.caller = "token:lambda-webhooks";
  call.client_address = "ipv4:127.0.0.1:53412";
  call.user_agent = "grpc-c++/1.51.1 grpc-c/29.0.0 (linux; chttp2)";
  return call;
}

void WriteOne(Logger& logger, const CallContext& call) {
  AuditEvent event = AuditEventFor("issue_script_session", call);
  event.script_name = "ingest-bot";
  event.outcome = "session";
  event.site = "main";
  WriteAudit(logger, event, absl::OkStatus());
}

void BM_AuditLineToNullStream(benchmark::State& state) {
  NullBuffer buffer;
  std::ostream out(&buffer);
  Logger logger(LogLevel::kInfo, out);
  const CallContext call = TypicalCall();
  for (auto _ : state) WriteOne(logger, call);
}
BENCHMARK(BM_AuditLineToNullStream);

void BM_AuditLineToDevNull(benchmark::State& state) {
  std::ofstream out("/dev/null");
  Logger logger(LogLevel::kInfo, out);
  const CallContext call = TypicalCall();
  for (auto _ : state) WriteOne(logger, call);
}
BENCHMARK(BM_AuditLineToDevNull);

}  // namespace
}  // namespace credbroker
