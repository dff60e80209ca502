// A wall clock for HybridClock that only moves when a test moves it, so
// timestamps are reproducible and two replicas can be made to collide.
#pragma once

#include <cstdint>
#include <memory>

#include "relais/store/hlc.h"

namespace relais::testing {

// 2026-01-01T00:00:00Z in milliseconds since the Unix epoch.
inline constexpr std::uint64_t kFixedWallMs = 1767225600000;

// Copies share one time: the function handed to a clock follows set()/advance().
class FakeWallClock {
 public:
  explicit FakeWallClock(std::uint64_t ms = kFixedWallMs)
      : ms_(std::make_shared<std::uint64_t>(ms)) {}

  void set(std::uint64_t ms) { *ms_ = ms; }
  void advance(std::uint64_t ms) { *ms_ += ms; }
  std::uint64_t ms() const { return *ms_; }

  store::HybridClock::WallClock fn() const {
    return [ms = ms_] { return *ms; };
  }

 private:
  std::shared_ptr<std::uint64_t> ms_;
};

}  // namespace relais::testing
