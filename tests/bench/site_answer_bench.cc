// Reading the site's token endpoint answers (site_answer.h): a grant, and the
// code 106 error that starts every 2FA login.
#include <benchmark/benchmark.h>

#include "broker/upstream/site_answer.h"

namespace credbroker {
namespace {

constexpr char kJson[] = "application/json; charset=utf-8";

void BM_MapSiteAnswerGrant(benchmark::State& state) {
  SiteAnswer answer;
  answer.http_status = 200;
  answer.content_type = kJson;
  answer.body = R"({"token_type":"Bearer","access_token":"at-0123456789abcdef0123456789abcdef",)"
                R"("expires_in":600,"refresh_token":"rt-0123456789abcdef0123456789abcdef"})";
  AnswerContext context;
  context.grant = GrantType::kClientCredentials;
  for (auto _ : state) {
    absl::StatusOr<TokenGrant> grant = MapSiteAnswer(answer, context);
    if (!grant.ok()) state.SkipWithError("not a grant");
    benchmark::DoNotOptimize(grant);
  }
}
BENCHMARK(BM_MapSiteAnswerGrant);

void BM_MapSiteAnswerCode106(benchmark::State& state) {
  SiteAnswer answer;
  answer.http_status = 400;
  answer.content_type = kJson;
  answer.body =
      R"({"errors":[{"id":"0123456789abcdef0123456789abcdef","status":400,"code":106,)"
      R"("title":"Missing argument for 2FA login","source":null,"detail":null,"meta":null}]})";
  const AnswerContext context;  // a password grant without a code
  for (auto _ : state) {
    absl::StatusOr<TokenGrant> grant = MapSiteAnswer(answer, context);
    if (grant.ok()) state.SkipWithError("a 106 read as a grant");
    benchmark::DoNotOptimize(grant);
  }
}
BENCHMARK(BM_MapSiteAnswerCode106);

}  // namespace
}  // namespace credbroker
