#include "relais/store/ids.h"

#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <mutex>
#include <stdexcept>

#include "relais/store/hlc.h"

namespace relais::store {
namespace {

struct Stamp {
  std::uint64_t ms;
  unsigned seq;  // 12 bits
};

// The time and sequence of the next id. Ids made in one millisecond count
// up from a random start in the 12 bits after the version (RFC 9562, 6.2,
// method 1), so they too sort in the order they were made; if the wall clock
// steps back, or 4096 ids fill a millisecond, time is carried forward.
Stamp next_stamp(unsigned random_start) {
  static std::mutex mu;
  static Stamp last{0, 0};
  std::lock_guard<std::mutex> lock(mu);
  const std::uint64_t ms = HybridClock::system_wall_ms();
  if (ms > last.ms) {
    last = {ms, random_start & 0x7FF};  // the lower half leaves room to count
  } else if (++last.seq > 0xFFF) {
    last = {last.ms + 1, 0};
  }
  return last;
}

}  // namespace

std::string new_uuid() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  const Stamp stamp = next_stamp(b[6] * 256u + b[7]);
  for (int i = 0; i < 6; ++i)
    b[static_cast<std::size_t>(i)] = static_cast<unsigned char>(stamp.ms >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>(0x70 | (stamp.seq >> 8));  // version 7
  b[7] = static_cast<unsigned char>(stamp.seq & 0xFF);
  b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3F));  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0x0F];
  }
  return out;
}

std::string OpId::str() const {
  return replica + ":" + std::to_string(counter);
}

std::optional<OpId> OpId::parse(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  OpId id;
  id.replica = std::string(text.substr(0, colon));
  const auto digits = text.substr(colon + 1);
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), id.counter);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || id.counter == 0)
    return std::nullopt;
  return id;
}

}  // namespace relais::store
