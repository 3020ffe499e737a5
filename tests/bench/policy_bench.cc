// Policy checks (policy.h) as a keyring IssueScriptSession makes them: the
// method (at admission), the script and sudo_as, against a policy of a few
// dozen callers; and taking the live policy's snapshot, which every such call
// does twice.
#include <benchmark/benchmark.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "broker/identity/policy.h"

namespace credbroker {
namespace {

// 40 callers; the one asked about comes last, the worst case for a scan.
Policy MakePolicy() {
  std::string yaml = "callers:\n";
  for (int i = 0; i < 40; ++i) {
    absl::StrAppend(&yaml, "  - identity: service-", i,
                    "\n    methods: [IssueScriptSession]\n    scripts: [script-", i,
                    ", \"render-*\"]\n    sudo_as: [\"pipeline-*\"]\n");
  }
  absl::StrAppend(&yaml,
                  "  - identity: lambda-webhooks\n    methods: [IssueScriptSession]\n"
                  "    scripts: [ingest-bot]\n    sudo_as: [\"pipeline-*\"]\n");
  absl::StatusOr<Policy> policy = Policy::Parse(yaml, "bench");
  return policy.ok() ? *std::move(policy) : Policy();
}

void BM_PolicyAllowsMethod(benchmark::State& state) {
  const Policy policy = MakePolicy();
  for (auto _ : state) {
    benchmark::DoNotOptimize(policy.AllowsMethod("token:lambda-webhooks", "IssueScriptSession"));
  }
}
BENCHMARK(BM_PolicyAllowsMethod);

void BM_PolicyAllowsScriptAndSudo(benchmark::State& state) {
  const Policy policy = MakePolicy();
  if (!policy.AllowsScript("token:lambda-webhooks", "ingest-bot")) {
    state.SkipWithError("policy does not grant the script");
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(policy.AllowsScript("token:lambda-webhooks", "ingest-bot"));
    benchmark::DoNotOptimize(policy.AllowsSudo("token:lambda-webhooks", "pipeline-42"));
  }
}
BENCHMARK(BM_PolicyAllowsScriptAndSudo);

void BM_MatchesPatternGlob(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(MatchesPattern("render-*-farm", "render-01-farm"));
}
BENCHMARK(BM_MatchesPatternGlob);

void BM_LivePolicyCurrent(benchmark::State& state) {
  const LivePolicy live("");
  for (auto _ : state) benchmark::DoNotOptimize(live.Current());
}
BENCHMARK(BM_LivePolicyCurrent)->Threads(1)->Threads(2);

}  // namespace
}  // namespace credbroker
