// The embedded default ServerStore: one SQLite file holding a central
// replica (every site's merged operations, through the same merge code as
// the sites' replicas) plus the server's own tables, prefixed srv_.
#include <openssl/rand.h>

#include <ctime>
#include <filesystem>
#include <mutex>
#include <optional>

#include "relais/server/store.h"
#include "relais/store/replica.h"
#include "relais/store/sha256.h"

namespace relais::server {
namespace {

using nlohmann::json;
using store::Database;
using store::Transaction;

constexpr std::string_view kServerTables = R"sql(
CREATE TABLE IF NOT EXISTS srv_sites(id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS srv_users(id TEXT PRIMARY KEY, role TEXT NOT NULL,
                                     site TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS srv_codes(hash TEXT PRIMARY KEY, user TEXT NOT NULL,
                                     expires INTEGER NOT NULL,
                                     used INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS srv_devices(id TEXT PRIMARY KEY, user TEXT NOT NULL,
                                       site TEXT NOT NULL, central INTEGER NOT NULL,
                                       replica TEXT NOT NULL, credential_hash TEXT NOT NULL,
                                       created TEXT NOT NULL, revoked TEXT NOT NULL DEFAULT '',
                                       last_seen TEXT NOT NULL DEFAULT '') WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS srv_feed(seq INTEGER PRIMARY KEY AUTOINCREMENT,
                                    origin TEXT NOT NULL, first INTEGER NOT NULL,
                                    ops INTEGER NOT NULL, site TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS srv_feed_by_site ON srv_feed(site, seq);
CREATE TABLE IF NOT EXISTS srv_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS srv_erasures(id TEXT PRIMARY KEY, person TEXT NOT NULL UNIQUE,
                                        request TEXT NOT NULL, by_user TEXT NOT NULL,
                                        at TEXT NOT NULL, records INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS srv_access(replica TEXT NOT NULL, seq INTEGER NOT NULL,
                                      at TEXT NOT NULL, user TEXT NOT NULL, device TEXT NOT NULL,
                                      person TEXT NOT NULL, action TEXT NOT NULL,
                                      prev TEXT NOT NULL, hash TEXT NOT NULL,
                                      PRIMARY KEY(replica, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS srv_access_by_person ON srv_access(person, at);
CREATE TABLE IF NOT EXISTS srv_access_heads(replica TEXT PRIMARY KEY, seq INTEGER NOT NULL,
                                            hash TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS srv_access_breaks(id INTEGER PRIMARY KEY, replica TEXT NOT NULL,
                                             device TEXT NOT NULL, seq INTEGER NOT NULL,
                                             kind TEXT NOT NULL, message TEXT NOT NULL,
                                             at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS srv_receipts(erasure TEXT NOT NULL, device TEXT NOT NULL,
                                        at TEXT NOT NULL,
                                        PRIMARY KEY(erasure, device)) WITHOUT ROWID;
)sql";

constexpr char kCentralSite[] = "*";

using store::utc_iso;

std::string random_text(std::size_t n, std::string_view alphabet) {
  std::string bytes(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n));
  std::string out;
  for (char b : bytes) out += alphabet[static_cast<unsigned char>(b) % alphabet.size()];
  return out;
}

// 12 characters without look-alikes (no 0/O, 1/I/L), grouped for reading
// aloud: about 60 bits, single use, short-lived.
std::string new_code() {
  const std::string raw = random_text(12, "ABCDEFGHJKMNPQRSTUVWXYZ23456789");
  return raw.substr(0, 4) + "-" + raw.substr(4, 4) + "-" + raw.substr(8, 4);
}

class SqliteStore final : public ServerStore {
 public:
  explicit SqliteStore(std::unique_ptr<store::Replica> central) : central_(std::move(central)) {}

  Status init_tables() {
    if (Status s = db().exec(kServerTables); !s) return s;
    return run("INSERT OR IGNORE INTO srv_meta(key, value) VALUES('feed', ?)", {store::new_uuid()});
  }

  Status new_feed_id() {
    return run("UPDATE srv_meta SET value = ? WHERE key = 'feed'", {store::new_uuid()});
  }

  std::string server_id() const override { return central_->info().replica_id; }

  std::string feed_id() override {
    std::lock_guard lock(mu_);
    auto s = db().prepare("SELECT value FROM srv_meta WHERE key = 'feed'");
    return s && s->step() ? s->text(0) : std::string();
  }
  const schema::Schema& schema() const override { return central_->schema(); }

  Status create_site(const std::string& site) override {
    if (site.empty() || site == kCentralSite || site.size() > 64)
      return make_error(Errc::invalid_argument, "a site id is 1 to 64 characters, not '*'");
    std::lock_guard lock(mu_);
    return run("INSERT OR IGNORE INTO srv_sites(id) VALUES(?)", {site});
  }

  Result<std::vector<std::string>> sites() override {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    auto s = db().prepare("SELECT id FROM srv_sites ORDER BY id");
    if (!s) return s.error();
    while (s->step()) out.push_back(s->text(0));
    if (!s->status()) return s->status().error();
    return out;
  }

  Status create_user(const std::string& id, Role role, const std::string& site) override {
    std::lock_guard lock(mu_);
    if (id.empty()) return make_error(Errc::invalid_argument, "a user needs an id");
    const bool all = sees_all_sites(role);
    if (!all) {
      if (Status s = check_site(site); !s) return s;
    }
    return run(
        "INSERT INTO srv_users(id, role, site) VALUES(?, ?, ?) ON CONFLICT(id) DO "
        "UPDATE SET role = excluded.role, site = excluded.site",
        {id, std::string(role_name(role)), all ? "" : site});
  }

  Result<std::vector<User>> users() override {
    std::lock_guard lock(mu_);
    auto s = db().prepare("SELECT id, role, site FROM srv_users ORDER BY id");
    if (!s) return s.error();
    std::vector<User> out;
    while (s->step()) out.push_back({s->text(0), *parse_role(s->text(1)), s->text(2)});
    if (!s->status()) return s->status().error();
    return out;
  }

  Result<EnrollmentCode> issue_code(const std::string& user,
                                    std::chrono::seconds validity) override {
    std::lock_guard lock(mu_);
    auto u = find_user(user);
    if (!u) return u.error();
    const std::string code = new_code();
    const std::time_t expires = std::time(nullptr) + validity.count();
    auto s = db().prepare("INSERT INTO srv_codes(hash, user, expires) VALUES(?, ?, ?)");
    if (!s) return s.error();
    if (Status st =
            s->bind(1, store::sha256_hex(code)).bind(2, user).bind(3, std::int64_t{expires}).run();
        !st)
      return st.error();
    return EnrollmentCode{code, user, utc_iso(expires)};
  }

  Result<std::vector<Device>> devices() override {
    std::lock_guard lock(mu_);
    auto s = db().prepare(
        "SELECT id, user, site, central, replica, created, revoked, last_seen "
        "FROM srv_devices ORDER BY created, id");
    if (!s) return s.error();
    std::vector<Device> out;
    while (s->step()) out.push_back(read_device(*s));
    if (!s->status()) return s->status().error();
    return out;
  }

  Status revoke_device(const std::string& device) override {
    std::lock_guard lock(mu_);
    if (Status s = run("UPDATE srv_devices SET revoked = ? WHERE id = ? AND revoked = ''",
                       {utc_iso(std::time(nullptr)), device});
        !s)
      return s;
    if (db().changes() == 0)
      return make_error(Errc::unknown_record, "no device " + device + " that is not revoked");
    return Status::Ok();
  }

  Result<std::pair<Device, std::string>> enroll(const std::string& code,
                                                const std::string& replica) override {
    std::lock_guard lock(mu_);
    auto tx = Transaction::begin(db());
    if (!tx) return tx.error();
    auto s = db().prepare("SELECT user FROM srv_codes WHERE hash = ? AND used = 0 AND expires > ?");
    if (!s) return s.error();
    s->bind(1, store::sha256_hex(code)).bind(2, std::int64_t{std::time(nullptr)});
    if (!s->step())
      return make_error(Errc::enrollment_code_invalid,
                        "this enrollment code is unknown, already used or expired");
    auto user = find_user(s->text(0));
    if (!user) return user.error();
    const bool central = sees_all_sites(user->role);
    Device d{store::new_uuid(),
             user->id,
             central ? "" : user->site,
             central,
             replica,
             utc_iso(std::time(nullptr)),
             "",
             ""};
    const std::string credential =
        random_text(43, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
    if (Status st = run("UPDATE srv_codes SET used = 1 WHERE hash = ?", {store::sha256_hex(code)});
        !st)
      return st.error();
    auto ins = db().prepare(
        "INSERT INTO srv_devices(id, user, site, central, replica, "
        "credential_hash, created) VALUES(?, ?, ?, ?, ?, ?, ?)");
    if (!ins) return ins.error();
    ins->bind(1, d.id).bind(2, d.user).bind(3, d.site).bind(4, std::int64_t{central ? 1 : 0});
    ins->bind(5, replica).bind(6, store::sha256_hex(credential)).bind(7, d.created);
    if (Status st = ins->run(); !st) return st.error();
    if (Status st = (*tx)->commit(); !st) return st.error();
    return std::make_pair(d, credential);
  }

  Result<Device> authenticate(const std::string& device, const std::string& credential) override {
    std::lock_guard lock(mu_);
    auto s = db().prepare(
        "SELECT id, user, site, central, replica, created, revoked, last_seen, "
        "credential_hash FROM srv_devices WHERE id = ?");
    if (!s) return s.error();
    s->bind(1, device);
    if (!s->step() || s->text(8) != store::sha256_hex(credential))
      return make_error(Errc::bad_credential, "unknown device or wrong credential");
    Device d = read_device(*s);
    if (!d.revoked.empty())
      return make_error(Errc::device_revoked, "this device was revoked on " + d.revoked +
                                                  "; ask an administrator to enroll it again");
    d.last_seen = utc_iso(std::time(nullptr));
    (void)run("UPDATE srv_devices SET last_seen = ? WHERE id = ?", {d.last_seen, d.id});
    return d;
  }

  Status check_still_valid(const Device& device) override {
    std::lock_guard lock(mu_);
    auto s = db().prepare("SELECT revoked FROM srv_devices WHERE id = ?");
    if (!s) return s.error();
    s->bind(1, device.id);
    if (!s->step()) return make_error(Errc::bad_credential, "unknown device");
    if (!s->text(0).empty())
      return make_error(Errc::device_revoked, "this device was revoked on " + s->text(0));
    return Status::Ok();
  }

  store::Knowledge knowledge() override {
    std::lock_guard lock(mu_);
    return central_->knowledge();
  }

  Result<IngestResult> ingest(const Device& device,
                              const std::vector<store::Change>& changes) override {
    std::lock_guard lock(mu_);
    // Before merging: a record that already belongs to another site stays
    // out of reach, whatever the batch says. A change may come purged of its
    // values only for a record erased here, or one the server never held (a
    // record made offline about a person erased since); for any other, the
    // empty change would stand in for the real one.
    for (const auto& c : changes) {
      if (c.kind == store::ChangeKind::erased && !central_->erased(c.record) &&
          central_->get(c.entity, c.record).ok())
        return make_error(Errc::erasure_forged, "change " + c.op_id(0).str() +
                                                    " comes without its values, but " + c.entity +
                                                    " " + c.record + " was never erased");
      if (c.kind != store::ChangeKind::erased && schema().entity(c.entity)->append_only &&
          central_->get(c.entity, c.record).ok() && !is_held(c))
        return make_error(Errc::append_only, "change " + c.op_id(0).str() + ": " + c.entity + " " +
                                                 c.record + " is written once and never changed");
      auto site = current_site(c.entity, c.record);
      if (!site) return site.error();
      if (Status s = check_scope(device, c, *site); !s) return s.error();
    }
    std::size_t applied_ops = 0;
    auto stats = central_->apply(changes, {}, [&](const store::Change& c) -> Status {
      applied_ops += c.ops.size();
      auto site = current_site(c.entity, c.record);
      if (!site) return site.error();
      const std::string where = site->empty() ? fallback_site(device, c) : *site;
      if (Status s = check_scope(device, c, where); !s) return s;
      if (Status s = check_author(c, where); !s) return s;
      auto ins = feed_insert();
      if (!ins) return ins.error();
      return (*ins)
          ->bind(1, c.origin)
          .bind(2, static_cast<std::int64_t>(c.first))
          .bind(3, static_cast<std::int64_t>(c.ops.size()))
          .bind(4, where)
          .run();
    });
    if (!stats) return stats.error();
    return IngestResult{stats->applied, stats->duplicates, applied_ops, stats->purged};
  }

  Result<PullBatch> pull(const Device& device, std::uint64_t cursor, std::size_t max_ops) override {
    std::lock_guard lock(mu_);
    auto s =
        db().prepare(device.central ? "SELECT seq, origin, first, ops FROM srv_feed WHERE seq > ?1 "
                                      "AND origin != ?3 ORDER BY seq LIMIT ?4"
                                    : "SELECT seq, origin, first, ops FROM srv_feed WHERE seq > ?1 "
                                      "AND (site = ?2 OR site = '') AND origin != ?3 ORDER BY seq "
                                      "LIMIT ?4");
    if (!s) return s.error();
    s->bind(1, static_cast<std::int64_t>(cursor)).bind(2, device.site).bind(3, device.replica);
    s->bind(4, static_cast<std::int64_t>(max_ops) + 1);
    PullBatch batch{{}, cursor, true};
    std::size_t ops = 0;
    while (s->step()) {
      if (ops >= max_ops) {
        batch.caught_up = false;
        break;
      }
      auto c = central_->change(s->text(1), static_cast<std::uint64_t>(s->int64(2)));
      if (!c) return c.error();
      if (*c) batch.changes.push_back(std::move(**c));
      ops += static_cast<std::size_t>(s->int64(3));
      batch.cursor = static_cast<std::uint64_t>(s->int64(0));
    }
    if (!s->status()) return s->status().error();
    if (batch.caught_up) {
      // Nothing more in scope: move past the rows of other sites too, so the
      // next pull does not scan them again.
      auto head = db().prepare("SELECT COALESCE(MAX(seq), 0) FROM srv_feed");
      if (!head) return head.error();
      if (head->step())
        batch.cursor = std::max(batch.cursor, static_cast<std::uint64_t>(head->int64(0)));
    }
    return batch;
  }

  Result<AccessUpload> store_access(const Device& device,
                                    const std::vector<store::AccessEntry>& entries) override {
    std::lock_guard lock(mu_);
    auto tx = Transaction::begin(db());
    if (!tx) return tx.error();
    store::ChainHead head;
    {
      auto h = db().prepare("SELECT seq, hash FROM srv_access_heads WHERE replica = ?");
      if (!h) return h.error();
      h->bind(1, device.replica);
      if (h->step()) head = {static_cast<std::uint64_t>(h->int64(0)), h->text(1)};
    }
    AccessUpload out{head.seq, std::nullopt};
    std::vector<store::AccessEntry> fresh;
    for (const auto& e : entries) {
      if (e.seq > head.seq) {
        fresh.push_back(e);
        continue;
      }
      auto held = db().prepare("SELECT hash FROM srv_access WHERE replica = ? AND seq = ?");
      if (!held) return held.error();
      held->bind(1, device.replica).bind(2, static_cast<std::int64_t>(e.seq));
      if (held->step() && held->text(0) != e.hash && !out.broken)
        out.broken = store::ChainBreak{
            store::ChainBreak::Kind::edited, e.seq,
            "entry " + std::to_string(e.seq) + " was sent again with other content"};
    }
    if (!out.broken) out.broken = store::verify_chain(head, device.replica, fresh);
    auto ins = db().prepare(
        "INSERT OR IGNORE INTO srv_access(replica, seq, at, user, device, person, action, prev, "
        "hash) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!ins) return ins.error();
    const store::AccessEntry* last = nullptr;
    for (const auto& e : fresh) {
      ins->reset();
      ins->bind(1, device.replica).bind(2, static_cast<std::int64_t>(e.seq)).bind(3, e.at);
      ins->bind(4, e.user).bind(5, e.device).bind(6, e.person).bind(7, e.action);
      if (Status s = ins->bind(8, e.prev).bind(9, e.hash).run(); !s) return s.error();
      if (!last || e.seq > last->seq) last = &e;
    }
    if (last) {
      out.through = last->seq;
      auto put = db().prepare(
          "INSERT INTO srv_access_heads(replica, seq, hash) VALUES(?, ?, ?) "
          "ON CONFLICT(replica) DO UPDATE SET seq = excluded.seq, hash = excluded.hash");
      if (!put) return put.error();
      put->bind(1, device.replica).bind(2, static_cast<std::int64_t>(last->seq));
      if (Status s = put->bind(3, last->hash).run(); !s) return s.error();
    }
    if (out.broken) {
      auto br = db().prepare(
          "INSERT INTO srv_access_breaks(replica, device, seq, kind, message, at) "
          "VALUES(?, ?, ?, ?, ?, ?)");
      if (!br) return br.error();
      br->bind(1, device.replica)
          .bind(2, device.id)
          .bind(3, static_cast<std::int64_t>(out.broken->seq));
      br->bind(4, std::string(store::break_name(out.broken->kind))).bind(5, out.broken->message);
      if (Status s = br->bind(6, utc_iso(std::time(nullptr))).run(); !s) return s.error();
    }
    if (Status s = (*tx)->commit(); !s) return s.error();
    return out;
  }

  Result<std::vector<AccessBreak>> access_breaks() override {
    std::lock_guard lock(mu_);
    auto s = db().prepare(
        "SELECT replica, device, seq, kind, message, at FROM srv_access_breaks ORDER BY id");
    if (!s) return s.error();
    std::vector<AccessBreak> out;
    while (s->step())
      out.push_back({s->text(0), s->text(1), static_cast<std::uint64_t>(s->int64(2)), s->text(3),
                     s->text(4), s->text(5)});
    if (!s->status()) return s->status().error();
    return out;
  }

  Result<std::vector<store::AccessEntry>> accesses_of(const std::string& person) override {
    std::lock_guard lock(mu_);
    auto s = db().prepare(
        "SELECT seq, at, user, device, person, action, prev, hash FROM srv_access "
        "WHERE person = ? ORDER BY at, replica, seq");
    if (!s) return s.error();
    s->bind(1, person);
    std::vector<store::AccessEntry> out;
    while (s->step())
      out.push_back({static_cast<std::uint64_t>(s->int64(0)), s->text(1), s->text(2), s->text(3),
                     s->text(4), s->text(5), s->text(6), s->text(7)});
    if (!s->status()) return s->status().error();
    return out;
  }

  Result<Erasure> erase_person(const std::string& person, const std::string& request,
                               const std::string& by) override {
    std::lock_guard lock(mu_);
    auto user = find_user(by);
    if (!user) return user.error();
    if (user->role != Role::dpo)
      return make_error(Errc::role_required, "user '" + by + "' is " +
                                                 std::string(role_name(user->role)) +
                                                 "; only a DPO may erase a person");
    if (request.empty())
      return make_error(Errc::invalid_argument, "an erasure needs the reference of the request");
    if (central_->erased(person))
      return make_error(Errc::erased_record, "person " + person + " is already erased");
    if (auto p = central_->get("person", person); !p)
      return make_error(Errc::unknown_record, "no person " + person + " on this server");
    // The replica's erasure and the trace are two transactions: should the
    // second fail, the erasure stands and `rgpd erase` can be run again
    // for the trace (erase_person of the replica is idempotent).
    Erasure e{store::new_uuid(), person, request, by, utc_iso(std::time(nullptr)), 0};
    auto out = central_->erase_person(e.id, person);
    if (!out) return out.error();
    e.records = out->records.size();
    auto ins = db().prepare(
        "INSERT INTO srv_erasures(id, person, request, by_user, at, records) "
        "VALUES(?, ?, ?, ?, ?, ?)");
    if (!ins) return ins.error();
    ins->bind(1, e.id).bind(2, e.person).bind(3, e.request).bind(4, e.by).bind(5, e.at);
    if (Status st = ins->bind(6, static_cast<std::int64_t>(e.records)).run(); !st)
      return st.error();
    return e;
  }

  Result<std::vector<Erasure>> pending_erasures(const Device& device) override {
    std::lock_guard lock(mu_);
    return read_erasures(
        "SELECT id, person, request, by_user, at, records FROM srv_erasures WHERE id NOT IN "
        "(SELECT erasure FROM srv_receipts WHERE device = ?1) ORDER BY at, id",
        device.id);
  }

  Status record_receipts(const Device& device, const std::vector<std::string>& ids) override {
    std::lock_guard lock(mu_);
    auto tx = Transaction::begin(db());
    if (!tx) return tx.error();
    for (const auto& id : ids) {
      auto known = db().prepare("SELECT 1 FROM srv_erasures WHERE id = ?");
      if (!known) return known.error();
      known->bind(1, id);
      if (!known->step())
        return make_error(Errc::unknown_record, "no erasure " + id + " on this server");
      if (Status s = run("INSERT OR IGNORE INTO srv_receipts(erasure, device, at) VALUES(?, ?, ?)",
                         {id, device.id, utc_iso(std::time(nullptr))});
          !s)
        return s;
    }
    return (*tx)->commit();
  }

  Result<std::vector<ErasureStatus>> erasure_status() override {
    std::lock_guard lock(mu_);
    auto all = read_erasures(
        "SELECT id, person, request, by_user, at, records FROM srv_erasures ORDER BY at, id",
        std::nullopt);
    if (!all) return all.error();
    std::vector<ErasureStatus> out;
    for (auto& e : *all) {
      ErasureStatus st{std::move(e), {}, {}};
      auto s = db().prepare(
          "SELECT d.id, r.device IS NOT NULL FROM srv_devices d LEFT JOIN srv_receipts r "
          "ON r.device = d.id AND r.erasure = ? WHERE d.revoked = '' OR r.device IS NOT NULL "
          "ORDER BY d.created, d.id");
      if (!s) return s.error();
      s->bind(1, st.erasure.id);
      while (s->step()) (s->int64(1) ? st.receipts : st.pending).push_back(s->text(0));
      if (!s->status()) return s->status().error();
      out.push_back(std::move(st));
    }
    return out;
  }

  Status compact() override {
    std::lock_guard lock(mu_);
    feed_insert_.reset();  // VACUUM needs every statement of the connection finished
    return central_->compact();
  }

  Result<std::string> digest() override {
    std::lock_guard lock(mu_);
    return central_->digest();
  }

  Status backup(const std::string& path) override {
    std::lock_guard lock(mu_);
    auto s = db().prepare("VACUUM INTO ?");
    if (!s) return s.error();
    return s->bind(1, path).run();
  }

 private:
  Database& db() { return central_->database(); }

  Status run(const std::string& sql, const std::vector<std::string>& params) {
    auto s = db().prepare(sql);
    if (!s) return s.error();
    for (std::size_t i = 0; i < params.size(); ++i) s->bind(static_cast<int>(i) + 1, params[i]);
    return s->run();
  }

  Result<std::vector<Erasure>> read_erasures(const std::string& sql,
                                             const std::optional<std::string>& param) {
    auto s = db().prepare(sql);
    if (!s) return s.error();
    if (param) s->bind(1, *param);
    std::vector<Erasure> out;
    while (s->step())
      out.push_back({s->text(0), s->text(1), s->text(2), s->text(3), s->text(4),
                     static_cast<std::size_t>(s->int64(5))});
    if (!s->status()) return s->status().error();
    return out;
  }

  // Whether the server holds `c` already (a resent change, skipped by the merge).
  bool is_held(const store::Change& c) {
    auto held = central_->change(c.origin, c.first);
    return held && held->has_value();
  }

  Result<store::Statement*> feed_insert() {
    if (!feed_insert_) {
      auto s = db().prepare("INSERT INTO srv_feed(origin, first, ops, site) VALUES(?, ?, ?, ?)");
      if (!s) return s.error();
      feed_insert_ = std::make_unique<store::Statement>(std::move(s).value());
    }
    feed_insert_->reset();
    return feed_insert_.get();
  }

  static Device read_device(const store::Statement& s) {
    return Device{s.text(0), s.text(1), s.text(2), s.int64(3) != 0,
                  s.text(4), s.text(5), s.text(6), s.text(7)};
  }

  Status check_site(const std::string& site) {
    auto s = db().prepare("SELECT 1 FROM srv_sites WHERE id = ?");
    if (!s) return s.error();
    s->bind(1, site);
    if (!s->step()) return make_error(Errc::unknown_site, "unknown site '" + site + "'");
    return Status::Ok();
  }

  Result<User> find_user(const std::string& id) {
    auto s = db().prepare("SELECT id, role, site FROM srv_users WHERE id = ?");
    if (!s) return s.error();
    s->bind(1, id);
    if (!s->step()) return make_error(Errc::unknown_user, "unknown user '" + id + "'");
    return User{s->text(0), *parse_role(s->text(1)), s->text(2)};
  }

  // The site a record belongs to on the server now: its own `site` field,
  // its person's for person-scoped entities, "" for shared entities or
  // records the server does not hold yet.
  Result<std::string> current_site(const std::string& entity, const std::string& record) {
    const schema::Entity* e = schema().entity(entity);
    if (e->scope == schema::Scope::shared) return std::string();
    auto r = central_->get(entity, record);
    if (!r) return std::string();
    if (e->scope == schema::Scope::site) return r->fields.value("site", "");
    const std::string person = r->fields.value("person", "");
    if (person.empty()) return std::string();
    auto p = central_->get("person", person);
    return p ? p->fields.value("site", "") : std::string();
  }

  // Where a record whose site is not known yet goes: shared entities to
  // everyone, anything else to the pushing device's site, or, pushed by a
  // central device, to central devices only (never to every site).
  std::string fallback_site(const Device& d, const store::Change& c) const {
    if (schema().entity(c.entity)->scope == schema::Scope::shared) return "";
    return d.central ? kCentralSite : d.site;
  }

  Status check_scope(const Device& d, const store::Change& c, const std::string& site) const {
    if (d.central || site.empty() || site == d.site) return Status::Ok();
    return make_error(Errc::out_of_scope, c.entity + " " + c.record + " belongs to site '" + site +
                                              "', outside this device's site '" + d.site + "'");
  }

  Status check_author(const store::Change& c, const std::string& site) {
    auto u = find_user(c.author);
    if (!u)
      return make_error(Errc::author_not_allowed, "change " + c.op_id(0).str() + ": author '" +
                                                      c.author + "' is not a user of this server");
    if (sees_all_sites(u->role) || site.empty() || u->site == site) return Status::Ok();
    return make_error(Errc::author_not_allowed, "change " + c.op_id(0).str() + ": user '" +
                                                    c.author + "' may not act on site '" + site +
                                                    "'");
  }

  std::mutex mu_;
  std::unique_ptr<store::Replica> central_;
  std::unique_ptr<store::Statement> feed_insert_;
};

Result<std::unique_ptr<ServerStore>> finish(Result<std::unique_ptr<store::Replica>> central) {
  if (!central) return central.error();
  auto s = std::make_unique<SqliteStore>(std::move(central).value());
  if (Status st = s->init_tables(); !st) return st.error();
  return std::unique_ptr<ServerStore>(std::move(s));
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::counsellor:
      return "counsellor";
    case Role::site_manager:
      return "site_manager";
    case Role::central:
      return "central";
    case Role::dpo:
      return "dpo";
    case Role::admin:
      return "admin";
  }
  return "counsellor";
}

std::optional<Role> parse_role(std::string_view name) {
  for (Role r : {Role::counsellor, Role::site_manager, Role::central, Role::dpo, Role::admin})
    if (role_name(r) == name) return r;
  return std::nullopt;
}

Result<std::unique_ptr<ServerStore>> create_sqlite_store(const std::string& path,
                                                         const schema::Schema& schema) {
  return finish(store::Replica::create(path, kCentralSite, "relais-server", schema));
}

Status restore_sqlite_store(const std::string& backup, const std::string& path,
                            const schema::Schema& schema) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(backup, ec))
    return make_error(Errc::store_io, "no backup file at '" + backup + "'");
  {  // check it is a store before replacing anything
    auto check = store::Replica::open(backup, schema);
    if (!check) return make_error(check.error().code, backup + ": " + check.error().message);
  }
  for (const char* suffix : {"-wal", "-shm"}) fs::remove(path + suffix, ec);
  fs::copy_file(backup, path, fs::copy_options::overwrite_existing, ec);
  if (ec)
    return make_error(Errc::store_io, "cannot copy the backup to '" + path + "': " + ec.message());
  auto central = store::Replica::open(path, schema);
  if (!central) return central.error();
  SqliteStore restored(std::move(central).value());
  if (Status s = restored.init_tables(); !s) return s;
  return restored.new_feed_id();
}

Result<std::unique_ptr<ServerStore>> open_sqlite_store(const std::string& path,
                                                       const schema::Schema& schema) {
  return finish(store::Replica::open(path, schema));
}

}  // namespace relais::server
