// The replica's side of the sync protocol as a state machine without
// sockets: feed it the server's messages, it returns the messages to send.
// A transport (relais/transport) moves the bytes.
#pragma once

#include <cstddef>
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

struct SyncCounts {
  std::size_t pushed = 0;      // changes the server acknowledged
  std::size_t pulled = 0;      // changes received and applied
  std::size_t pulled_new = 0;  // of which new to this replica
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
  bool in_sync() const { return welcomed_ && !in_flight_ && pushed_all_ && caught_up_; }
  const SyncCounts& counts() const { return counts_; }

 private:
  Result<std::vector<std::string>> on_welcome(const Welcome& w);
  Result<std::vector<std::string>> on_ack(const Ack& a);
  Result<std::vector<std::string>> on_changes(Changes& c);
  Result<std::vector<std::string>> push_next();

  store::Replica& replica_;
  std::size_t batch_ops_;
  std::unique_ptr<exchange::Outbox> outbox_;
  std::optional<std::uint64_t> in_flight_;  // batch number awaiting its ack
  std::size_t in_flight_changes_ = 0;
  std::uint64_t next_batch_ = 1;
  bool welcomed_ = false;
  bool pushed_all_ = false;
  bool caught_up_ = false;
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
