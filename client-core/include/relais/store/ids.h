// Identifiers made offline: UUIDs for records and replicas, and operation ids
// (the replica that made an operation and that replica's counter).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relais::store {

// A new UUID version 7 (RFC 9562): 48 bits of Unix time in milliseconds, a
// 12-bit sequence within the millisecond, then random bits, so ids made later
// in a process sort later and B-tree inserts stay local.
// Text form, lower case. Randomness from OpenSSL's RAND_bytes.
std::string new_uuid();

// A globally unique operation id: `replica` is the UUID of the replica that
// made it, `counter` that replica's 1-based count of field operations.
struct OpId {
  std::string replica;
  std::uint64_t counter = 0;

  // "<replica uuid>:<counter>", e.g. "0190...-...:42".
  std::string str() const;
  // Parses str()'s form; nullopt if it is not one.
  static std::optional<OpId> parse(std::string_view text);

  auto operator<=>(const OpId&) const = default;
};

}  // namespace relais::store
