// What relais-server keeps: the merged operations of every site, the feed
// that replicas pull from, and the sites, users and devices allowed to sync.
// The protocol code talks to this interface only; the embedded default is a
// SQLite file (open_sqlite_store), and another database can implement it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/error.h"
#include "relais/schema/schema.h"
#include "relais/store/change.h"

namespace relais::server {

enum class Role { counsellor, site_manager, central, dpo, admin };
std::string_view role_name(Role role);
std::optional<Role> parse_role(std::string_view name);
// Central team, DPO and administrators see every site.
inline bool sees_all_sites(Role role) {
  return role == Role::central || role == Role::dpo || role == Role::admin;
}

struct User {
  std::string id;
  Role role = Role::counsellor;
  std::string site;  // empty for roles that see every site
};

struct Device {
  std::string id;
  std::string user;
  std::string site;      // empty when central
  bool central = false;  // receives every site
  std::string replica;   // the replica id it enrolled
  std::string created;   // UTC, ISO 8601
  std::string revoked;   // UTC, ISO 8601; empty while valid
  std::string last_seen;
};

struct EnrollmentCode {
  std::string code;  // shown once; only its hash is kept
  std::string user;
  std::string expires;
};

struct IngestResult {
  std::size_t applied = 0;      // changes new to the server
  std::size_t duplicates = 0;   // changes it already held
  std::size_t applied_ops = 0;  // field operations in the new changes
};

struct PullBatch {
  std::vector<store::Change> changes;
  std::uint64_t cursor = 0;  // feed position after these
  bool caught_up = false;    // nothing more in the device's scope for now
};

// Every method is safe to call from any thread.
class ServerStore {
 public:
  virtual ~ServerStore() = default;

  virtual std::string server_id() const = 0;
  // Id of the feed replicas pull from; a restored store gets a new one.
  virtual std::string feed_id() = 0;
  virtual const schema::Schema& schema() const = 0;

  // --- Administration.
  virtual Status create_site(const std::string& site) = 0;
  virtual Result<std::vector<std::string>> sites() = 0;
  // `site` is required for counsellors and site managers, ignored otherwise.
  virtual Status create_user(const std::string& id, Role role, const std::string& site) = 0;
  virtual Result<std::vector<User>> users() = 0;
  virtual Result<EnrollmentCode> issue_code(const std::string& user,
                                            std::chrono::seconds validity) = 0;
  virtual Result<std::vector<Device>> devices() = 0;
  virtual Status revoke_device(const std::string& device) = 0;

  // --- Identity. enroll() consumes a code and returns the new device with
  // its credential in clear, the only time it exists outside the device.
  virtual Result<std::pair<Device, std::string>> enroll(const std::string& code,
                                                        const std::string& replica) = 0;
  // Errors: bad_credential, device_revoked.
  virtual Result<Device> authenticate(const std::string& device, const std::string& credential) = 0;
  // Whether an authenticated device is still allowed (not revoked since):
  // device_revoked otherwise. Checked on every push and pull.
  virtual Status check_still_valid(const Device& device) = 0;

  // --- Operations.
  virtual store::Knowledge knowledge() = 0;
  // Commits the batch whole or refuses it whole: out_of_scope for a record
  // of another site, author_not_allowed for an author who may not act on it.
  virtual Result<IngestResult> ingest(const Device& device,
                                      const std::vector<store::Change>& changes) = 0;
  // Changes in the device's scope after `cursor`, except its own, up to
  // about `max_ops` field operations.
  virtual Result<PullBatch> pull(const Device& device, std::uint64_t cursor,
                                 std::size_t max_ops) = 0;
  // Digest of the merged state of all sites (same rules as a replica's).
  virtual Result<std::string> digest() = 0;
  // A consistent copy of the whole store at `path`, taken while serving.
  virtual Status backup(const std::string& path) = 0;
};

// Creates a new SQLite store at `path` (fails if it exists).
Result<std::unique_ptr<ServerStore>> create_sqlite_store(const std::string& path,
                                                         const schema::Schema& schema);
// Puts the backup at `backup` in place of the store at `path` (which no
// server may be using) and gives it a new feed id, so that replicas pull
// everything again instead of trusting cursors from after the backup.
Status restore_sqlite_store(const std::string& backup, const std::string& path,
                            const schema::Schema& schema);

// Opens an existing SQLite store, migrating its data model if older.
Result<std::unique_ptr<ServerStore>> open_sqlite_store(const std::string& path,
                                                       const schema::Schema& schema);

}  // namespace relais::server
