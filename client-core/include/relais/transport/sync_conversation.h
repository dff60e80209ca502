// The sync protocol's client state machine as a transport Conversation:
// what `relais sync` and the background sync of `relais serve` run over a
// connection.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relais/sync/client.h"
#include "relais/transport/ws_client.h"

namespace relais::transport {

class SyncConversation final : public Conversation {
 public:
  // `watch`: stay connected once in sync, sending local edits as they come
  // (checked every tick). `on_in_sync` is called the first time the session
  // is in sync.
  SyncConversation(sync::ClientSession& session, bool watch,
                   std::function<void()> on_in_sync = nullptr)
      : session_(session), watch_(watch), on_in_sync_(std::move(on_in_sync)) {}

  Result<std::vector<std::string>> opening() override {
    auto hello = session_.start();
    if (!hello) return hello.error();
    return std::vector<std::string>{*hello};
  }
  Result<std::vector<std::string>> on_message(std::string_view text) override {
    auto out = session_.receive(text);
    if (out && session_.in_sync() && !reported_) {
      reported_ = true;
      if (on_in_sync_) on_in_sync_();
    }
    return out;
  }
  Result<std::vector<std::string>> on_tick() override {
    if (!watch_) return std::vector<std::string>();
    return session_.local_changed();
  }
  bool finished() const override { return !watch_ && session_.in_sync(); }

 private:
  sync::ClientSession& session_;
  bool watch_;
  std::function<void()> on_in_sync_;
  bool reported_ = false;
};

// What watch() reports as it goes.
struct WatchEvents {
  // Connected and in sync with the server: changes now flow live.
  std::function<void()> in_sync;
  // The connection ended (`error` says why, or is empty when it was closed
  // cleanly); the next attempt comes after `retry_in`.
  std::function<void(const std::optional<Error>& error, std::chrono::milliseconds retry_in)>
      disconnected;
};

// Keeps `replica` in sync with the server it is enrolled with until
// *options.stop is set: connects, stays connected, and after any cut tries
// again, waiting 0.25 s then twice as long each time (at most 30 s), each
// wait drawn between half and all of it so that replicas do not all return
// at once. Returns Ok once stopped, or the error that retrying cannot cure:
// not enrolled, device revoked, bad credential, wrong server, or a schema
// the server does not take.
Status watch(store::Replica& replica, const ClientOptions& options, const WatchEvents& events = {});

}  // namespace relais::transport
