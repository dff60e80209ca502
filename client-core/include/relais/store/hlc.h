// The hybrid logical clock that orders operations across replicas without
// trusting any device's wall clock alone.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace relais::store {

// A timestamp is 64 bits: milliseconds since the Unix epoch in the high 48,
// a logical counter in the low 16. Comparing two timestamps as integers
// orders them; an overflowing logical counter carries into the milliseconds.
class HybridClock {
 public:
  // Milliseconds since the Unix epoch; replaceable for tests.
  using WallClock = std::function<std::uint64_t()>;
  static std::uint64_t system_wall_ms();

  explicit HybridClock(std::uint64_t last = 0, WallClock wall = system_wall_ms);

  // A timestamp greater than every one this clock returned or observed, and
  // not less than the wall clock.
  std::uint64_t now();
  // Takes note of a timestamp made elsewhere, so that now() comes after it.
  void observe(std::uint64_t remote);
  std::uint64_t last() const { return last_; }

  static std::uint64_t pack(std::uint64_t ms, std::uint16_t logical) {
    return (ms << 16) | logical;
  }
  static std::uint64_t wall_ms(std::uint64_t ts) { return ts >> 16; }

  // Sixteen lower-case hex digits: text order is timestamp order.
  static std::string to_hex(std::uint64_t ts);
  static std::optional<std::uint64_t> from_hex(std::string_view text);
  // "2026-12-03T16:14:59.123Z+3" for people: wall time and logical counter.
  static std::string to_display(std::uint64_t ts);

 private:
  std::uint64_t last_;
  WallClock wall_;
};

// A UTC time as ISO 8601 to the second: "2026-12-03T19:40:12Z".
std::string utc_iso(std::time_t t);
inline std::string utc_now_iso() {
  return utc_iso(std::time(nullptr));
}

}  // namespace relais::store
