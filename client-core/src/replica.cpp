// Replica life cycle: creating and opening the file, the tables derived from
// the schema, migrations, the statement cache and what the replica knows.
#include "relais/store/replica.h"

#include <algorithm>
#include <filesystem>

#include "replica_internal.h"

namespace relais::store {
namespace {

using nlohmann::json;

constexpr int kStoreFormat = 1;  // layout of the non-entity tables below

// Added after the first replicas were made: created on open when missing.
constexpr std::string_view kSettingsTable =
    "CREATE TABLE IF NOT EXISTS settings(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID";

// Added with erasure: created on open when missing. `erased` lists the
// records an erasure removed (so that their later changes are purged on
// arrival); `erasures` the erasures applied here, for the receipts.
constexpr std::string_view kErasureTables = R"sql(
CREATE TABLE IF NOT EXISTS erased(record TEXT PRIMARY KEY, erasure TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS erasures(id TEXT PRIMARY KEY, person TEXT NOT NULL,
                                    applied TEXT NOT NULL) WITHOUT ROWID;
)sql";

constexpr std::string_view kBaseTables = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE origins(idx INTEGER PRIMARY KEY, replica TEXT NOT NULL UNIQUE,
                     known INTEGER NOT NULL DEFAULT 0);
CREATE TABLE changes(origin INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
                     hlc INTEGER NOT NULL, author TEXT NOT NULL, entity TEXT NOT NULL,
                     record TEXT NOT NULL, kind TEXT NOT NULL, ops TEXT NOT NULL,
                     PRIMARY KEY(origin, first)) WITHOUT ROWID;
CREATE INDEX changes_by_record ON changes(record);
CREATE TABLE heads(record TEXT NOT NULL, field TEXT NOT NULL, origin INTEGER NOT NULL,
                   counter INTEGER NOT NULL,
                   PRIMARY KEY(record, field, origin, counter)) WITHOUT ROWID;
)sql";

Status set_pragmas(Database& db) {
  return db.exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;"
      "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16000;");
}

constexpr std::string_view kPutMeta =
    "INSERT INTO meta(key, value) VALUES(?, ?) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value";

Status put_meta(Database& db, const std::string& key, const std::string& value) {
  auto s = db.prepare(kPutMeta);
  if (!s) return s.error();
  return s->bind(1, key).bind(2, value).run();
}

}  // namespace

std::string quote_ident(const std::string& name) {
  return "\"" + name + "\"";
}

Replica::Replica(Database db, const schema::Schema& schema, HybridClock::WallClock wall)
    : db_(std::move(db)), schema_(schema), clock_(0, std::move(wall)) {}

Replica::~Replica() = default;

Result<std::unique_ptr<Replica>> Replica::create(const std::string& path, const std::string& site,
                                                 const std::string& user,
                                                 const schema::Schema& schema,
                                                 HybridClock::WallClock wall) {
  if (site.empty() || user.empty())
    return make_error(Errc::invalid_argument, "a replica needs a site and a user");
  std::error_code ec;
  if (std::filesystem::exists(path, ec))
    return make_error(Errc::replica_exists, "'" + path + "' already exists");
  auto db = Database::open(path, true);
  if (!db) return db.error();
  std::unique_ptr<Replica> r(new Replica(std::move(db).value(), schema, std::move(wall)));
  if (Status s = set_pragmas(r->db_); !s) return s.error();

  auto tx = Transaction::begin(r->db_);
  if (!tx) return tx.error();
  if (Status s = r->db_.exec(kBaseTables); !s) return s.error();
  if (Status s = r->db_.exec(kSettingsTable); !s) return s.error();
  if (Status s = r->db_.exec(kErasureTables); !s) return s.error();
  for (const auto& e : schema.entities())
    if (Status s = r->create_tables(e); !s) return s.error();
  const std::pair<std::string, std::string> meta[] = {
      {"store_format", std::to_string(kStoreFormat)},
      {"replica_id", new_uuid()},
      {"site", site},
      {"user", user},
      {"schema_version", std::to_string(schema.version())},
      {"counter", "0"},
      {"hlc", "0"},
  };
  for (const auto& [k, v] : meta)
    if (Status s = put_meta(r->db_, k, v); !s) return s.error();
  if (Status s = (*tx)->commit(); !s) return s.error();
  if (Status s = r->load(); !s) return s.error();
  if (Status s = r->ensure_search_indexes(); !s) return s.error();
  return r;
}

Result<std::unique_ptr<Replica>> Replica::open(const std::string& path,
                                               const schema::Schema& schema,
                                               HybridClock::WallClock wall) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return make_error(Errc::replica_missing,
                      "no replica at '" + path + "' (create one with `relais init`)");
  auto db = Database::open(path, false);
  if (!db) return db.error();
  std::unique_ptr<Replica> r(new Replica(std::move(db).value(), schema, std::move(wall)));
  if (Status s = set_pragmas(r->db_); !s) return s.error();
  if (Status s = r->load(); !s) return s.error();
  if (Status s = r->db_.exec(kSettingsTable); !s) return s.error();
  if (Status s = r->db_.exec(kErasureTables); !s) return s.error();
  if (r->info_.schema_version > schema.version())
    return make_error(Errc::replica_newer_schema, "this replica uses schema version " +
                                                      std::to_string(r->info_.schema_version) +
                                                      " but this program knows only up to " +
                                                      std::to_string(schema.version()) +
                                                      "; install a newer Relais");
  if (r->info_.schema_version < schema.version()) {
    if (Status s = r->migrate(r->info_.schema_version); !s) return s.error();
  }
  if (Status s = r->ensure_search_indexes(); !s) return s.error();
  return r;
}

Status Replica::load() {
  origins_.clear();
  known_.clear();
  origin_ids_.clear();
  dirty_known_.clear();
  statements_.clear();
  auto s = db_.prepare("SELECT key, value FROM meta");
  if (!s) return make_error(Errc::store_corrupt, "not a Relais replica: " + s.error().message);
  std::map<std::string, std::string> meta;
  while (s->step()) meta[s->text(0)] = s->text(1);
  if (!s->status()) return s->status();
  for (const char* key :
       {"store_format", "replica_id", "site", "user", "schema_version", "counter", "hlc"})
    if (!meta.count(key))
      return make_error(Errc::store_corrupt, std::string("replica metadata lacks '") + key + "'");
  if (std::stoi(meta["store_format"]) != kStoreFormat)
    return make_error(Errc::replica_newer_schema,
                      "unknown replica store format " + meta["store_format"]);
  info_ = {meta["replica_id"], meta["site"], meta["user"], std::stoi(meta["schema_version"])};
  if (!user_override_.empty()) info_.user = user_override_;
  counter_ = std::stoull(meta["counter"]);
  clock_.observe(std::stoull(meta["hlc"]));

  auto o = db_.prepare("SELECT idx, replica, known FROM origins ORDER BY idx");
  if (!o) return o.error();
  while (o->step()) {
    const auto idx = static_cast<std::size_t>(o->int64(0));
    if (idx != origins_.size()) return make_error(Errc::store_corrupt, "origin indexes have gaps");
    origins_.push_back(o->text(1));
    known_.push_back(static_cast<std::uint64_t>(o->int64(2)));
    origin_ids_[origins_.back()] = static_cast<std::uint32_t>(idx);
  }
  if (!o->status()) return o->status();
  auto m = db_.prepare("SELECT origin, MAX(last) FROM changes GROUP BY origin");
  if (!m) return m.error();
  max_stored_.assign(origins_.size(), 0);
  while (m->step())
    max_stored_.at(static_cast<std::size_t>(m->int64(0))) = static_cast<std::uint64_t>(m->int64(1));
  if (!m->status()) return m->status();
  erased_.clear();
  // A file from before erasure has no such table until open() adds it.
  if (auto e = db_.prepare("SELECT record, erasure FROM erased")) {
    while (e->step()) erased_.emplace(e->text(0), e->text(1));
    return e->status();
  }
  return Status::Ok();
}

Status Replica::create_tables(const schema::Entity& entity) {
  std::string sql = "CREATE TABLE " + quote_ident(entity.name) + "(id TEXT PRIMARY KEY";
  for (const auto& f : entity.fields) sql += ", " + quote_ident(f.name) + " " + column_type(f);
  sql += ", _deleted INTEGER NOT NULL DEFAULT 0, _clocks TEXT NOT NULL) WITHOUT ROWID";
  return db_.exec(sql);
}

// Applies migrations after `from_version` in one transaction. Steps only add,
// so existing rows and the op log stay as they are.
Status Replica::migrate(int from_version) {
  auto tx = Transaction::begin(db_);
  if (!tx) return tx.error();
  for (const auto& m : schema_.migrations()) {
    if (m.version <= from_version) continue;
    for (const auto& step : m.steps) {
      const schema::Entity* e = schema_.entity(step.entity);
      Status s;
      if (step.kind == schema::MigrationStep::Kind::add_entity) {
        s = create_tables(*e);
      } else if (step.kind == schema::MigrationStep::Kind::add_field) {
        const schema::Field* f = e->field(step.field);
        s = db_.exec("ALTER TABLE " + quote_ident(e->name) + " ADD COLUMN " + quote_ident(f->name) +
                     " " + column_type(*f));
      }
      if (!s) return s;
    }
  }
  if (Status s = put_meta(db_, "schema_version", std::to_string(schema_.version())); !s) return s;
  if (Status s = (*tx)->commit(); !s) return s;
  info_.schema_version = schema_.version();
  return Status::Ok();
}

Result<StatementLease> Replica::statement(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    auto s = db_.prepare(sql);
    if (!s) return s.error();
    it = statements_.emplace(sql, std::make_unique<Statement>(std::move(s).value())).first;
  }
  it->second->reset();
  return StatementLease(it->second.get());
}

const Replica::EntitySql& Replica::entity_sql(const schema::Entity& e) {
  auto& slot = entity_sql_[e.name];
  if (slot) return *slot;
  slot = std::make_unique<EntitySql>();
  std::string cols, marks;
  for (const auto& f : e.fields) {
    cols += ", " + quote_ident(f.name);
    marks += ", ?";
  }
  const std::string table = quote_ident(e.name);
  slot->select_row = "SELECT id" + cols + ", _deleted, _clocks FROM " + table + " WHERE id = ?";
  slot->upsert_row = "INSERT OR REPLACE INTO " + table + "(id" + cols + ", _deleted, _clocks) " +
                     "VALUES(?" + marks + ", ?, ?)";
  slot->select_live =
      "SELECT id" + cols + " FROM " + table + " WHERE _deleted = 0 ORDER BY id LIMIT ?";
  slot->exists_live = "SELECT 1 FROM " + table + " WHERE id = ? AND _deleted = 0";
  for (std::size_t i = 0; i < e.fields.size(); ++i) slot->fields_by_name.push_back(i);
  std::sort(slot->fields_by_name.begin(), slot->fields_by_name.end(),
            [&](std::size_t a, std::size_t b) { return e.fields[a].name < e.fields[b].name; });
  return *slot;
}

Result<std::uint32_t> Replica::origin_index(const std::string& replica_id) {
  if (auto it = origin_ids_.find(replica_id); it != origin_ids_.end()) return it->second;
  const auto idx = static_cast<std::uint32_t>(origins_.size());
  auto s = statement("INSERT INTO origins(idx, replica, known) VALUES(?, ?, 0)");
  if (!s) return s.error();
  if (Status st = (*s)->bind(1, std::int64_t{idx}).bind(2, replica_id).run(); !st)
    return st.error();
  origins_.push_back(replica_id);
  known_.push_back(0);
  max_stored_.push_back(0);
  origin_ids_[replica_id] = idx;
  return idx;
}

Knowledge Replica::knowledge() {
  (void)refresh();
  Knowledge k;
  for (std::size_t i = 0; i < origins_.size(); ++i)
    if (known_[i] > 0) k[origins_[i]] = known_[i];
  return k;
}

// Moves the origin's contiguous counter past `change` if it closes the gap,
// then past any later changes that were already held.
Status Replica::advance_knowledge(std::uint32_t origin, const Change& change) {
  max_stored_[origin] = std::max(max_stored_[origin], change.last());
  if (change.first != known_[origin] + 1) return Status::Ok();
  known_[origin] = change.last();
  dirty_known_.insert(origin);
  while (max_stored_[origin] > known_[origin]) {
    auto s = statement("SELECT last FROM changes WHERE origin = ? AND first = ?");
    if (!s) return s.error();
    (*s)->bind(1, std::int64_t{origin}).bind(2, static_cast<std::int64_t>(known_[origin] + 1));
    if (!(*s)->step()) return (*s)->status();
    known_[origin] = static_cast<std::uint64_t>((*s)->int64(0));
  }
  return Status::Ok();
}

Status Replica::save_knowledge() {
  for (std::uint32_t origin : dirty_known_) {
    auto s = statement("UPDATE origins SET known = ? WHERE idx = ?");
    if (!s) return s.error();
    Status st = (*s)->bind(1, static_cast<std::int64_t>(known_[origin]))
                    .bind(2, std::int64_t{origin})
                    .run();
    if (!st) return st;
  }
  dirty_known_.clear();
  // Through the statement cache, not put_meta(): this runs on every local
  // edit and every applied batch, and compiling the statement twice each
  // time was about a sixth of a local edit's CPU time.
  static const std::string put_meta_sql(kPutMeta);
  auto s = statement(put_meta_sql);
  if (!s) return s.error();
  if (Status st = (*s)->bind(1, "hlc").bind(2, std::to_string(clock_.last())).run(); !st) return st;
  return (*s)->bind(1, "counter").bind(2, std::to_string(counter_)).run();
}

}  // namespace relais::store

namespace relais::store {

// Reloads what this object caches of the file (counters, knowledge, origins)
// if another connection committed since: several processes may share a
// replica (`relais sync --watch` beside edits from the command line).
Status Replica::refresh() {
  std::int64_t version = 0;
  {
    auto s = statement("PRAGMA data_version");
    if (!s) return s.error();
    if (!(*s)->step()) return (*s)->status();
    version = (*s)->int64(0);
  }
  if (version == data_version_) return Status::Ok();
  data_version_ = version;
  return load();
}

std::optional<std::string> Replica::setting(const std::string& name) {
  auto s = statement("SELECT value FROM settings WHERE name = ?");
  if (!s) return std::nullopt;
  (*s)->bind(1, name);
  if (!(*s)->step()) return std::nullopt;
  return (*s)->text(0);
}

Status Replica::write_settings(const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    auto s = statement(
        "INSERT INTO settings(name, value) VALUES(?, ?) "
        "ON CONFLICT(name) DO UPDATE SET value = excluded.value");
    if (!s) return s.error();
    if (Status st = (*s)->bind(1, name).bind(2, value).run(); !st) return st;
  }
  return Status::Ok();
}

Status Replica::set_settings(const std::map<std::string, std::string>& values) {
  auto tx = Transaction::begin(db_);
  if (!tx) return tx.error();
  if (Status s = write_settings(values); !s) return s;
  return (*tx)->commit();
}

}  // namespace relais::store
