#include "relais/store/hlc.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace relais::store {

std::uint64_t HybridClock::system_wall_ms() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

HybridClock::HybridClock(std::uint64_t last, WallClock wall)
    : last_(last), wall_(std::move(wall)) {}

std::uint64_t HybridClock::now() {
  const std::uint64_t wall = pack(wall_(), 0);
  // Past the wall clock (another device ran ahead, or ours went back): count
  // logically; the +1 carries into the milliseconds when the counter is full.
  last_ = wall > last_ ? wall : last_ + 1;
  return last_;
}

void HybridClock::observe(std::uint64_t remote) {
  if (remote > last_) last_ = remote;
}

std::string HybridClock::to_hex(std::uint64_t ts) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(ts));
  return buf;
}

std::optional<std::uint64_t> HybridClock::from_hex(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  return v;
}

std::string utc_iso(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string HybridClock::to_display(std::uint64_t ts) {
  const std::uint64_t ms = wall_ms(ts);
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ+%u", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<unsigned>(ms % 1000), static_cast<unsigned>(ts & 0xFFFF));
  return buf;
}

}  // namespace relais::store
