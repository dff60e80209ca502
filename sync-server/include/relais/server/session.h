// The server's side of the sync protocol for one connection, without
// sockets: the transport feeds it each received message and sends what it
// returns. One thread at a time per session (the connection's strand).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/server/log.h"
#include "relais/server/metrics.h"
#include "relais/server/store.h"
#include "relais/sync/protocol.h"

namespace relais::server {

struct SessionOutput {
  std::vector<std::string> messages;  // to send, in order
  bool close = false;                 // close once they are sent
  std::string close_reason;           // for the WebSocket close frame
  bool committed = false;             // new changes are in the feed: wake other sessions
  bool more = false;                  // call resume() once the messages are written
};

class ServerSession {
 public:
  ServerSession(ServerStore& store, Logger& log, Metrics& metrics, std::uint64_t conn_id)
      : store_(store), log_(log), metrics_(metrics), conn_(conn_id) {}

  SessionOutput on_message(std::string_view text);
  // Continues a pull once the previous batch was written, or sends what is
  // new in the feed when the session is live.
  SessionOutput resume();
  // Another session committed changes.
  SessionOutput on_feed_advanced() { return live_ && !pulling_ ? resume() : SessionOutput{}; }

  bool authenticated() const { return device_.has_value(); }

 private:
  SessionOutput fail(Errc code, const std::string& message, bool fatal, std::uint64_t batch = 0);
  SessionOutput on_hello(const sync::Hello& m);
  SessionOutput on_enroll(const sync::Enroll& m);
  SessionOutput on_push(sync::Push& m);
  SessionOutput on_pull(const sync::Pull& m);
  SessionOutput on_receipt(const sync::Receipt& m);
  SessionOutput on_access(const sync::Access& m);
  std::optional<SessionOutput> check_versions(int protocol, int schema_version);

  ServerStore& store_;
  Logger& log_;
  Metrics& metrics_;
  std::uint64_t conn_;
  std::optional<Device> device_;
  std::uint64_t cursor_ = 0;
  bool pulling_ = false;  // a pull stream has batches left to send
  bool live_ = false;     // caught up; send new changes as they come
};

}  // namespace relais::server
