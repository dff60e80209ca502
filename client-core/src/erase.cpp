// Erasure on a replica: the person's records go, and so do the values of
// every logged change about them. What stays is inert: the changes' ids,
// clocks, authors and field names (so that what the replica knows of each
// origin stays contiguous and sync neither stalls nor asks for them again),
// and the record ids in `erased`, so that a change arriving later for one of
// these records is purged on arrival instead of bringing the data back.
#include "relais/schema/validate.h"
#include "relais/store/replica.h"
#include "replica_internal.h"

namespace relais::store {
Change purged_copy(const Change& change) {
  Change out = change;
  out.kind = ChangeKind::erased;
  for (auto& op : out.ops) op.value = nullptr;
  return out;
}

const std::string* Replica::erasure_of(const Change& c) const {
  if (erased_.empty()) return nullptr;  // the usual case: no lookup at all
  if (auto it = erased_.find(c.record); it != erased_.end()) return &it->second;
  if (c.kind == ChangeKind::erased) return nullptr;
  const schema::Entity* e = schema_.entity(c.entity);
  if (!e) return nullptr;
  auto erased_id = [&](const nlohmann::json& v) -> const std::string* {
    if (!v.is_string()) return nullptr;
    auto it = erased_.find(v.get_ref<const std::string&>());
    return it == erased_.end() ? nullptr : &it->second;
  };
  for (const auto& op : c.ops) {
    const schema::Field* f = e->field(op.field);
    if (!f) continue;
    if (f->type == schema::FieldType::reference) {
      if (const std::string* id = erased_id(op.value)) return id;
    } else if (f->type == schema::FieldType::reference_set && op.value.is_array()) {
      for (const auto& v : op.value)
        if (const std::string* id = erased_id(v)) return id;
    }
  }
  return nullptr;
}

Status Replica::erase_records(const std::string& erasure_id,
                              const std::vector<std::pair<std::string, std::string>>& records) {
  for (const auto& [entity, id] : records) {
    if (const schema::Entity* e = schema_.entity(entity)) {
      auto del = statement("DELETE FROM " + quote_ident(e->name) + " WHERE id = ?");
      if (!del) return del.error();
      if (Status s = (*del)->bind(1, id).run(); !s) return s;
    }
    auto heads = statement("DELETE FROM heads WHERE record = ?");
    if (!heads) return heads.error();
    if (Status s = (*heads)->bind(1, id).run(); !s) return s;

    // Read all first: the updates below must not run under an open SELECT
    // on the same rows.
    struct Logged {
      std::int64_t origin, first;
      std::string ops;
    };
    std::vector<Logged> logged;
    {
      auto sel =
          statement("SELECT origin, first, ops FROM changes WHERE record = ? AND kind != 'erased'");
      if (!sel) return sel.error();
      (*sel)->bind(1, id);
      while ((*sel)->step())
        logged.push_back({(*sel)->int64(0), (*sel)->int64(1), (*sel)->text(2)});
      if (!(*sel)->status()) return (*sel)->status();
    }
    for (const auto& l : logged) {
      auto ops = ops_from_storage(l.ops);
      for (auto& op : ops) op.value = nullptr;
      auto upd =
          statement("UPDATE changes SET kind = 'erased', ops = ? WHERE origin = ? AND first = ?");
      if (!upd) return upd.error();
      if (Status s = (*upd)->bind(1, ops_to_storage(ops)).bind(2, l.origin).bind(3, l.first).run();
          !s)
        return s;
    }
    auto mark = statement("INSERT OR IGNORE INTO erased(record, erasure) VALUES(?, ?)");
    if (!mark) return mark.error();
    if (Status s = (*mark)->bind(1, id).bind(2, erasure_id).run(); !s) return s;
    erased_.emplace(id, erasure_id);
  }
  return Status::Ok();
}

Result<ErasureOutcome> Replica::erase_person(const std::string& erasure_id,
                                             const std::string& person) {
  if (erasure_id.empty()) return make_error(Errc::invalid_argument, "an erasure needs an id");
  if (!schema::is_uuid(person))
    return make_error(Errc::invalid_argument, "'" + person + "' is not a record id");
  auto tx = Transaction::begin(db_);
  if (!tx) return tx.error();
  auto fail = [&](Error e) -> Result<ErasureOutcome> {
    tx->reset();
    (void)load();  // erased_ may hold records of the rolled-back attempt
    return e;
  };
  if (Status s = refresh(); !s) return fail(s.error());

  ErasureOutcome out;
  {
    auto seen = statement("SELECT 1 FROM erasures WHERE id = ?");
    if (!seen) return fail(seen.error());
    (*seen)->bind(1, erasure_id);
    if ((*seen)->step()) {
      out.already_applied = true;
      return out;  // the transaction, which wrote nothing, rolls back
    }
    if (!(*seen)->status()) return fail((*seen)->status().error());
  }

  auto about = records_about(person);
  if (!about) return fail(about.error());
  const auto& records = *about;
  {
    auto n = statement("SELECT COUNT(*) FROM changes WHERE record = ? AND kind != 'erased'");
    if (!n) return fail(n.error());
    for (const auto& r : records) {
      (*n)->reset();
      (*n)->bind(1, r.second);
      if ((*n)->step()) out.changes_purged += static_cast<std::size_t>((*n)->int64(0));
    }
  }
  if (Status s = erase_records(erasure_id, records); !s) return fail(s.error());
  auto ins = statement("INSERT INTO erasures(id, person, applied) VALUES(?, ?, ?)");
  if (!ins) return fail(ins.error());
  if (Status s = (*ins)->bind(1, erasure_id).bind(2, person).bind(3, utc_now_iso()).run(); !s)
    return fail(s.error());
  if (Status s = (*tx)->commit(); !s) return fail(s.error());
  for (const auto& r : records) out.records.push_back(r.second);
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> Replica::records_about(
    const std::string& person) {
  // A change's values are the only place a reference to the person can be.
  std::vector<std::pair<std::string, std::string>> records{{"person", person}};
  auto s = statement(
      "SELECT DISTINCT entity, record FROM changes WHERE record != ?1 AND "
      "kind != 'erased' AND instr(ops, ?1) > 0 ORDER BY entity, record");
  if (!s) return s.error();
  (*s)->bind(1, person);
  while ((*s)->step()) records.emplace_back((*s)->text(0), (*s)->text(1));
  if (!(*s)->status()) return (*s)->status().error();
  return records;
}

bool Replica::erased(const std::string& record) {
  (void)refresh();
  return erased_.count(record) > 0;
}

Result<std::vector<std::string>> Replica::applied_erasures() {
  auto s = statement("SELECT id FROM erasures ORDER BY applied, id");
  if (!s) return s.error();
  std::vector<std::string> out;
  while ((*s)->step()) out.push_back((*s)->text(0));
  if (!(*s)->status()) return (*s)->status().error();
  return out;
}

Status Replica::compact() {
  // VACUUM refuses to run while a statement of this connection is active.
  for (auto& [sql, stmt] : statements_) stmt->reset();
  // FTS5 keeps a deleted record's words in its segments until they merge.
  if (Status s = optimize_search_indexes(); !s) return s;
  if (Status s = db_.exec("VACUUM"); !s) return s;
  auto s = db_.prepare("PRAGMA wal_checkpoint(TRUNCATE)");
  if (!s) return s.error();
  if (!s->step()) return s->status();
  if (s->int64(0) != 0)
    return make_error(Errc::store_busy,
                      "the clean-up could not empty the WAL file: another process is reading "
                      "this file; it completes at the next clean-up");
  return Status::Ok();
}

}  // namespace relais::store
