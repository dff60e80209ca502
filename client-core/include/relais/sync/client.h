// The replica's side of the sync protocol as a state machine without
// sockets: feed it the server's messages, it returns the messages to send.
// A transport (relais/transport) moves the bytes.
#pragma once

#include <cstddef>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/error.h"
#include "relais/exchange/outbox.h"
#include "relais/store/replica.h"
#include "relais/sync/protocol.h"

namespace relais::sync {

// Settings kept in the replica file once it is enrolled.
inline constexpr std::string_view kServerUrlKey = "sync.server_url";
inline constexpr std::string_view kServerIdKey = "sync.server_id";
inline constexpr std::string_view kDeviceKey = "sync.device";
inline constexpr std::string_view kCredentialKey = "sync.credential";
inline constexpr std::string_view kCursorKey = "sync.cursor";
inline constexpr std::string_view kCaFileKey = "sync.ca_file";
inline constexpr std::string_view kFeedKey = "sync.feed";
// When the replica was last fully up to date with the server (UTC), and how
// many days it may go without (from the server's welcome).
inline constexpr std::string_view kLastSyncKey = "sync.last_sync";
inline constexpr std::string_view kMaxOfflineDaysKey = "sync.max_offline_days";
// The counter up to which the server holds this replica's own changes: what
// is beyond it waits to be sent.
inline constexpr std::string_view kAckedKey = "sync.acked_through";
// The changes made here that the server has not acknowledged yet.
Result<std::int64_t> changes_waiting(store::Replica& replica);

// offline_too_long if this replica syncs with a server and has not been up
// to date with it for longer than the server allows: personal data must
// then stay hidden until it syncs (a lost laptop stops showing it).
Status check_offline_period(store::Replica& replica, std::time_t now);

// Writes to the replica's access log, as its current user, that `records`
// were shown with `action` (open, list, search...): one entry per person
// whose data they reveal. Called before the records are shown; refused with
// offline_too_long when the replica must hide personal data.
Status record_reads(store::Replica& replica, const std::vector<store::Record>& records,
                    std::string_view action);

struct SyncCounts {
  std::size_t pushed = 0;      // changes the server acknowledged
  std::size_t pulled = 0;      // changes received and applied
  std::size_t pulled_new = 0;  // of which new to this replica
  std::size_t erasures = 0;    // erasures the server asked for, newly applied here
  std::size_t purged = 0;      // changes received or pushed kept without values: erased records
  std::size_t reads_sent = 0;  // access-log entries the server acknowledged
};

class ClientSession {
 public:
  // REQUIRES: `replica` outlives the session and is enrolled (see Enrollment).
  explicit ClientSession(store::Replica& replica, std::size_t batch_ops = kBatchOps);

  // The first message to send on a new connection. not_enrolled if the
  // replica has no device credential.
  Result<std::string> start();
  // Handles one message from the server. A fatal error reply or a refused
  // batch comes back as an Error (the caller closes the connection).
  Result<std::vector<std::string>> receive(std::string_view text);
  // Local edits were made while connected: the push messages to send now.
  Result<std::vector<std::string>> local_changed();

  // Every local change acknowledged and every server change applied.
  bool in_sync() const {
    return welcomed_ && !in_flight_ && pushed_all_ && caught_up_ && !access_in_flight_ &&
           access_sent_all_;
  }
  const SyncCounts& counts() const { return counts_; }
  // An erasure was applied but the clean-up that follows it could not run
  // (another process was reading the file): the caller should run
  // Replica::compact() again once the session is over.
  bool needs_compact() const { return needs_compact_; }

 private:
  Result<std::vector<std::string>> on_welcome(const Welcome& w);
  Result<std::vector<std::string>> on_ack(const Ack& a);
  Result<std::vector<std::string>> on_changes(Changes& c);
  Result<std::vector<std::string>> push_next();
  // The next batch of the access log, if one is not already in flight.
  Result<std::vector<std::string>> access_next();
  Result<std::vector<std::string>> on_access_ack(const AccessAck& a);

  store::Replica& replica_;
  std::size_t batch_ops_;
  std::unique_ptr<exchange::Outbox> outbox_;
  std::optional<std::uint64_t> in_flight_;  // batch number awaiting its ack
  std::size_t in_flight_changes_ = 0;
  std::uint64_t next_batch_ = 1;
  bool welcomed_ = false;
  bool pushed_all_ = false;
  bool caught_up_ = false;
  bool needs_compact_ = false;
  std::optional<store::AccessLog> access_;
  std::optional<std::uint64_t> access_in_flight_;  // last seq of the batch sent
  std::size_t access_in_flight_count_ = 0;
  bool access_sent_all_ = false;
  SyncCounts counts_;
};

// Enrollment: one exchange that trades a one-time code for a device
// credential and stores it, with the server's id and URL, in the replica.
class Enrollment {
 public:
  Enrollment(store::Replica& replica, std::string server_url, std::string code);
  std::string start() const;
  // Handles the server's reply: stores the credential on success.
  Result<Enrolled> receive(std::string_view text);

 private:
  store::Replica& replica_;
  std::string server_url_;
  std::string code_;
};

}  // namespace relais::sync
