// Sealing and opening a challenge-sized record (AES-256-GCM, sealer.h), the
// SHA-256 digest a cache-hit IssueScriptSession with the caller's own key
// takes of that key (digest.h), and the random request id every call gets
// (random.h, OpenSSL's RAND_bytes).
#include <benchmark/benchmark.h>

#include <string>

#include "broker/common/random.h"
#include "broker/crypto/digest.h"
#include "broker/crypto/sealer.h"

namespace credbroker {
namespace {

// About what a held challenge seals: username, password and a few fields.
const std::string kRecord(160, 'r');
const std::string kAssociated = "challenge:0123456789abcdef0123456789abcdef";

void BM_Seal(benchmark::State& state) {
  const Sealer sealer = Sealer::WithRandomKey();
  for (auto _ : state) benchmark::DoNotOptimize(sealer.Seal(kRecord, kAssociated));
}
BENCHMARK(BM_Seal);

void BM_Open(benchmark::State& state) {
  const Sealer sealer = Sealer::WithRandomKey();
  const std::string sealed = sealer.Seal(kRecord, kAssociated);
  for (auto _ : state) {
    absl::StatusOr<std::string> opened = sealer.Open(sealed, kAssociated);
    if (!opened.ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(opened);
  }
}
BENCHMARK(BM_Open);

void BM_Sha256HexOfScriptKey(benchmark::State& state) {
  const std::string key = "ingest-bot-key-0001-0123456789abcdef0123456789";
  for (auto _ : state) benchmark::DoNotOptimize(Sha256Hex(key));
}
BENCHMARK(BM_Sha256HexOfScriptKey);

void BM_RandomHexRequestId(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(RandomHex(16));
}
BENCHMARK(BM_RandomHexRequestId)->Threads(1)->Threads(2);

}  // namespace
}  // namespace credbroker
