// CurlMultiLoop against the fake site in-process: every request's callback runs exactly once, on
// the loop's one thread; a cancel before anything was sent is marked as not processed by the
// site, one after is not; Stop fails what is still running and what comes after. CurlLoops
// keeps one request at a time on its first loop, spreads a burst over all of them, and cancels
// on the loop that took the request.
#include "broker/upstream/curl_multi_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "broker/common/errors.h"
#include "broker/upstream/curl_loops.h"
#include "eventually.h"
#include "site.h"

namespace credbroker {
namespace {

using credbroker::testing::Eventually;

// A result handed to the test thread.
struct Outcome {
  std::mutex mu;
  std::vector<HttpResult> results;
  std::set<std::thread::id> threads;

  CurlMultiLoop::Callback Record() {
    return [this](HttpResult result) {
      std::lock_guard<std::mutex> lock(mu);
      results.push_back(std::move(result));
      threads.insert(std::this_thread::get_id());
    };
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return results.size();
  }
};

class CurlMultiLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(site_.Start(&error)) << error;
  }

  // A password grant the site answers without a second factor.
  HttpRequest TokenRequest() {
    HttpRequest request;
    request.url = site_.base_url() + "/api/v1/auth/access_token";
    request.body = "grant_type=password&username=alice&password=wrong";
    request.headers = {"Content-Type: application/x-www-form-urlencoded"};
    return request;
  }

  void SetLatency(int ms) {
    std::string error;
    ASSERT_TRUE(site_.faults().ApplyJson({{"latency_ms", ms}}, &error)) << error;
  }

  // Sends `requests` password grants through `loop` (a CurlMultiLoop or CurlLoops), stops it once
  // all came back, and checks that each came back once, with the site's answer.
  template <typename Loop>
  void SendAndExpectEachAnsweredOnce(Loop& loop, Outcome& outcome, int requests) {
    for (int i = 0; i < requests; ++i) loop.Submit(TokenRequest(), outcome.Record());
    ASSERT_TRUE(Eventually([&] { return outcome.count() == static_cast<std::size_t>(requests); }));
    loop.Stop();
    EXPECT_EQ(outcome.count(), static_cast<std::size_t>(requests));
    for (const HttpResult& result : outcome.results) {
      ASSERT_TRUE(result.transport.ok()) << result.transport;
      EXPECT_EQ(result.answer.http_status, 400);
      EXPECT_NE(result.answer.body.find("errors"), std::string::npos);
      EXPECT_FALSE(result.site_request_id.empty());
    }
    EXPECT_EQ(PasswordGrantsAtSite(), requests);
  }

  int64_t InFlightAtSite() { return site_.counters().ToJson()["in_flight"].get<int64_t>(); }
  int64_t PasswordGrantsAtSite() {
    return site_.counters().ToJson()["requests"]["password"].get<int64_t>();
  }

  fake_shotgrid::FakeShotgridSite site_{fake_shotgrid::SiteOptions{}};
};

TEST_F(CurlMultiLoopTest, EveryAnswerComesBackOnceOnTheLoopThread) {
  CurlMultiLoop loop;
  Outcome outcome;
  SendAndExpectEachAnsweredOnce(loop, outcome, 200);
  ASSERT_EQ(outcome.threads.size(), 1u);
  EXPECT_NE(*outcome.threads.begin(), std::this_thread::get_id());
}

TEST_F(CurlMultiLoopTest, CancelBeforeAnythingWasSentIsNotProcessedBySite) {
  CurlMultiLoop loop;
  // The first request's callback holds the loop thread while the second is submitted and
  // cancelled, so the loop takes both at once and cancels the second before it starts.
  std::promise<void> holding, release;
  loop.Submit(TokenRequest(), [&](HttpResult) {
    holding.set_value();
    release.get_future().wait();
  });
  holding.get_future().wait();
  Outcome outcome;
  const uint64_t id = loop.Submit(TokenRequest(), outcome.Record());
  loop.Cancel(id);
  release.set_value();
  ASSERT_TRUE(Eventually([&] { return outcome.count() == 1; }));
  loop.Stop();

  const absl::Status& status = outcome.results[0].transport;
  EXPECT_EQ(ReasonOf(status), Reason::kUpstreamUnavailable);
  EXPECT_TRUE(NotProcessedBySite(status)) << status;
  EXPECT_EQ(PasswordGrantsAtSite(), 1);
}

TEST_F(CurlMultiLoopTest, CancelAfterTheRequestLeftMayHaveBeenProcessed) {
  SetLatency(2000);
  CurlMultiLoop loop;
  Outcome outcome;
  const uint64_t id = loop.Submit(TokenRequest(), outcome.Record());
  ASSERT_TRUE(Eventually([&] { return InFlightAtSite() == 1; }));
  loop.Cancel(id);
  ASSERT_TRUE(Eventually([&] { return outcome.count() == 1; }));
  loop.Cancel(id);     // finished ids are fine
  loop.Cancel(12345);  // and unknown ones
  loop.Stop();

  const absl::Status& status = outcome.results[0].transport;
  EXPECT_EQ(ReasonOf(status), Reason::kUpstreamUnavailable);
  EXPECT_FALSE(NotProcessedBySite(status)) << status;
  EXPECT_EQ(outcome.count(), 1u);
}

TEST_F(CurlMultiLoopTest, StopFailsWhatIsRunningAndWhatComesAfter) {
  SetLatency(2000);
  CurlMultiLoop loop;
  Outcome running;
  for (int i = 0; i < 3; ++i) loop.Submit(TokenRequest(), running.Record());
  ASSERT_TRUE(Eventually([&] { return InFlightAtSite() == 3; }));
  loop.Stop();
  ASSERT_EQ(running.count(), 3u);
  for (const HttpResult& result : running.results) {
    EXPECT_EQ(ReasonOf(result.transport), Reason::kUpstreamUnavailable);
  }

  // After Stop the callback runs at once, on the caller's thread.
  Outcome late;
  loop.Submit(TokenRequest(), late.Record());
  ASSERT_EQ(late.count(), 1u);
  EXPECT_EQ(*late.threads.begin(), std::this_thread::get_id());
  EXPECT_EQ(ReasonOf(late.results[0].transport), Reason::kUpstreamUnavailable);
  loop.Stop();  // idempotent
}

TEST_F(CurlMultiLoopTest, LoopsShareABurstAndEachAnswerComesBackOnce) {
  // Slow answers: the burst is all in flight before the first comes back.
  SetLatency(300);
  CurlLoops loops(2);
  Outcome outcome;
  SendAndExpectEachAnsweredOnce(loops, outcome, 100);
  EXPECT_EQ(outcome.threads.size(), 2u);
  EXPECT_EQ(outcome.threads.count(std::this_thread::get_id()), 0u);
}

TEST_F(CurlMultiLoopTest, OneRequestAtATimeStaysOnTheFirstLoop) {
  CurlLoops loops(4);
  Outcome outcome;
  for (std::size_t i = 1; i <= 20; ++i) {
    loops.Submit(TokenRequest(), outcome.Record());
    ASSERT_TRUE(Eventually([&] { return outcome.count() == i; }));
  }
  loops.Stop();
  EXPECT_EQ(outcome.threads.size(), 1u);
}

TEST_F(CurlMultiLoopTest, LoopsCancelOnTheLoopThatTookTheRequest) {
  SetLatency(2000);
  CurlLoops loops(3);
  // 16 fill the first loop, 16 the second, and the last two go to the third.
  constexpr int kRequests = 34;
  Outcome kept, cancelled;
  std::vector<uint64_t> ids;
  for (int i = 0; i < kRequests; ++i) {
    const bool cancel = i == 20 || i == kRequests - 1;
    ids.push_back(loops.Submit(TokenRequest(), cancel ? cancelled.Record() : kept.Record()));
  }
  ASSERT_TRUE(Eventually([&] { return InFlightAtSite() == kRequests; }));
  loops.Cancel(ids[20]);
  loops.Cancel(ids.back());
  ASSERT_TRUE(Eventually([&] { return cancelled.count() == 2; }));
  // The others are still at the site: only the named requests ended.
  EXPECT_EQ(kept.count(), 0u);
  EXPECT_EQ(cancelled.threads.size(), 2u);
  for (const HttpResult& result : cancelled.results) {
    EXPECT_EQ(ReasonOf(result.transport), Reason::kUpstreamUnavailable);
  }
  loops.Cancel(ids.back());  // finished ids are fine
  loops.Stop();
  EXPECT_EQ(kept.count(), static_cast<std::size_t>(kRequests - 2));
  EXPECT_EQ(cancelled.count(), 2u);
}

}  // namespace
}  // namespace credbroker
