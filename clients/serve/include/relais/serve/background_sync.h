// The sync that runs beside `relais serve`: a thread with its own connection
// to the replica file that stays connected to relais-server whenever it can
// be reached (transport::watch), so that edits made through the API leave
// within a tick and others' edits arrive live. The server being down never
// blocks the API: they share nothing but the file.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#include "relais/schema/schema.h"
#include "relais/serve/api.h"

namespace relais::serve {

class BackgroundSync {
 public:
  // `ca_file`: the certificate to trust, as for `relais sync --ca` (empty:
  // the one remembered at enrollment).
  BackgroundSync(std::string replica, const schema::Schema& schema, std::string ca_file);
  ~BackgroundSync();  // stop()s

  void start();
  // Closes the connection cleanly and joins the thread.
  void stop();
  SyncState state() const;

 private:
  void run();
  void set(std::string state, std::string error = "");

  std::string replica_;
  const schema::Schema& schema_;
  std::string ca_file_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  SyncState state_;
};

}  // namespace relais::serve
