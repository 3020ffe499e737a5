// Callers with nothing in flight are dropped from the map, so it holds only
// the callers busy right now.
#include "broker/limits/caller_in_flight.h"

namespace credbroker {

std::shared_ptr<void> CallerInFlight::TryEnter(const std::string& caller) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    int& count = in_flight_[caller];
    if (count >= max_per_caller_) {
      if (count == 0) in_flight_.erase(caller);
      return nullptr;
    }
    ++count;
  }
  // The handle owns nothing; its deleter gives the place back.
  return std::shared_ptr<void>(static_cast<void*>(this), [this, caller](void*) { Leave(caller); });
}

void CallerInFlight::Leave(const std::string& caller) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = in_flight_.find(caller);
  if (it == in_flight_.end()) return;
  if (--it->second <= 0) in_flight_.erase(it);
}

int CallerInFlight::InFlightForTest(const std::string& caller) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = in_flight_.find(caller);
  return it == in_flight_.end() ? 0 : it->second;
}

}  // namespace credbroker
