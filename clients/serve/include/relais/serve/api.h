// The JSON API of `relais serve` over one replica (docs/api.md): sessions,
// roles, CSRF checks, the routes of the web app, and its static files. No
// sockets here: HttpServer (relais/serve/http.h) carries the requests.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "relais/error.h"
#include "relais/schema/schema.h"
#include "relais/serve/http.h"

namespace relais::serve {

// The background sync as the API reports it (GET /api/sync).
struct SyncState {
  std::string state = "not_enrolled";  // not_enrolled, connecting, live, offline, refused
  std::string last_error;              // why the last connection ended, if it failed
  std::string offline_since;           // UTC, when state is offline
};

struct ApiOptions {
  /// The replica file served.
  std::string replica;
  /// The built web app (clients/web/dist); empty: the API only.
  std::string web_root;
  /// How long a login lasts. Default 12 h.
  std::chrono::minutes session_lifetime{12 * 60};
  /// Failed logins for one user name or one address within `login_window`
  /// before further attempts are refused for the rest of it. Default 5 in 5 min.
  int max_login_failures = 5;
  std::chrono::seconds login_window{300};
};

class Api {
 public:
  // Opens the replica (its own connection). `sync_state` is called for
  // GET /api/sync; it may be null (no background sync).
  static Result<std::unique_ptr<Api>> open(const ApiOptions& options, const schema::Schema& schema,
                                           std::function<SyncState()> sync_state);
  ~Api();

  // Thread-safe.
  HttpResponse handle(const HttpRequest& request);

 private:
  struct Impl;
  explicit Api(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace relais::serve
