// The access log (RGPD): every read of a person's data on a replica leaves
// an entry naming who read, when, which person (by record id), what action
// and on which device; never a value. Entries are append-only and chained:
// each holds the SHA-256 of the previous one, so that an edited, removed or
// reordered entry breaks the chain. The server verifies each replica's chain
// as it arrives (verify_chain) and keeps it; docs/rgpd.md says more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/error.h"
#include "relais/store/replica.h"

namespace relais::store {

struct AccessEntry {
  std::uint64_t seq = 0;  // 1, 2, ... on each replica, without gaps
  std::string at;         // UTC, ISO 8601 to the second
  std::string user;       // who read
  std::string device;     // the replica's id
  std::string person;     // the person's record id
  std::string action;     // open, list, export, search
  std::string prev;       // hash of entry seq - 1; kGenesisHash for seq 1
  std::string hash;       // entry_hash(*this)
};

// The `prev` of a chain's first entry: 64 zeros.
extern const std::string kGenesisHash;

// SHA-256 (hex) of the entry's fields other than `hash`, each followed by a
// line feed, in the order of the struct.
std::string entry_hash(const AccessEntry& entry);

// Where a chain stands: its last entry's sequence number and hash (0 and
// kGenesisHash before the first).
struct ChainHead {
  std::uint64_t seq = 0;
  std::string hash = kGenesisHash;
};

struct ChainBreak {
  enum class Kind { gap, reorder, edited, foreign };
  Kind kind = Kind::edited;
  std::uint64_t seq = 0;  // the first entry at fault
  std::string message;
};
std::string_view break_name(ChainBreak::Kind kind);

// Checks that `entries` continue the chain at `head`: sequence numbers follow
// on without gaps or swaps, each `prev` is the hash of the entry before, each
// `hash` matches its entry, and every entry comes from `device`. The first
// problem, or nullopt.
std::optional<ChainBreak> verify_chain(const ChainHead& head, const std::string& device,
                                       const std::vector<AccessEntry>& entries);

// The persons whose data showing `records` reveals: a person record's own
// id, or the `person` of a record about one, for records that hold a
// personal field. Each person once, in the order met.
std::vector<std::string> persons_shown(const schema::Schema& schema,
                                       const std::vector<Record>& records);

// The access log of one replica, kept in its file (tables access_log and
// access_head). Entries are dropped from the replica once the server has
// them (forget_through); the head stays, so the chain goes on.
class AccessLog {
 public:
  // Creates the tables if missing. REQUIRES: `replica` outlives this.
  static Result<AccessLog> open(Replica& replica);

  // Appends one entry per person, in one transaction, as the replica's user.
  Status record(const std::vector<std::string>& persons, std::string_view action);
  // Entries after `after`, oldest first, at most `limit`.
  Result<std::vector<AccessEntry>> entries_after(std::uint64_t after, std::size_t limit);
  Result<ChainHead> head();
  // Drops the entries up to `seq` (the server acknowledged them).
  Status forget_through(std::uint64_t seq);

 private:
  explicit AccessLog(Replica& replica) : replica_(&replica) {}
  Replica* replica_;
};

}  // namespace relais::store
