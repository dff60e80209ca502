// The messages of the sync protocol between a replica and relais-server,
// with their JSON encoding. No sockets here: a transport carries the text of
// each message in one WebSocket text frame. docs/protocol.md specifies them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "relais/error.h"
#include "relais/schema/schema.h"
#include "relais/store/access_log.h"
#include "relais/store/change.h"

namespace relais::sync {

// 2: erasures in `welcome`, the `receipt` message, `purged` in `ack`; the
// access log (`access`, `access_ack`).
inline constexpr int kProtocolVersion = 2;
// Largest message either side accepts, in bytes (the WebSocket frame limit).
inline constexpr std::size_t kMaxMessageBytes = 32u << 20;
// Field operations per push or pull batch: a few MB of JSON at most.
inline constexpr std::size_t kBatchOps = 5000;

// Client -> server: opens a session of an enrolled device.
struct Hello {
  int protocol = kProtocolVersion;
  int schema_version = 0;
  std::string replica;     // the replica's id
  std::string device;      // device id received at enrollment
  std::string credential;  // device secret received at enrollment
};

// Client -> server: trades a one-time enrollment code for a credential.
struct Enroll {
  int protocol = kProtocolVersion;
  int schema_version = 0;
  std::string replica;
  std::string code;
};

// Client -> server: a batch of changes to commit, whole or not at all.
struct Push {
  std::uint64_t batch = 0;  // client's number for the batch, echoed in Ack
  std::vector<store::Change> changes;
};

// Client -> server: send me what I may see from `cursor` on, then live.
struct Pull {
  std::uint64_t cursor = 0;
};

// An erasure the device must apply before it pushes anything.
struct ErasureNotice {
  std::string id;
  std::string person;  // the erased person's record id
};

// An account people may log in with on the device's `relais serve`: the
// server's users of the device's site (every site's central-team, DPO and
// administrator users for a central device) who have a password.
struct AccountNotice {
  std::string user;
  std::string role;
  std::string site;
  std::string verifier;  // "pbkdf2-sha256$..." (relais/sync/accounts.h)
};

// Server -> client: the session is open.
struct Welcome {
  int protocol = kProtocolVersion;
  int schema_version = 0;
  std::string server;  // the server's id, pinned by the client at enrollment
  std::string device;
  std::string site;
  bool central = false;                 // the device sees every site
  store::Knowledge knowledge;           // what the server holds, to push only the rest
  std::string feed;                     // id of the server's feed; a new one voids cursors
  std::vector<ErasureNotice> erasures;  // not yet acknowledged by this device
  // Days a replica may stay without syncing before it hides personal data
  // (0: no limit).
  int max_offline_days = 0;
  // The accounts to keep on the device, replacing those it has; nullopt from
  // a server that does not send them (the device keeps what it has).
  std::optional<std::vector<AccountNotice>> accounts;
};

// Client -> server: entries of the replica's access log, in order.
struct Access {
  std::vector<store::AccessEntry> entries;
};

// Server -> client: the access-log entries up to `through` are kept by the
// server (even if the chain was broken: that is reported, not refused).
struct AccessAck {
  std::uint64_t through = 0;
};

// Access-log entries per `access` message.
inline constexpr std::size_t kAccessBatch = 1000;

// Client -> server: these erasures are applied on the replica.
struct Receipt {
  std::vector<std::string> erasures;
};

// Server -> client: enrollment accepted.
struct Enrolled {
  std::string server;
  std::string device;
  std::string credential;
  std::string site;
  std::string user;
  bool central = false;
};

// Server -> client: a push batch is durably committed.
struct Ack {
  std::uint64_t batch = 0;
  std::size_t applied = 0;
  std::size_t duplicates = 0;
  std::size_t purged = 0;  // of the applied: changes of erased records, kept without values
};

// Server -> client: changes the client may see, in server order.
struct Changes {
  std::vector<store::Change> changes;
  std::uint64_t cursor = 0;  // resume point once these are applied
  bool caught_up = false;    // nothing more for now; live changes follow
};

// Either way: something went wrong. `fatal`: the sender closes the session.
struct ErrorReply {
  Errc code = Errc::protocol_malformed;
  std::string message;
  bool fatal = true;
  std::uint64_t batch = 0;  // the push batch refused, if any
};

using Message = std::variant<Hello, Enroll, Push, Pull, Welcome, Enrolled, Ack, Changes, ErrorReply,
                             Receipt, Access, AccessAck>;

std::string encode(const Message& message);

// Parses one message; changes are checked against `schema` (entities,
// fields, values). Errors: protocol_malformed, unknown_message, or the
// schema error of the first bad change, naming its position.
Result<Message> decode(std::string_view text, const schema::Schema& schema);

// The name of the message's kind, as in its "type" member.
std::string_view type_name(const Message& message);

}  // namespace relais::sync
