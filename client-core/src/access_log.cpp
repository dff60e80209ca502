#include "relais/store/access_log.h"

#include <algorithm>
#include <cstdint>
#include <set>

#include "relais/store/hlc.h"
#include "relais/store/sha256.h"

namespace relais::store {
namespace {

constexpr std::string_view kTables = R"sql(
CREATE TABLE IF NOT EXISTS access_log(seq INTEGER PRIMARY KEY, at TEXT NOT NULL,
                                      user TEXT NOT NULL, device TEXT NOT NULL,
                                      person TEXT NOT NULL, action TEXT NOT NULL,
                                      prev TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS access_head(id INTEGER PRIMARY KEY CHECK (id = 1),
                                       seq INTEGER NOT NULL, hash TEXT NOT NULL);
)sql";

Result<ChainHead> read_head(Database& db) {
  auto s = db.prepare("SELECT seq, hash FROM access_head WHERE id = 1");
  if (!s) return s.error();
  ChainHead head;
  if (s->step()) head = {static_cast<std::uint64_t>(s->int64(0)), s->text(1)};
  if (!s->status()) return s->status().error();
  return head;
}

}  // namespace

const std::string kGenesisHash(64, '0');

std::string entry_hash(const AccessEntry& e) {
  Sha256 sha;
  for (const std::string& part :
       {std::to_string(e.seq), e.at, e.user, e.device, e.person, e.action, e.prev}) {
    sha.add(part);
    sha.add("\n");
  }
  return sha.hex();
}

std::string_view break_name(ChainBreak::Kind kind) {
  switch (kind) {
    case ChainBreak::Kind::gap:
      return "gap";
    case ChainBreak::Kind::reorder:
      return "reorder";
    case ChainBreak::Kind::edited:
      return "edited";
    case ChainBreak::Kind::foreign:
      return "foreign";
  }
  return "edited";
}

std::optional<ChainBreak> verify_chain(const ChainHead& head, const std::string& device,
                                       const std::vector<AccessEntry>& entries) {
  using Kind = ChainBreak::Kind;
  std::uint64_t expected = head.seq + 1;
  std::string prev = head.hash;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const AccessEntry& e = entries[i];
    const std::string at = "entry " + std::to_string(e.seq);
    if (e.device != device)
      return ChainBreak{Kind::foreign, e.seq, at + " names device " + e.device + ", not " + device};
    if (e.seq != expected) {
      bool later = false;  // the expected entry comes further on: a swap
      for (std::size_t k = i + 1; k < entries.size() && !later; ++k)
        later = entries[k].seq == expected;
      if (e.seq < expected || later)
        return ChainBreak{Kind::reorder, e.seq,
                          at + " comes where entry " + std::to_string(expected) + " belongs"};
      return ChainBreak{Kind::gap, expected,
                        "entries " + std::to_string(expected) + " to " + std::to_string(e.seq - 1) +
                            " are missing"};
    }
    if (e.hash != entry_hash(e))
      return ChainBreak{Kind::edited, e.seq, at + " does not match its hash: it was changed"};
    if (e.prev != prev)
      return ChainBreak{Kind::edited, e.seq > 1 ? e.seq - 1 : e.seq,
                        at + " does not follow the hash of the entry before it: that entry was "
                             "changed or replaced"};
    prev = e.hash;
    ++expected;
  }
  return std::nullopt;
}

std::vector<std::string> persons_shown(const schema::Schema& schema,
                                       const std::vector<Record>& records) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& r : records) {
    const schema::Entity* e = schema.entity(r.entity);
    if (!e) continue;
    bool personal = false;
    for (const auto& f : e->fields)
      personal = personal || (f.personal && r.fields.contains(f.name));
    if (!personal) continue;
    const std::string who = r.entity == "person" ? r.id : r.fields.value("person", "");
    if (!who.empty() && seen.insert(who).second) out.push_back(who);
  }
  return out;
}

Result<AccessLog> AccessLog::open(Replica& replica) {
  if (Status s = replica.database().exec(kTables); !s) return s.error();
  return AccessLog(replica);
}

Status AccessLog::record(const std::vector<std::string>& persons, std::string_view action) {
  if (persons.empty()) return Status::Ok();
  Database& db = replica_->database();
  auto tx = Transaction::begin(db);
  if (!tx) return tx.error();
  auto head = read_head(db);
  if (!head) return head.error();
  auto ins = db.prepare(
      "INSERT INTO access_log(seq, at, user, device, person, action, prev, hash) "
      "VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  const std::string now = utc_now_iso();
  for (const auto& person : persons) {
    AccessEntry e{head->seq + 1,
                  now,
                  replica_->info().user,
                  replica_->info().replica_id,
                  person,
                  std::string(action),
                  head->hash,
                  ""};
    e.hash = entry_hash(e);
    ins->reset();
    ins->bind(1, static_cast<std::int64_t>(e.seq)).bind(2, e.at).bind(3, e.user).bind(4, e.device);
    ins->bind(5, e.person).bind(6, e.action).bind(7, e.prev).bind(8, e.hash);
    if (Status s = ins->run(); !s) return s;
    *head = {e.seq, e.hash};
  }
  auto put = db.prepare(
      "INSERT INTO access_head(id, seq, hash) VALUES(1, ?, ?) "
      "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash");
  if (!put) return put.error();
  if (Status s = put->bind(1, static_cast<std::int64_t>(head->seq)).bind(2, head->hash).run(); !s)
    return s;
  return (*tx)->commit();
}

Result<std::vector<AccessEntry>> AccessLog::entries_after(std::uint64_t after, std::size_t limit) {
  auto s = replica_->database().prepare(
      "SELECT seq, at, user, device, person, action, prev, hash FROM access_log "
      "WHERE seq > ? ORDER BY seq LIMIT ?");
  if (!s) return s.error();
  s->bind(1, static_cast<std::int64_t>(after));
  s->bind(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  std::vector<AccessEntry> out;
  while (s->step())
    out.push_back({static_cast<std::uint64_t>(s->int64(0)), s->text(1), s->text(2), s->text(3),
                   s->text(4), s->text(5), s->text(6), s->text(7)});
  if (!s->status()) return s->status().error();
  return out;
}

Result<ChainHead> AccessLog::head() {
  return read_head(replica_->database());
}

Status AccessLog::forget_through(std::uint64_t seq) {
  auto s = replica_->database().prepare("DELETE FROM access_log WHERE seq <= ?");
  if (!s) return s.error();
  return s->bind(1, static_cast<std::int64_t>(seq)).run();
}

}  // namespace relais::store
