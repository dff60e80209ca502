// BackgroundSync: see relais/serve/background_sync.h.
#include "relais/serve/background_sync.h"

#include "relais/store/hlc.h"
#include "relais/store/replica.h"
#include "relais/transport/sync_conversation.h"

namespace relais::serve {

BackgroundSync::BackgroundSync(std::string replica, const schema::Schema& schema,
                               std::string ca_file)
    : replica_(std::move(replica)), schema_(schema), ca_file_(std::move(ca_file)) {}

BackgroundSync::~BackgroundSync() {
  stop();
}

void BackgroundSync::start() {
  thread_ = std::thread([this] { run(); });
}

void BackgroundSync::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

SyncState BackgroundSync::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

void BackgroundSync::set(std::string state, std::string error) {
  std::lock_guard lock(mutex_);
  if (state == "offline" && state_.state != "offline") state_.offline_since = store::utc_now_iso();
  if (state != "offline") state_.offline_since.clear();
  state_.state = std::move(state);
  state_.last_error = std::move(error);
}

void BackgroundSync::run() {
  // A replica enrolled while serving is picked up: look again every few
  // seconds until it is.
  while (!stop_) {
    auto replica = store::Replica::open(replica_, schema_);
    if (!replica) {
      set("offline", replica.error().message);
    } else if (!(*replica)->setting(std::string(sync::kCredentialKey))) {
      set("not_enrolled");
    } else {
      transport::ClientOptions options;
      options.ca_file = !ca_file_.empty()
                            ? ca_file_
                            : (*replica)->setting(std::string(sync::kCaFileKey)).value_or("");
      options.stop = &stop_;
      set("connecting");
      transport::WatchEvents events;
      events.in_sync = [this] { set("live"); };
      events.disconnected = [this](const std::optional<Error>& e, std::chrono::milliseconds) {
        set("offline", e ? e->message : "the server closed the connection");
      };
      Status s = transport::watch(**replica, options, events);
      if (stop_) break;
      // What retrying cannot cure (a revoked device...) is shown, and
      // looked at again later: an administrator may fix it meanwhile.
      set("refused", s ? std::string() : s.error().message);
    }
    const int ticks = state().state == "refused" ? 1200 : 100;  // 60 s or 5 s
    for (int i = 0; i < ticks && !stop_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace relais::serve
