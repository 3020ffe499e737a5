// FailureBudget over the memory store, from many threads at once: reserved
// places never exceed the budget, refunds give places back, and what counts
// at the site follows the answer. No gRPC, so it also runs under TSan.
#include "broker/limits/failure_budget.h"

#include <atomic>
#include <thread>
#include <vector>

#include "broker/common/errors.h"
#include "broker/store/memory_store.h"
#include "gtest/gtest.h"
#include "tests/unit/fakes/fake_clock.h"

namespace credbroker {
namespace {

using testing::FakeClock;

class FailureBudgetTest : public ::testing::Test {
 protected:
  absl::StatusOr<FailureReservation> Reserve(const std::string& user,
                                             const std::string& address = "198.51.100.1") {
    absl::StatusOr<FailureReservation> out = absl::InternalError("not answered");
    budget_.Reserve("main", user, address, [&](absl::StatusOr<FailureReservation> r) { out = r; });
    return out;
  }
  absl::StatusOr<int> Settle(const FailureReservation& reservation, const absl::Status& answer) {
    absl::StatusOr<int> out = absl::InternalError("not answered");
    budget_.Settle(reservation, answer, [&](absl::StatusOr<int> left) { out = left; });
    return out;
  }

  FakeClock clock_;
  MemoryStore store_{clock_};
  Sealer sealer_ = Sealer::WithRandomKey();
  NameKeys names_{store_, sealer_, /*shared=*/false};
  FailureBudget budget_{store_, names_, clock_,
                        FailureBudgetSettings{5, absl::Hours(1), 20, absl::Hours(1)}};
};

TEST_F(FailureBudgetTest, ConcurrentReservationsNeverExceedTheBudget) {
  constexpr int kThreads = 40;
  std::atomic<int> granted{0};
  std::atomic<int> refused{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      budget_.Reserve("main", "Ana", "198.51.100.1", [&](absl::StatusOr<FailureReservation> r) {
        if (r.ok()) {
          granted.fetch_add(1);
        } else if (HasReason(r.status(), Reason::kTooManyAttempts)) {
          refused.fetch_add(1);
        }
      });
    });
  }
  go.store(true, std::memory_order_release);
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(granted.load(), 5);
  EXPECT_EQ(refused.load(), kThreads - 5);
}

TEST_F(FailureBudgetTest, ConcurrentRefundsAndCommitsKeepTheCountExact) {
  // 5 threads each reserve, then half give the place back; repeated, the
  // number of counted failures is exactly the number committed.
  std::atomic<int> committed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 5; ++t) {
    threads.emplace_back([&, t] {
      budget_.Reserve("main", "ben", "198.51.100.2", [&](absl::StatusOr<FailureReservation> r) {
        if (!r.ok()) return;
        const absl::Status answer =
            t % 2 == 0 ? BrokerError(Reason::kInvalidCredentials, "wrong") : absl::OkStatus();
        if (t % 2 == 0) committed.fetch_add(1);
        budget_.Settle(*r, answer, [](absl::StatusOr<int>) {});
      });
    });
  }
  for (std::thread& th : threads) th.join();
  int more = 0;
  while (Reserve("ben").ok()) ++more;
  EXPECT_EQ(committed.load(), 3);
  EXPECT_EQ(more, 5 - 3);
}

TEST_F(FailureBudgetTest, WhatCountsAtTheSite) {
  EXPECT_TRUE(FailureBudget::CountsAtSite(BrokerError(Reason::kInvalidCredentials, "")));
  EXPECT_TRUE(FailureBudget::CountsAtSite(BrokerError(Reason::kInvalidSecondFactor, "")));
  EXPECT_TRUE(FailureBudget::CountsAtSite(BrokerError(Reason::kUpstreamUnavailable, "timeout")));
  EXPECT_TRUE(FailureBudget::CountsAtSite(BrokerError(Reason::kUpstreamProtocolError, "")));
  EXPECT_FALSE(FailureBudget::CountsAtSite(absl::OkStatus()));
  EXPECT_FALSE(FailureBudget::CountsAtSite(BrokerError(Reason::kSecondFactorRequired, "")));
  EXPECT_FALSE(FailureBudget::CountsAtSite(BrokerError(Reason::kSsoRequired, "")));
  EXPECT_FALSE(FailureBudget::CountsAtSite(
      MarkedNotProcessedBySite(BrokerError(Reason::kUpstreamUnavailable, "503"))));
}

TEST_F(FailureBudgetTest, UsernameCaseIsFoldedAndNamesAreDigests) {
  EXPECT_EQ(budget_.PersonName("Ana.Silva@Studio.Example"),
            budget_.PersonName("ana.silva@studio.example"));
  EXPECT_NE(budget_.PersonName("ana"), budget_.PersonName("anb"));
  EXPECT_EQ(budget_.PersonName("ana").size(), 32u);
  EXPECT_EQ(budget_.PersonName("ana").find("ana"), std::string::npos);
}

TEST_F(FailureBudgetTest, SharedNamesKeyIsTheSameForEveryReplica) {
  // Two replicas on one store agree on names; a third with its own key does not.
  NameKeys first(store_, sealer_, /*shared=*/true);
  NameKeys second(store_, sealer_, /*shared=*/true);
  absl::Status ready_first = absl::UnknownError("not called");
  absl::Status ready_second = absl::UnknownError("not called");
  first.Ready([&](absl::Status s) { ready_first = s; });
  second.Ready([&](absl::Status s) { ready_second = s; });
  ASSERT_TRUE(ready_first.ok());
  ASSERT_TRUE(ready_second.ok());
  EXPECT_EQ(first.Digest("user", "ana"), second.Digest("user", "ana"));
  EXPECT_NE(first.Digest("user", "ana"), names_.Digest("user", "ana"));
  EXPECT_NE(first.Digest("user", "ana"), first.Digest("address", "ana"));
}

TEST_F(FailureBudgetTest, CountedFailuresLeaveTheWindowAnHourAfterTheirAnswer) {
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<FailureReservation> r = Reserve("cal");
    ASSERT_TRUE(r.ok());
    clock_.Advance(absl::Minutes(1));  // the site takes its time to answer
    EXPECT_EQ(*Settle(*r, BrokerError(Reason::kInvalidCredentials, "wrong")), 4 - i);
  }
  const absl::StatusOr<FailureReservation> refused = Reserve("cal");
  ASSERT_FALSE(refused.ok());
  // The first failure was answered at minute 1: it leaves at minute 61.
  EXPECT_EQ(RetryAfterOf(refused.status()), absl::Minutes(56));
  clock_.Advance(absl::Minutes(56));
  EXPECT_TRUE(Reserve("cal").ok());
}

}  // namespace
}  // namespace credbroker
