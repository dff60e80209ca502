// A replica: one SQLite file (WAL) holding a site's records, the operation
// log that produced them, what the replica knows of other replicas, and the
// open conflicts. Every local edit and every merge of remote operations goes
// through here, one transaction each.
//
// Thread safety: none; one Replica per thread. Several processes may open
// the same file; SQLite serialises their transactions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "relais/error.h"
#include "relais/schema/schema.h"
#include "relais/store/change.h"
#include "relais/store/hlc.h"
#include "relais/store/sqlite.h"

namespace relais::store {

struct ReplicaInfo {
  std::string replica_id;  // UUID made at init
  std::string site;        // the site whose records it holds
  std::string user;        // default author of local edits
  int schema_version = 0;
};

// A record's visible state: every non-null field, by name.
struct Record {
  std::string entity;
  std::string id;
  bool deleted = false;
  nlohmann::json fields = nlohmann::json::object();
};

// One of the competing values of a field in conflict.
struct ConflictValue {
  OpId op;
  nlohmann::json value;
  std::string author;
  std::uint64_t hlc = 0;
};

// A field whose concurrent edits left different values. `values` is in
// winning order: values[0] is the one shown until a person settles it.
struct Conflict {
  std::string entity;
  std::string record;
  std::string field;
  std::vector<ConflictValue> values;
};

struct ApplyStats {
  std::size_t applied = 0;     // changes new to this replica
  std::size_t duplicates = 0;  // changes it already had (a no-op)
  std::size_t purged = 0;      // of the new ones, kept without values: erased records
};

// What applying one erasure did on a replica.
struct ErasureOutcome {
  bool already_applied = false;
  std::vector<std::string> records;  // the person and every record about them
  std::size_t changes_purged = 0;    // logged changes whose values were purged
};

class Replica {
 public:
  // Creates a new replica file for `site`, with a fresh replica id. Fails
  // with Errc::replica_exists if `path` exists.
  static Result<std::unique_ptr<Replica>> create(
      const std::string& path, const std::string& site, const std::string& user,
      const schema::Schema& schema, HybridClock::WallClock wall = HybridClock::system_wall_ms);

  // Opens an existing replica, migrating it to `schema`'s version first if it
  // is older (one transaction; data and operations are kept). Fails with
  // Errc::replica_newer_schema if the file was made by a newer Relais.
  static Result<std::unique_ptr<Replica>> open(
      const std::string& path, const schema::Schema& schema,
      HybridClock::WallClock wall = HybridClock::system_wall_ms);

  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  const ReplicaInfo& info() const { return info_; }
  // The author of the local edits and reads that follow (a program serving
  // several people sets it per request). Not stored: the replica's own user
  // comes back at the next open.
  void set_user(std::string user) {
    user_override_ = user;
    info_.user = std::move(user);
  }
  const schema::Schema& schema() const { return schema_; }

  // --- Local edits: validated against the schema, each one Change written
  // with its row change in one transaction. `fields` maps field names to
  // values (JSON, or null to clear). A record's `site` defaults to the
  // replica's site.

  // Returns the new record's id.
  Result<std::string> create_record(const std::string& entity, nlohmann::json fields);
  Status update_record(const std::string& entity, const std::string& id, nlohmann::json fields);
  Status delete_record(const std::string& entity, const std::string& id);
  // Ends the conflict on `field` of record `id` with `value` (one of the
  // competing values or another): a settle change replacing all of them.
  Status settle(const std::string& id, const std::string& field, const nlohmann::json& value);
  // Runs `edits` (calls of this replica's edits, or of the layers above that
  // make them) in one transaction: all their changes are kept, or, if it
  // returns an error, none.
  Status atomically(const std::function<Status()>& edits);

  // --- Reads.

  // Errc::unknown_record if the replica has no such record (deleted ones are
  // returned with deleted = true).
  Result<Record> get(const std::string& entity, const std::string& id);
  // Live records of `entity` in id order (creation order), at most `limit`.
  Result<std::vector<Record>> list(const std::string& entity, std::size_t limit);
  Result<std::vector<Conflict>> conflicts();
  // The op log, newest first; only `record`'s changes if given.
  Result<std::vector<Change>> history(const std::optional<std::string>& record, std::size_t limit);
  // SHA-256 (hex) of the visible state: live records and open conflicts.
  // Two replicas holding the same operations have the same digest.
  Result<std::string> digest();
  // Live records of `entity` whose reference `field` points at `id` (the
  // interactions of a person, say), in id order, at most `limit`.
  // Errc::unknown_field if `field` is not a reference of `entity`.
  Result<std::vector<Record>> referring(const std::string& entity, const std::string& field,
                                        const std::string& id, std::size_t limit);
  // How many changes made on this replica have a counter above `counter`.
  Result<std::int64_t> local_changes_after(std::uint64_t counter);
  // Counts of live records per entity.
  Result<std::map<std::string, std::int64_t>> counts();
  // Live records of `entity` whose searchable fields (schema: `search`)
  // match every word of `typed` as a word prefix, accents and case ignored;
  // a word of digits matches a phone whatever its spacing. Best matches
  // first, at most `limit`. invalid_argument if the entity has no
  // searchable field.
  Result<std::vector<Record>> search(const std::string& entity, std::string_view typed,
                                     std::size_t limit);

  // --- Exchange with other replicas (see relais/exchange).

  Knowledge knowledge();
  // The changes this replica holds that `theirs` lacks, in (origin, counter)
  // order, stopping once `max_ops` field operations are gathered.
  Result<std::vector<Change>> changes_after(const Knowledge& theirs, std::size_t max_ops);
  // The change made by `origin` whose first counter is `first`, if held.
  Result<std::optional<Change>> change(const std::string& origin, std::uint64_t first);
  // Merges remote changes, already checked by change_from_json, in one
  // transaction: all or nothing. Changes already held are skipped. A change
  // of an erased record, or one that points a record at an erased person,
  // is logged without its values (kind `erased`) and merges nothing; that
  // record is erased too.
  // `settings` are written in the same transaction (a sync cursor, say).
  // `on_applied`, if set, is called inside the transaction for each change
  // new to this replica, as it was logged (values purged or not), after its
  // merge; an error from it rolls back all.
  using ApplyHook = std::function<Status(const Change&)>;
  Result<ApplyStats> apply(const std::vector<Change>& changes,
                           const std::map<std::string, std::string>& settings = {},
                           const ApplyHook& on_applied = nullptr);

  // --- Erasure (the right to erasure, docs/rgpd.md).

  // Applies erasure `erasure_id` of person `person`, in one transaction:
  // deletes the person and every record whose changes refer to them, and
  // purges the values of all their logged changes, local ones not yet sent
  // included. Later changes of these records are purged on arrival.
  // Idempotent: a second call with the same id changes nothing.
  Result<ErasureOutcome> erase_person(const std::string& erasure_id, const std::string& person);
  // The person and every record with a logged change that names them
  // (interactions, referrals, consents, tasks...), as (entity, id), the
  // person first: what an erasure removes and what an export shows.
  Result<std::vector<std::pair<std::string, std::string>>> records_about(const std::string& person);
  // Whether `record` was erased here.
  bool erased(const std::string& record);
  // Ids of the erasures applied here.
  Result<std::vector<std::string>> applied_erasures();
  // The clean-up after an erasure: rewrites the file (VACUUM) so no freed
  // page keeps old bytes, then empties the WAL. Outside any transaction.
  Status compact();

  // The replica's SQLite connection, for layers that keep tables of their
  // own in the same file (the server's feed), in hooks or their own
  // transactions. Do not write the replica's tables through it.
  Database& database() { return db_; }

  // --- Settings: small named values kept in the replica file (the sync
  // server, device credential, cursor). nullopt if never set.
  std::optional<std::string> setting(const std::string& name);
  Status set_settings(const std::map<std::string, std::string>& values);

 private:
  struct FieldClock;
  struct RowState;
  struct EntitySql;

  Replica(Database db, const schema::Schema& schema, HybridClock::WallClock wall);

  Status load();
  Status migrate(int from_version);
  Status create_tables(const schema::Entity& entity);
  // The full-text indexes of search(), created or rebuilt to match the
  // model, and the indexes of referring().
  Status ensure_search_indexes();
  // Merges each index into one segment, dropping the entries of deleted
  // records: run before compact() rewrites the file after an erasure.
  Status optimize_search_indexes();
  Result<StatementLease> statement(const std::string& sql);
  const EntitySql& entity_sql(const schema::Entity& entity);

  Result<std::uint32_t> origin_index(const std::string& replica_id);
  Status commit_local(const schema::Entity& entity, const std::string& id, ChangeKind kind,
                      const nlohmann::json& fields);
  Status refresh();
  enum class Applied { duplicate, merged, purged };
  Result<Applied> apply_one(const Change& change, std::uint32_t origin);
  Result<Applied> duplicate_of_held(const Change& change, std::uint32_t origin);
  // The erasure that took `change`'s record, or the person it refers to;
  // nullptr if none did.
  const std::string* erasure_of(const Change& change) const;
  Status log_change(const Change& change, std::uint32_t origin);
  Status erase_records(const std::string& erasure_id,
                       const std::vector<std::pair<std::string, std::string>>& records);
  Result<std::optional<RowState>> load_row(const schema::Entity& entity, const std::string& id);
  Status write_row(const schema::Entity& entity, const std::string& id, const RowState& row);
  Result<std::set<std::string>> multi_head_fields(const std::string& id);
  Status recompute(const schema::Entity& entity, const std::string& id);
  Result<std::vector<OpId>> heads_of(const std::string& id, const std::string& field);
  Status advance_knowledge(std::uint32_t origin, const Change& change);
  Status save_knowledge();
  Status write_settings(const std::map<std::string, std::string>& values);
  Result<Change> read_change(Statement& s);
  Status check_references(const schema::Entity& entity, const nlohmann::json& fields);
  Result<Change> make_local_change(const schema::Entity& entity, const std::string& id,
                                   ChangeKind kind, const nlohmann::json& fields);

  bool clock_less(const FieldClock& a, const FieldClock& b) const;

  Database db_;
  schema::Schema schema_;
  HybridClock clock_;
  ReplicaInfo info_;
  std::string user_override_;  // set_user(); survives a reload of the metadata
  std::uint64_t counter_ = 0;  // last counter used by a local op
  std::map<std::string, std::uint32_t> origin_ids_;
  std::vector<std::string> origins_;       // index -> replica id
  std::vector<std::uint64_t> known_;       // index -> contiguous counter
  std::vector<std::uint64_t> max_stored_;  // index -> highest counter held
  std::set<std::uint32_t> dirty_known_;
  std::map<std::string, std::unique_ptr<Statement>> statements_;
  std::map<std::string, std::unique_ptr<EntitySql>> entity_sql_;
  std::map<std::string, std::string> erased_;  // erased record id -> erasure id
  std::int64_t data_version_ = -1;             // PRAGMA data_version when caches were loaded
};

}  // namespace relais::store
