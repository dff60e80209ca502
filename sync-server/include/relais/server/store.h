// What relais-server keeps: the merged operations of every site, the feed
// that replicas pull from, and the sites, users and devices allowed to sync.
// The protocol code talks to this interface only; the embedded default is a
// SQLite file (open_sqlite_store), and another database can implement it.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/error.h"
#include "relais/schema/schema.h"
#include "relais/store/access_log.h"
#include "relais/store/change.h"
#include "relais/sync/protocol.h"

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
  std::size_t purged = 0;       // of the new: changes of erased records, values refused
};

// The trace an erasure leaves: that it happened, when, by whom, under which
// request, and how many records it removed. `person` is the record id the
// person had, a random UUID that no longer leads to any value.
struct Erasure {
  std::string id;
  std::string person;
  std::string request;  // the reference of the person's request
  std::string by;       // the DPO who decided it
  std::string at;       // UTC, ISO 8601
  std::size_t records = 0;
};

// What the server did with an upload of access-log entries.
struct AccessUpload {
  std::uint64_t through = 0;                // the replica's entries are kept up to here
  std::optional<store::ChainBreak> broken;  // the first problem in the chain, if any
};

// A break found in a replica's access-log chain, as the server recorded it.
struct AccessBreak {
  std::string replica;
  std::string device;
  std::uint64_t seq = 0;
  std::string kind;  // gap, reorder, edited, foreign
  std::string message;
  std::string at;  // when it was found, UTC
};

// One replica's access-log chain as the store holds it, verified again
// entry by entry: every hash recomputed, every link and number checked.
struct ChainReport {
  std::string replica;
  std::uint64_t entries = 0;  // held (older ones go with the retention job)
  std::uint64_t first = 0;    // sequence numbers of the first and last held
  std::uint64_t last = 0;
  std::optional<store::ChainBreak> problem;  // the first found now, if any
  std::size_t breaks_recorded = 0;           // found at upload (AccessBreak)
};

// A person whose latest consent to a purpose does not allow processing.
struct ConsentGap {
  std::string person;
  std::string site;
  std::string state;  // none, withdrawn, incomplete (a guardian missing)
  std::string since;  // when the latest consent record was captured; "" for none
};

// A request of a person exercising a right (RGPD art. 15 to 21), tracked
// with its legal deadline: one month after it was received.
struct RightsRequest {
  std::string ref;       // the reference the DPO gives it
  std::string person;    // record id of the person concerned
  std::string kind;      // access, portability, rectification, erasure, restriction, objection
  std::string received;  // date received, YYYY-MM-DD
  std::string deadline;  // received + 1 month, YYYY-MM-DD
  std::string by;        // the DPO who recorded it
  std::string closed;    // UTC time it was answered; empty while open
  std::string outcome;   // what was done
};
inline constexpr std::string_view kRequestKinds[] = {"access",  "portability", "rectification",
                                                     "erasure", "restriction", "objection"};
// The deadline of a request received on `received` (YYYY-MM-DD): the same
// day of the next month, or that month's last day. nullopt if not a date.
std::optional<std::string> request_deadline(const std::string& received);

// What the retention job finds (and, when applied, erases): persons whose
// last contact is older than the person entity's retention period, and
// access-log entries older than the access log's.
struct RetentionReport {
  struct Candidate {
    std::string person;
    std::string last_contact;  // YYYY-MM-DD
  };
  std::string rule;           // the retention rule applied to persons
  std::string person_cutoff;  // YYYY-MM-DD: a last contact before it is too old
  std::string access_cutoff;  // UTC: access-log entries before it go
  std::vector<Candidate> persons;
  std::size_t access_entries = 0;
};

// An erasure and the devices that have not yet sent its receipt.
struct ErasureStatus {
  Erasure erasure;
  std::vector<std::string> receipts;  // device ids
  std::vector<std::string> pending;   // device ids (not revoked) without a receipt
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
  // Sets the password verifier of `user` (relais/sync/accounts.h), sent to
  // the replicas where they may log in to `relais serve`.
  virtual Status set_password(const std::string& user, const std::string& verifier) = 0;
  // The accounts a device keeps for offline login: users of its site with a
  // password, or for a central device, central, DPO and administrator users.
  virtual Result<std::vector<sync::AccountNotice>> accounts_for(const Device& device) = 0;
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
  // Days a replica may go without syncing before it hides personal data,
  // told to each replica in `welcome` (0: no limit). Kept in the store;
  // `relais-server serve` sets it from its configuration.
  virtual int max_offline_days() = 0;
  virtual Status set_max_offline_days(int days) = 0;

  // --- The access log (docs/rgpd.md).
  // Verifies the entries against what the server holds of the device's
  // chain, keeps them all (a break is recorded, never a reason to lose an
  // entry), and returns how far the chain is kept. Entries already held are
  // skipped if identical, and a break if not.
  virtual Result<AccessUpload> store_access(const Device& device,
                                            const std::vector<store::AccessEntry>& entries) = 0;
  virtual Result<std::vector<AccessBreak>> access_breaks() = 0;
  // Every entry about `person`, from every replica, by time.
  virtual Result<std::vector<store::AccessEntry>> accesses_of(const std::string& person) = 0;
  // Every entry of reads by `user` at `from` or later and before `to` (UTC,
  // ISO 8601 or a date; "" for no bound), from every replica, by time.
  virtual Result<std::vector<store::AccessEntry>> accesses_by(const std::string& user,
                                                              const std::string& from,
                                                              const std::string& to) = 0;
  // Every chain held, by replica id.
  virtual Result<std::vector<ChainReport>> verify_access_chains() = 0;

  // --- Consent. The live persons whose latest consent to `purpose` does
  // not allow processing for it, by site then id. Errc::unknown_purpose, or
  // Errc::not_consent_purpose for a purpose with another legal basis.
  virtual Result<std::vector<ConsentGap>> consent_gaps(const std::string& purpose) = 0;

  // --- Requests of persons (docs/rgpd.md). `by` must be a DPO.
  virtual Status add_request(const RightsRequest& request) = 0;
  virtual Result<std::vector<RightsRequest>> requests() = 0;
  virtual Status close_request(const std::string& ref, const std::string& outcome) = 0;
  // Everything held about `person` for request `ref` (access or
  // portability): current values, full history, consent records and the
  // access log about them, as one JSON document (docs/rgpd.md). The read is
  // written to the server's own access log; the request is closed.
  virtual Result<nlohmann::json> export_person(const std::string& person, const std::string& ref,
                                               const std::string& by) = 0;

  // --- Retention (docs/rgpd.md). With `apply` false, a dry run: the report
  // only. Applied, each person found is erased as by erase_person (request
  // "retention-DATE"), and old access-log entries are deleted. `by` must be
  // a DPO; `now` is the time the periods count back from.
  virtual Result<RetentionReport> retention(const std::string& by, bool apply, std::time_t now,
                                            int access_days) = 0;

  // --- Erasure (docs/rgpd.md).
  // Erases `person` from the store, on behalf of DPO `by`, for the request
  // `request`. Errors: unknown_record (no such person), erased_record
  // (already erased), unknown_user, role_required (`by` is not a DPO).
  virtual Result<Erasure> erase_person(const std::string& person, const std::string& request,
                                       const std::string& by) = 0;
  // Erasures the device has not acknowledged, oldest first.
  virtual Result<std::vector<Erasure>> pending_erasures(const Device& device) = 0;
  virtual Status record_receipts(const Device& device, const std::vector<std::string>& ids) = 0;
  virtual Result<std::vector<ErasureStatus>> erasure_status() = 0;
  // Rewrites the store so that no freed page keeps erased values.
  virtual Status compact() = 0;

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
