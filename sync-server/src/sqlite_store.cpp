// The embedded default ServerStore: one SQLite file holding a central
// replica (every site's merged operations, through the same merge code as
// the sites' replicas) plus the server's own tables, prefixed srv_.
#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>

#include "relais/schema/validate.h"
#include "relais/server/store.h"
#include "relais/store/consent.h"
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
                                     site TEXT NOT NULL,
                                     verifier TEXT NOT NULL DEFAULT '') WITHOUT ROWID;
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
CREATE TABLE IF NOT EXISTS srv_requests(ref TEXT PRIMARY KEY, person TEXT NOT NULL,
                                        kind TEXT NOT NULL, received TEXT NOT NULL,
                                        deadline TEXT NOT NULL, by_user TEXT NOT NULL,
                                        closed TEXT NOT NULL DEFAULT '',
                                        outcome TEXT NOT NULL DEFAULT '') WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS srv_receipts(erasure TEXT NOT NULL, device TEXT NOT NULL,
                                        at TEXT NOT NULL,
                                        PRIMARY KEY(erasure, device)) WITHOUT ROWID;
)sql";

constexpr char kCentralSite[] = "*";
constexpr int kDefaultMaxOfflineDays = 30;

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
    // A store made before passwords were kept: add their column.
    bool has_verifier = false;
    {
      auto cols = db().prepare(
          "SELECT COUNT(*) FROM pragma_table_info('srv_users') WHERE name = 'verifier'");
      if (!cols) return cols.error();
      if (cols->step()) has_verifier = cols->int64(0) > 0;
      if (!cols->status()) return cols->status();
    }  // finished before writing: an open read would pin an old snapshot
    if (!has_verifier)
      if (Status s =
              db().exec("ALTER TABLE srv_users ADD COLUMN verifier TEXT NOT NULL DEFAULT ''");
          !s)
        return s;
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

  Status set_password(const std::string& user, const std::string& verifier) override {
    std::lock_guard lock(mu_);
    if (Status s = run("UPDATE srv_users SET verifier = ? WHERE id = ?", {verifier, user}); !s)
      return s;
    if (db().changes() == 0)
      return make_error(Errc::unknown_user, "no user '" + user + "' (relais-server user add)");
    return Status::Ok();
  }

  Result<std::vector<sync::AccountNotice>> accounts_for(const Device& device) override {
    std::lock_guard lock(mu_);
    auto s = db().prepare(
        device.central ? "SELECT id, role, site, verifier FROM srv_users WHERE verifier != '' AND "
                         "role IN ('central', 'dpo', 'admin') ORDER BY id"
                       : "SELECT id, role, site, verifier FROM srv_users WHERE verifier != '' AND "
                         "site = ? ORDER BY id");
    if (!s) return s.error();
    if (!device.central) s->bind(1, device.site);
    std::vector<sync::AccountNotice> out;
    while (s->step()) out.push_back({s->text(0), s->text(1), s->text(2), s->text(3)});
    if (!s->status()) return s->status().error();
    return out;
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
    // Sites of the records held before this batch, looked up once each.
    std::map<std::string, std::string> held_sites;
    for (const auto& c : changes) {
      auto held = central_->get(c.entity, c.record);
      if (c.kind == store::ChangeKind::erased && held && !central_->erased(c.record))
        return make_error(Errc::erasure_forged, "change " + c.op_id(0).str() +
                                                    " comes without its values, but " + c.entity +
                                                    " " + c.record + " was never erased");
      if (c.kind != store::ChangeKind::erased && schema().entity(c.entity)->append_only && held &&
          !is_held(c))
        return make_error(Errc::append_only, "change " + c.op_id(0).str() + ": " + c.entity + " " +
                                                 c.record + " is written once and never changed");
      if (!held) continue;
      auto it = held_sites.find(c.record);
      if (it == held_sites.end()) {
        auto site = site_of(*held);
        if (!site) return site.error();
        it = held_sites.emplace(c.record, *site).first;
      }
      if (Status s = check_scope(device, c, it->second); !s) return s.error();
    }
    std::map<std::string, Result<User>> authors;  // find_user once per author
    std::size_t applied_ops = 0;
    auto stats = central_->apply(changes, {}, [&](const store::Change& c) -> Status {
      applied_ops += c.ops.size();
      // The site may have changed with this change (a new record, or its
      // site or person set); otherwise it is the one looked up above.
      std::string where;
      auto known = held_sites.find(c.record);
      const bool moves = std::any_of(c.ops.begin(), c.ops.end(), [](const store::FieldOp& op) {
        return op.field == "site" || op.field == "person";
      });
      if (known != held_sites.end() && !known->second.empty() && !moves) {
        where = known->second;
      } else {
        auto site = current_site(c.entity, c.record);
        if (!site) return site.error();
        where = *site;
      }
      if (where.empty()) where = fallback_site(device, c);
      if (Status s = check_scope(device, c, where); !s) return s;
      auto author = authors.find(c.author);
      if (author == authors.end()) author = authors.emplace(c.author, find_user(c.author)).first;
      if (Status s = check_author(c, author->second, where); !s) return s;
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

  int max_offline_days() override {
    std::lock_guard lock(mu_);
    auto s = db().prepare("SELECT value FROM srv_meta WHERE key = 'max_offline_days'");
    if (!s || !s->step()) return kDefaultMaxOfflineDays;
    return std::stoi(s->text(0));
  }

  Status set_max_offline_days(int days) override {
    std::lock_guard lock(mu_);
    if (days < 0) return make_error(Errc::invalid_argument, "max_offline_days must be >= 0");
    return run(
        "INSERT INTO srv_meta(key, value) VALUES('max_offline_days', ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        {std::to_string(days)});
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
    return accesses_of_unlocked(person);
  }

  Result<std::vector<store::AccessEntry>> accesses_by(const std::string& user,
                                                      const std::string& from,
                                                      const std::string& to) override {
    std::lock_guard lock(mu_);
    auto s = db().prepare(
        "SELECT seq, at, user, device, person, action, prev, hash FROM srv_access "
        "WHERE user = ?1 AND (?2 = '' OR at >= ?2) AND (?3 = '' OR at < ?3) "
        "ORDER BY at, replica, seq");
    if (!s) return s.error();
    s->bind(1, user).bind(2, from).bind(3, to);
    return read_access_entries(*s);
  }

  Result<std::vector<ChainReport>> verify_access_chains() override {
    std::lock_guard lock(mu_);
    std::map<std::string, ChainReport> reports;
    {
      auto s = db().prepare("SELECT replica, COUNT(*) FROM srv_access_breaks GROUP BY replica");
      if (!s) return s.error();
      while (s->step()) {
        ChainReport& r = reports[s->text(0)];
        r.replica = s->text(0);
        r.breaks_recorded = static_cast<std::size_t>(s->int64(1));
      }
      if (!s->status()) return s->status().error();
    }
    auto s = db().prepare(
        "SELECT replica, seq, at, user, device, person, action, prev, hash FROM srv_access "
        "ORDER BY replica, seq");
    if (!s) return s.error();
    std::string replica;
    std::vector<store::AccessEntry> chain;
    std::map<std::string, std::string> chain_last_hash;
    auto verify = [&]() {
      if (chain.empty()) return;
      ChainReport& r = reports[replica];
      r.replica = replica;
      r.entries = chain.size();
      r.first = chain.front().seq;
      r.last = chain.back().seq;
      // Entries before the first held were removed by the retention job:
      // the chain is checked from there, on the link that entry names.
      const store::ChainHead head{r.first - 1, chain.front().prev};
      r.problem = store::verify_chain(head, replica, chain);
      chain_last_hash[replica] = chain.back().hash;
      chain.clear();
    };
    while (s->step()) {
      if (s->text(0) != replica) {
        verify();
        replica = s->text(0);
      }
      chain.push_back({static_cast<std::uint64_t>(s->int64(1)), s->text(2), s->text(3), s->text(4),
                       s->text(5), s->text(6), s->text(7), s->text(8)});
    }
    if (!s->status()) return s->status().error();
    verify();
    // The newest entries must still be there: the head is how far each chain
    // reached. Only the oldest go, with the retention job.
    auto heads = db().prepare("SELECT replica, seq, hash FROM srv_access_heads");
    if (!heads) return heads.error();
    while (heads->step()) {
      const auto seq = static_cast<std::uint64_t>(heads->int64(1));
      ChainReport& r = reports[heads->text(0)];
      r.replica = heads->text(0);
      if (r.problem || seq == 0) continue;
      using Kind = store::ChainBreak::Kind;
      if (r.entries == 0)
        r.problem = store::ChainBreak{
            Kind::gap, seq,
            "no entry held, though the chain reached entry " + std::to_string(seq) +
                " (removed, or every one older than the retention period)"};
      else if (r.last < seq)
        r.problem = store::ChainBreak{Kind::gap, r.last + 1,
                                      "entries " + std::to_string(r.last + 1) + " to " +
                                          std::to_string(seq) + " are missing"};
      else if (r.last == seq && chain_last_hash[r.replica] != heads->text(2))
        r.problem = store::ChainBreak{
            Kind::edited, seq,
            "entry " + std::to_string(seq) + " is not the one the chain's head names"};
    }
    if (!heads->status()) return heads->status().error();
    std::vector<ChainReport> out;
    for (auto& [id, report] : reports) out.push_back(std::move(report));
    return out;
  }

  Result<std::vector<ConsentGap>> consent_gaps(const std::string& purpose) override {
    std::lock_guard lock(mu_);
    if (auto p = store::consent_purpose(schema(), purpose); !p) return p.error();
    auto persons = central_->list("person", SIZE_MAX);
    if (!persons) return persons.error();
    std::vector<ConsentGap> out;
    for (const auto& person : *persons) {
      auto states = store::consent_status(*central_, person.id);
      if (!states) return states.error();
      for (const auto& st : *states) {
        if (st.purpose != purpose || st.allows_processing()) continue;
        out.push_back({person.id, person.fields.value("site", std::string()),
                       !st.latest        ? "none"
                       : st.incomplete() ? "incomplete"
                                         : "withdrawn",
                       st.latest ? st.latest->captured_at : ""});
      }
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.site < b.site; });
    return out;
  }

  Status add_request(const RightsRequest& r) override {
    std::lock_guard lock(mu_);
    if (Status s = check_dpo(r.by, "record a request"); !s) return s;
    if (r.ref.empty()) return make_error(Errc::invalid_argument, "a request needs a reference");
    if (!schema::is_uuid(r.person))
      return make_error(Errc::invalid_argument, "'" + r.person + "' is not a record id");
    bool known_kind = false;
    for (auto k : kRequestKinds) known_kind = known_kind || k == r.kind;
    if (!known_kind)
      return make_error(Errc::invalid_argument,
                        "unknown kind of request '" + r.kind +
                            "' (access, portability, rectification, erasure, restriction, "
                            "objection)");
    const auto deadline = request_deadline(r.received);
    if (!deadline)
      return make_error(Errc::invalid_argument,
                        "the date received must be YYYY-MM-DD, not '" + r.received + "'");
    if (find_request(r.ref))
      return make_error(Errc::invalid_argument, "a request " + r.ref + " already exists");
    auto s = db().prepare(
        "INSERT INTO srv_requests(ref, person, kind, received, deadline, by_user) "
        "VALUES(?, ?, ?, ?, ?, ?)");
    if (!s) return s.error();
    s->bind(1, r.ref).bind(2, r.person).bind(3, r.kind).bind(4, r.received).bind(5, *deadline);
    return s->bind(6, r.by).run();
  }

  Result<std::vector<RightsRequest>> requests() override {
    std::lock_guard lock(mu_);
    auto s = db().prepare(
        "SELECT ref, person, kind, received, deadline, by_user, closed, outcome "
        "FROM srv_requests ORDER BY deadline, ref");
    if (!s) return s.error();
    std::vector<RightsRequest> out;
    while (s->step()) out.push_back(read_request(*s));
    if (!s->status()) return s->status().error();
    return out;
  }

  Status close_request(const std::string& ref, const std::string& outcome) override {
    std::lock_guard lock(mu_);
    return close_request_unlocked(ref, outcome);
  }

  Result<json> export_person(const std::string& person, const std::string& ref,
                             const std::string& by) override {
    std::lock_guard lock(mu_);
    if (Status s = check_dpo(by, "export a person's data"); !s) return s.error();
    auto request = find_request(ref);
    if (!request)
      return make_error(Errc::unknown_record, "no request " + ref +
                                                  " (record it first: relais-server rgpd request "
                                                  "add)");
    if (request->kind != "access" && request->kind != "portability")
      return make_error(Errc::invalid_argument, "request " + ref + " is a request of " +
                                                    request->kind + ", not access or portability");
    if (request->person != person)
      return make_error(Errc::invalid_argument,
                        "request " + ref + " is about person " + request->person);
    auto tx = Transaction::begin(db());
    if (!tx) return tx.error();
    json doc = {{"format", "relais-person-export"},
                {"version", 1},
                {"person", person},
                {"generated_at", utc_iso(std::time(nullptr))},
                {"request",
                 {{"ref", request->ref},
                  {"kind", request->kind},
                  {"received", request->received},
                  {"deadline", request->deadline}}},
                {"records", json::array()},
                {"history", json::array()},
                {"consent", json::array()},
                {"access_log", json::array()}};
    if (central_->erased(person)) doc["erased"] = true;
    auto about = central_->records_about(person);
    if (!about) return about.error();
    for (const auto& [entity, id] : *about) {
      if (auto rec = central_->get(entity, id))
        doc["records"].push_back(
            {{"entity", entity}, {"id", id}, {"deleted", rec->deleted}, {"fields", rec->fields}});
      auto changes = central_->history(id, SIZE_MAX);
      if (!changes) return changes.error();
      for (auto it = changes->rbegin(); it != changes->rend(); ++it) {  // oldest first
        json values = json::object();
        for (const auto& op : it->ops) values[op.field] = op.value;
        doc["history"].push_back({{"entity", it->entity},
                                  {"record", it->record},
                                  {"at", store::HybridClock::to_display(it->hlc)},
                                  {"author", it->author},
                                  {"kind", store::kind_name(it->kind)},
                                  {"values", std::move(values)}});
      }
    }
    if (auto consents = store::consent_history(*central_, person)) {
      for (const auto& c : *consents)
        doc["consent"].push_back({{"id", c.id},
                                  {"purpose", c.purpose},
                                  {"status", c.status},
                                  {"captured_at", c.captured_at},
                                  {"method", c.method},
                                  {"collected_by", c.collected_by},
                                  {"notice_version", c.notice_version.value_or(0)},
                                  {"notice_language", c.notice_language},
                                  {"notice_hash", c.notice_hash},
                                  {"incomplete", c.incomplete}});
    }
    // This export is itself a read of the person's data: logged first, so
    // that it appears in what it hands over.
    if (Status s = log_server_read(by, person, "rgpd_export"); !s) return s.error();
    auto reads = accesses_of_unlocked(person);
    if (!reads) return reads.error();
    for (const auto& e : *reads)
      doc["access_log"].push_back({{"at", e.at},
                                   {"user", e.user},
                                   {"action", e.action},
                                   {"device", e.device},
                                   {"seq", e.seq}});
    if (Status s = close_request_unlocked(ref, "data exported"); !s) return s.error();
    if (Status s = (*tx)->commit(); !s) return s.error();
    return doc;
  }

  // The rows of `s`, which selects seq, at, user, device, person, action,
  // prev, hash from srv_access.
  static Result<std::vector<store::AccessEntry>> read_access_entries(store::Statement& s) {
    std::vector<store::AccessEntry> out;
    while (s.step())
      out.push_back({static_cast<std::uint64_t>(s.int64(0)), s.text(1), s.text(2), s.text(3),
                     s.text(4), s.text(5), s.text(6), s.text(7)});
    if (!s.status()) return s.status().error();
    return out;
  }

  Result<std::vector<store::AccessEntry>> accesses_of_unlocked(const std::string& person) {
    auto s = db().prepare(
        "SELECT seq, at, user, device, person, action, prev, hash FROM srv_access "
        "WHERE person = ? ORDER BY at, replica, seq");
    if (!s) return s.error();
    s->bind(1, person);
    return read_access_entries(*s);
  }

  Result<Erasure> erase_person(const std::string& person, const std::string& request,
                               const std::string& by) override {
    std::lock_guard lock(mu_);
    if (Status s = check_dpo(by, "erase a person"); !s) return s.error();
    return erase_unlocked(person, request, by);
  }

  Result<RetentionReport> retention(const std::string& by, bool apply, std::time_t now,
                                    int access_days) override {
    std::lock_guard lock(mu_);
    if (Status s = check_dpo(by, "run the retention job"); !s) return s.error();
    RetentionReport report;
    const schema::RetentionRule* rule = nullptr;
    for (const auto& r : schema().retention_rules())
      if (r.id == schema().entity("person")->retention) rule = &r;
    if (!rule || !rule->period_months)
      return make_error(Errc::invalid_argument, "the person entity has no retention period");
    report.rule = rule->id;
    report.person_cutoff = months_before(now, *rule->period_months);
    report.access_cutoff = utc_iso(now - std::time_t{access_days} * 86400);
    auto persons = central_->list("person", SIZE_MAX);
    if (!persons) return persons.error();
    for (const auto& p : *persons) {
      auto last = last_contact(p.id);
      if (!last) return last.error();
      if (*last < report.person_cutoff) report.persons.push_back({p.id, *last});
    }
    {
      auto n = db().prepare("SELECT COUNT(*) FROM srv_access WHERE at < ?");
      if (!n) return n.error();
      n->bind(1, report.access_cutoff);
      if (n->step()) report.access_entries = static_cast<std::size_t>(n->int64(0));
    }
    if (!apply) return report;
    const std::string request = "retention-" + utc_iso(now).substr(0, 10);
    for (const auto& c : report.persons) {
      auto e = erase_unlocked(c.person, request, by);
      if (!e) return e.error();
    }
    // The heads stay: chains received later still verify from where they
    // stood.
    auto del = db().prepare("DELETE FROM srv_access WHERE at < ?");
    if (!del) return del.error();
    if (Status s = del->bind(1, report.access_cutoff).run(); !s) return s.error();
    return report;
  }

  Result<Erasure> erase_unlocked(const std::string& person, const std::string& request,
                                 const std::string& by) {
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
    if (auto r = find_request(request); r && r->closed.empty())
      if (Status st = close_request_unlocked(request, "erased"); !st) return st.error();
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
    // VACUUM INTO takes an empty file: made first, readable by its owner only.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      return make_error(Errc::store_io, "cannot create the backup '" + path + "': " +
                                            std::strerror(errno) + " (it must not exist yet)");
    ::close(fd);
    auto s = db().prepare("VACUUM INTO ?");
    Status done = s ? s->bind(1, path).run() : Status(s.error());
    if (!done) std::remove(path.c_str());
    return done;
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

  // The day a young person was last in contact with the foundation: the
  // latest date of an interaction or of a referral's stages about them, or
  // the day their record was made if there is none. Edits of the record do
  // not count: correcting a typo is not a contact.
  Result<std::string> last_contact(const std::string& person) {
    auto history = central_->history(person, SIZE_MAX);
    if (!history) return history.error();
    std::string last = history->empty()
                           ? std::string()
                           : utc_iso(static_cast<std::time_t>(
                                         store::HybridClock::wall_ms(history->back().hlc) / 1000))
                                 .substr(0, 10);
    auto about = central_->records_about(person);
    if (!about) return about.error();
    for (const auto& [entity, id] : *about) {
      const schema::Entity* e = schema().entity(entity);
      if (!e || e->scope != schema::Scope::person || e->name == "consent") continue;
      auto rec = central_->get(entity, id);
      if (!rec || rec->deleted) continue;
      for (const auto& f : e->fields)
        if (f.type == schema::FieldType::date)
          if (auto v = rec->fields.find(f.name); v != rec->fields.end() && v->is_string())
            last = std::max(last, v->get<std::string>());
    }
    return last;
  }

  static std::string months_before(std::time_t now, int months) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    const int total = tm.tm_year * 12 + tm.tm_mon - months;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", total / 12 + 1900, total % 12 + 1,
                  std::min(tm.tm_mday, 28));
    return buf;
  }

  Status check_dpo(const std::string& by, const std::string& what) {
    auto user = find_user(by);
    if (!user) return user.error();
    if (user->role != Role::dpo)
      return make_error(Errc::role_required, "user '" + by + "' is " +
                                                 std::string(role_name(user->role)) +
                                                 "; only a DPO may " + what);
    return Status::Ok();
  }

  static RightsRequest read_request(const store::Statement& s) {
    return {s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), s.text(7)};
  }

  std::optional<RightsRequest> find_request(const std::string& ref) {
    auto s = db().prepare(
        "SELECT ref, person, kind, received, deadline, by_user, closed, outcome "
        "FROM srv_requests WHERE ref = ?");
    if (!s) return std::nullopt;
    s->bind(1, ref);
    if (!s->step()) return std::nullopt;
    return read_request(*s);
  }

  Status close_request_unlocked(const std::string& ref, const std::string& outcome) {
    auto s = db().prepare(
        "UPDATE srv_requests SET closed = ?, outcome = ? WHERE ref = ? AND closed = ''");
    if (!s) return s.error();
    if (Status st = s->bind(1, utc_iso(std::time(nullptr))).bind(2, outcome).bind(3, ref).run();
        !st)
      return st;
    if (db().changes() == 0) return make_error(Errc::unknown_record, "no open request " + ref);
    return Status::Ok();
  }

  // Appends a read made on the server to the server's own chain in
  // srv_access, under the server's id as replica and device.
  Status log_server_read(const std::string& user, const std::string& person,
                         const std::string& action) {
    store::ChainHead head;
    auto h = db().prepare("SELECT seq, hash FROM srv_access_heads WHERE replica = ?");
    if (!h) return h.error();
    h->bind(1, server_id());
    if (h->step()) head = {static_cast<std::uint64_t>(h->int64(0)), h->text(1)};
    store::AccessEntry e{head.seq + 1, utc_iso(std::time(nullptr)),
                         user,         server_id(),
                         person,       action,
                         head.hash,    ""};
    e.hash = store::entry_hash(e);
    auto ins = db().prepare(
        "INSERT INTO srv_access(replica, seq, at, user, device, person, action, prev, hash) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!ins) return ins.error();
    ins->bind(1, server_id()).bind(2, static_cast<std::int64_t>(e.seq)).bind(3, e.at);
    ins->bind(4, e.user).bind(5, e.device).bind(6, e.person).bind(7, e.action);
    if (Status s = ins->bind(8, e.prev).bind(9, e.hash).run(); !s) return s;
    auto put = db().prepare(
        "INSERT INTO srv_access_heads(replica, seq, hash) VALUES(?, ?, ?) "
        "ON CONFLICT(replica) DO UPDATE SET seq = excluded.seq, hash = excluded.hash");
    if (!put) return put.error();
    put->bind(1, server_id()).bind(2, static_cast<std::int64_t>(e.seq));
    return put->bind(3, e.hash).run();
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
    if (schema().entity(entity)->scope == schema::Scope::shared) return std::string();
    auto r = central_->get(entity, record);
    if (!r) return std::string();
    return site_of(*r);
  }

  // The site of a record the server holds (see current_site).
  Result<std::string> site_of(const store::Record& r) {
    const schema::Entity* e = schema().entity(r.entity);
    if (e->scope == schema::Scope::shared) return std::string();
    if (e->scope == schema::Scope::site) return r.fields.value("site", "");
    const std::string person = r.fields.value("person", "");
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

  Status check_author(const store::Change& c, const Result<User>& u, const std::string& site) {
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

std::optional<std::string> request_deadline(const std::string& received) {
  schema::Field field;
  field.name = "received";
  field.type = schema::FieldType::date;
  auto date = schema::normalize_value(schema::Entity{}, field, received);
  if (!date) return std::nullopt;
  const std::string& d = date->get_ref<const std::string&>();
  int y = std::stoi(d.substr(0, 4)), m = std::stoi(d.substr(5, 2));
  const int day = std::stoi(d.substr(8, 2));
  if (++m > 12) {
    m = 1;
    ++y;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  const int last = m == 2 && leap ? 29 : kDays[m - 1];
  char buf[40];  // room for any int, as the compiler checks
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, std::min(day, last));
  return std::string(buf);
}

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
