// Reading a replica: records, conflicts, the op log, the state digest, and
// the changes another replica lacks.
#include <algorithm>
#include <memory>

#include "relais/store/replica.h"
#include "relais/store/sha256.h"
#include "replica_internal.h"

namespace relais::store {
namespace {

using nlohmann::json;

}  // namespace

Result<Record> Replica::get(const std::string& entity_name, const std::string& id) {
  auto entity = schema_.find_entity(entity_name);
  if (!entity) return entity.error();
  auto row = load_row(**entity, id);
  if (!row) return row.error();
  if (!*row) return make_error(Errc::unknown_record, "no " + entity_name + " with id " + id);
  Record r{entity_name, id, (*row)->deleted, json::object()};
  for (std::size_t i = 0; i < (*entity)->fields.size(); ++i)
    if (!(*row)->values[i].is_null()) r.fields[(*entity)->fields[i].name] = (*row)->values[i];
  return r;
}

Result<std::vector<Record>> Replica::list(const std::string& entity_name, std::size_t limit) {
  auto entity = schema_.find_entity(entity_name);
  if (!entity) return entity.error();
  const schema::Entity& e = **entity;
  auto s = statement(entity_sql(e).select_live);
  if (!s) return s.error();
  (*s)->bind(1, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  std::vector<Record> out;
  while ((*s)->step()) {
    Record r{e.name, (*s)->text(0), false, json::object()};
    for (std::size_t i = 0; i < e.fields.size(); ++i) {
      json v = read_value(**s, static_cast<int>(i) + 1, e.fields[i]);
      if (!v.is_null()) r.fields[e.fields[i].name] = std::move(v);
    }
    out.push_back(std::move(r));
  }
  if (!(*s)->status()) return (*s)->status().error();
  return out;
}

Result<std::vector<Conflict>> Replica::conflicts() {
  // Another connection (the background sync of `relais serve`, another
  // process) may have added origins since: origins_ must know them all.
  if (Status st = refresh(); !st) return st.error();
  auto s = statement(
      "SELECT h.record, h.field, h.origin, h.counter, c.first, c.hlc, c.author, "
      "c.entity, c.ops FROM heads h JOIN changes c ON c.origin = h.origin AND "
      "c.first = (SELECT MAX(first) FROM changes WHERE origin = h.origin AND "
      "first <= h.counter) ORDER BY h.record, h.field");
  if (!s) return s.error();
  std::vector<Conflict> all;
  while ((*s)->step()) {
    const std::string record = (*s)->text(0), field = (*s)->text(1);
    if (all.empty() || all.back().record != record || all.back().field != field)
      all.push_back({(*s)->text(7), record, field, {}});
    const auto origin = static_cast<std::size_t>((*s)->int64(2));
    // Another connection may add an origin between refresh() and this read.
    if (origin >= origins_.size())
      if (Status st = load(); !st || origin >= origins_.size())
        return make_error(Errc::store_corrupt, "change of origin #" + std::to_string(origin) +
                                                   " with no such origin in the replica");
    const auto counter = static_cast<std::uint64_t>((*s)->int64(3));
    const auto first = static_cast<std::uint64_t>((*s)->int64(4));
    auto ops = ops_from_storage((*s)->text_view(8));
    all.back().values.push_back({OpId{origins_[origin], counter},
                                 std::move(ops.at(counter - first).value), (*s)->text(6),
                                 static_cast<std::uint64_t>((*s)->int64(5))});
  }
  if (!(*s)->status()) return (*s)->status().error();

  // Winner first; a field whose heads all agree is no conflict.
  std::erase_if(all, [](Conflict& c) {
    std::sort(c.values.begin(), c.values.end(), [](const auto& a, const auto& b) {
      return std::tie(a.hlc, a.op.replica, a.op.counter) >
             std::tie(b.hlc, b.op.replica, b.op.counter);
    });
    return std::all_of(c.values.begin(), c.values.end(),
                       [&](const auto& v) { return v.value == c.values[0].value; });
  });
  return all;
}

Result<Change> Replica::read_change(Statement& s) {
  Change c;
  const auto origin = static_cast<std::size_t>(s.int64(0));
  // Another connection may add an origin between refresh() and this read.
  if (origin >= origins_.size())
    if (Status st = load(); !st || origin >= origins_.size())
      return make_error(Errc::store_corrupt, "change of origin #" + std::to_string(origin) +
                                                 " with no such origin in the replica");
  c.origin = origins_[origin];
  c.first = static_cast<std::uint64_t>(s.int64(1));
  c.hlc = static_cast<std::uint64_t>(s.int64(2));
  c.author = s.text(3);
  c.entity = s.text(4);
  c.record = s.text(5);
  const std::string kind = s.text(6);
  c.kind = kind == "delete"   ? ChangeKind::remove
           : kind == "settle" ? ChangeKind::settle
           : kind == "erased" ? ChangeKind::erased
                              : ChangeKind::edit;
  c.ops = ops_from_storage(s.text_view(7));
  return c;
}

Result<std::vector<Change>> Replica::history(const std::optional<std::string>& record,
                                             std::size_t limit) {
  if (Status st = refresh(); !st) return st.error();  // origins added elsewhere
  const std::string cols =
      "SELECT origin, first, hlc, author, entity, record, kind, ops FROM changes";
  auto s = record ? statement(cols + " WHERE record = ? ORDER BY hlc DESC, origin, first LIMIT ?")
                  : statement(cols + " ORDER BY hlc DESC, origin, first LIMIT ?");
  if (!s) return s.error();
  int i = 1;
  if (record) (*s)->bind(i++, *record);
  (*s)->bind(i, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  std::vector<Change> out;
  while ((*s)->step()) {
    auto c = read_change(**s);
    if (!c) return c.error();
    out.push_back(std::move(c).value());
  }
  if (!(*s)->status()) return (*s)->status().error();
  return out;
}

Result<std::string> Replica::digest() {
  Sha256 sha;
  for (const auto& e : schema_.entities()) {
    auto records = list(e.name, SIZE_MAX);
    if (!records) return records.error();
    for (const auto& r : *records) {
      sha.add(e.name + "\t" + r.id);
      for (const auto& f : e.fields)  // schema order, not JSON key order
        if (auto it = r.fields.find(f.name); it != r.fields.end())
          sha.add("\t" + f.name + "=" + it->dump());
      sha.add("\n");
    }
  }
  auto open = conflicts();
  if (!open) return open.error();
  for (const auto& c : *open) {
    sha.add("conflict\t" + c.record + "\t" + c.field);
    // Fed piece by piece (the same bytes): g++ 12 at -O3 reports a false
    // -Wrestrict on `"\t" + std::string&&` here (GCC bug 105651).
    for (const auto& v : c.values) {
      sha.add("\t");
      sha.add(v.op.str());
      sha.add("=");
      sha.add(v.value.dump());
    }
    sha.add("\n");
  }
  return sha.hex();
}

Result<std::int64_t> Replica::local_changes_after(std::uint64_t counter) {
  if (Status st = refresh(); !st) return st.error();
  const auto origin = origin_ids_.find(info_.replica_id);
  if (origin == origin_ids_.end()) return std::int64_t{0};  // nothing made here yet
  auto s = statement("SELECT COUNT(*) FROM changes WHERE origin = ? AND first > ?");
  if (!s) return s.error();
  (*s)->bind(1, std::int64_t{origin->second}).bind(2, static_cast<std::int64_t>(counter));
  std::int64_t n = 0;
  if ((*s)->step()) n = (*s)->int64(0);
  if (!(*s)->status()) return (*s)->status().error();
  return n;
}

Result<std::map<std::string, std::int64_t>> Replica::counts() {
  std::map<std::string, std::int64_t> out;
  for (const auto& e : schema_.entities()) {
    auto s = statement("SELECT COUNT(*) FROM " + quote_ident(e.name) + " WHERE _deleted = 0");
    if (!s) return s.error();
    if ((*s)->step()) out[e.name] = (*s)->int64(0);
    if (!(*s)->status()) return (*s)->status().error();
  }
  return out;
}

Result<std::vector<Change>> Replica::changes_after(const Knowledge& theirs, std::size_t max_ops) {
  if (Status s = refresh(); !s) return s.error();
  std::vector<std::pair<std::string, std::uint32_t>> by_id(origin_ids_.begin(), origin_ids_.end());
  std::vector<Change> out;
  std::size_t ops = 0;
  for (const auto& [replica, idx] : by_id) {  // origin_ids_ is a map: sorted by replica id
    const auto it = theirs.find(replica);
    const std::uint64_t after = it == theirs.end() ? 0 : it->second;
    if (max_stored_[idx] <= after) continue;
    // From the change holding counter `after + 1`: it may start at or
    // before `after`. Then a range of the primary key, not a scan.
    std::uint64_t from = after + 1;
    {
      auto holding = statement(
          "SELECT first, last FROM changes WHERE origin = ? AND first <= ? "
          "ORDER BY first DESC LIMIT 1");
      if (!holding) return holding.error();
      (*holding)->bind(1, std::int64_t{idx}).bind(2, static_cast<std::int64_t>(after));
      if ((*holding)->step() && static_cast<std::uint64_t>((*holding)->int64(1)) > after)
        from = static_cast<std::uint64_t>((*holding)->int64(0));
      if (!(*holding)->status()) return (*holding)->status().error();
    }
    auto s = statement(
        "SELECT origin, first, hlc, author, entity, record, kind, ops FROM changes "
        "WHERE origin = ? AND first >= ? ORDER BY first");
    if (!s) return s.error();
    (*s)->bind(1, std::int64_t{idx}).bind(2, static_cast<std::int64_t>(from));
    while (ops < max_ops && (*s)->step()) {
      auto c = read_change(**s);
      if (!c) return c.error();
      ops += c->ops.size();
      out.push_back(std::move(c).value());
    }
    if (!(*s)->status()) return (*s)->status().error();
    if (ops >= max_ops) break;
  }
  return out;
}

Result<std::optional<Change>> Replica::change(const std::string& origin, std::uint64_t first) {
  if (Status st = refresh(); !st) return st.error();  // origins added elsewhere
  auto idx = origin_ids_.find(origin);
  if (idx == origin_ids_.end()) return std::optional<Change>();
  auto s = statement(
      "SELECT origin, first, hlc, author, entity, record, kind, ops FROM changes "
      "WHERE origin = ? AND first = ?");
  if (!s) return s.error();
  (*s)->bind(1, std::int64_t{idx->second}).bind(2, static_cast<std::int64_t>(first));
  if (!(*s)->step()) {
    if (!(*s)->status()) return (*s)->status().error();
    return std::optional<Change>();
  }
  auto c = read_change(**s);
  if (!c) return c.error();
  return std::optional<Change>(std::move(c).value());
}

}  // namespace relais::store
