// Merging operations into a replica: field by field, the last writer by
// hybrid logical clock wins, ties broken by origin id then counter. Edits
// that did not see each other leave a conflict until a person settles it.
//
// A field's "heads" are its operations that no other operation of that
// field names in its `prev`. One head: no conflict. Several heads with
// different values: a conflict. The winner is the greatest head. All of this
// is a function of the set of operations held, so replicas that hold the
// same operations show the same values and the same conflicts, whatever the
// order they arrived in.
//
// Fast path: a change whose every op replaces the field's single current
// winner (its prev names it and its clock is later) updates the row in
// place; so does the first change of a record. Anything else recomputes the
// record from all of its logged operations.
#include <algorithm>
#include <set>

#include "relais/store/replica.h"
#include "replica_internal.h"

namespace relais::store {
namespace {

using nlohmann::json;

}  // namespace

const char* column_type(const schema::Field& f) {
  return f.type == schema::FieldType::integer || f.type == schema::FieldType::boolean ? "INTEGER"
                                                                                      : "TEXT";
}

void bind_value(Statement& s, int index, const json& v) {
  if (v.is_null())
    s.bind_null(index);
  else if (v.is_string())
    s.bind(index, v.get_ref<const std::string&>());
  else if (v.is_boolean())
    s.bind(index, std::int64_t{v.get<bool>() ? 1 : 0});
  else if (v.is_number_integer())
    s.bind(index, v.get<std::int64_t>());
  else
    s.bind(index, v.dump());
}

json read_value(const Statement& s, int col, const schema::Field& f) {
  if (s.is_null(col)) return nullptr;
  switch (f.type) {
    case schema::FieldType::integer:
      return s.int64(col);
    case schema::FieldType::boolean:
      return s.int64(col) != 0;
    case schema::FieldType::enum_set:
    case schema::FieldType::reference_set:
      return json::parse(s.text_view(col));
    default:
      return s.text(col);
  }
}

std::string ops_to_storage(const std::vector<FieldOp>& ops) {
  json a = json::array();
  for (const auto& op : ops) {
    json o = {{"f", op.field}, {"v", op.value}};
    if (!op.prev.empty()) {
      json p = json::array();
      for (const auto& id : op.prev) p.push_back(id.str());
      o["p"] = std::move(p);
    }
    a.push_back(std::move(o));
  }
  return a.dump();
}

std::vector<FieldOp> ops_from_storage(std::string_view text) {
  std::vector<FieldOp> ops;
  for (auto& o : json::parse(text)) {
    FieldOp op{o["f"].get<std::string>(), std::move(o["v"]), {}};
    if (o.contains("p"))
      for (const auto& id : o["p"]) op.prev.push_back(*OpId::parse(id.get<std::string>()));
    ops.push_back(std::move(op));
  }
  return ops;
}

bool Replica::clock_less(const FieldClock& a, const FieldClock& b) const {
  if (a.hlc != b.hlc) return a.hlc < b.hlc;
  if (a.origin != b.origin) return origins_[a.origin] < origins_[b.origin];
  return a.counter < b.counter;
}

Result<ApplyStats> Replica::apply(const std::vector<Change>& changes) {
  ApplyStats stats;
  auto tx = Transaction::begin(db_);
  if (!tx) return tx.error();
  auto fail = [&](Error e) -> Result<ApplyStats> {
    tx->reset();  // roll back, then forget what memory learnt in the attempt
    (void)load();
    return e;
  };
  for (const auto& c : changes) {
    auto origin = origin_index(c.origin);
    if (!origin) return fail(origin.error());
    auto applied = apply_one(c, *origin);
    if (!applied) return fail(applied.error());
    ++(*applied ? stats.applied : stats.duplicates);
  }
  if (Status s = save_knowledge(); !s) return fail(s.error());
  if (Status s = (*tx)->commit(); !s) return fail(s.error());
  return stats;
}

// Logs `change` and merges it into its record's row. False if the replica
// already held it.
Result<bool> Replica::apply_one(const Change& c, std::uint32_t origin) {
  if (c.last() <= known_[origin]) return false;
  auto held = statement(
      "SELECT first, last FROM changes WHERE origin = ? AND first <= ? "
      "ORDER BY first DESC LIMIT 1");
  if (!held) return held.error();
  (*held)->bind(1, std::int64_t{origin}).bind(2, static_cast<std::int64_t>(c.last()));
  if ((*held)->step() && static_cast<std::uint64_t>((*held)->int64(1)) >= c.first) {
    if (static_cast<std::uint64_t>((*held)->int64(0)) == c.first &&
        static_cast<std::uint64_t>((*held)->int64(1)) == c.last())
      return false;
    return make_error(Errc::op_id_overlap, "operations " + c.op_id(0).str() +
                                               " overlap others already held with other content");
  }
  if (!(*held)->status()) return (*held)->status().error();

  auto ins = statement(
      "INSERT INTO changes(origin, first, last, hlc, author, entity, record, "
      "kind, ops) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  (*ins)->bind(1, std::int64_t{origin}).bind(2, static_cast<std::int64_t>(c.first));
  (*ins)->bind(3, static_cast<std::int64_t>(c.last())).bind(4, static_cast<std::int64_t>(c.hlc));
  (*ins)->bind(5, c.author).bind(6, c.entity).bind(7, c.record).bind(8, kind_name(c.kind));
  (*ins)->bind(9, ops_to_storage(c.ops));
  if (Status s = (*ins)->run(); !s) return s.error();
  clock_.observe(c.hlc);

  const schema::Entity& entity = *schema_.entity(c.entity);
  auto row = load_row(entity, c.record);
  if (!row) return row.error();
  bool fast = true;
  RowState next;
  if (!*row) {
    next.values.assign(entity.fields.size(), nullptr);
    next.clocks.assign(entity.fields.size(), std::nullopt);
  } else {
    next = std::move(**row);
    auto multi = multi_head_fields(c.record);
    if (!multi) return multi.error();
    for (std::size_t i = 0; i < c.ops.size(); ++i) {
      const FieldOp& op = c.ops[i];
      if (op.field == kDeletedField) continue;
      const auto& clock = next.clocks[field_index(entity, op.field)];
      const FieldClock mine{c.hlc, origin, c.first + i};
      const bool replaces_winner =
          clock ? op.prev.size() == 1 && op.prev[0].replica == origins_[clock->origin] &&
                      op.prev[0].counter == clock->counter && clock_less(*clock, mine)
                : op.prev.empty();
      if (multi->count(op.field) || !replaces_winner) fast = false;
    }
  }
  if (!fast) {
    if (Status s = recompute(entity, c.record); !s) return s.error();
  } else {
    for (std::size_t i = 0; i < c.ops.size(); ++i) {
      const auto& op = c.ops[i];
      if (op.field == kDeletedField) {
        next.deleted = true;
        continue;
      }
      const std::size_t f = field_index(entity, op.field);
      next.values[f] = op.value;
      next.clocks[f] = FieldClock{c.hlc, origin, c.first + i};
    }
    if (Status s = write_row(entity, c.record, next); !s) return s.error();
  }
  if (Status s = advance_knowledge(origin, c); !s) return s.error();
  return true;
}

Result<std::optional<Replica::RowState>> Replica::load_row(const schema::Entity& e,
                                                           const std::string& id) {
  auto s = statement(entity_sql(e).select_row);
  if (!s) return s.error();
  (*s)->bind(1, id);
  if (!(*s)->step()) {
    if (!(*s)->status()) return (*s)->status().error();
    return std::optional<RowState>();
  }
  RowState row;
  const int n = static_cast<int>(e.fields.size());
  for (int i = 0; i < n; ++i)
    row.values.push_back(read_value(**s, i + 1, e.fields[static_cast<std::size_t>(i)]));
  row.deleted = (*s)->int64(n + 1) != 0;
  row.clocks.assign(e.fields.size(), std::nullopt);
  const json clocks = json::parse((*s)->text_view(n + 2));
  for (const auto& [name, c] : clocks.items()) {
    const std::size_t f = field_index(e, name);
    if (f < e.fields.size())
      row.clocks[f] = FieldClock{c[0].get<std::uint64_t>(), c[1].get<std::uint32_t>(),
                                 c[2].get<std::uint64_t>()};
  }
  return std::optional<RowState>(std::move(row));
}

Status Replica::write_row(const schema::Entity& e, const std::string& id, const RowState& row) {
  auto s = statement(entity_sql(e).upsert_row);
  if (!s) return s.error();
  (*s)->bind(1, id);
  json clocks = json::object();
  const int n = static_cast<int>(e.fields.size());
  for (int i = 0; i < n; ++i) {
    const auto f = static_cast<std::size_t>(i);
    bind_value(**s, i + 2, row.values[f]);
    if (const auto& c = row.clocks[f]) clocks[e.fields[f].name] = {c->hlc, c->origin, c->counter};
  }
  (*s)->bind(n + 2, std::int64_t{row.deleted ? 1 : 0}).bind(n + 3, clocks.dump());
  return (*s)->run();
}

Result<std::set<std::string>> Replica::multi_head_fields(const std::string& id) {
  auto s = statement("SELECT DISTINCT field FROM heads WHERE record = ?");
  if (!s) return s.error();
  (*s)->bind(1, id);
  std::set<std::string> fields;
  while ((*s)->step()) fields.insert((*s)->text(0));
  if (!(*s)->status()) return (*s)->status().error();
  return fields;
}

// Rebuilds a record's row and heads from every operation logged for it.
Status Replica::recompute(const schema::Entity& e, const std::string& id) {
  struct Op {
    FieldClock clock;
    const json* value;
    std::string id;
  };
  std::vector<std::vector<FieldOp>> op_lists;  // owns the values Op points to
  std::vector<std::vector<Op>> by_field(e.fields.size());
  std::vector<std::set<std::string>> replaced(e.fields.size());
  RowState row;
  row.values.assign(e.fields.size(), nullptr);
  row.clocks.assign(e.fields.size(), std::nullopt);

  auto s = statement("SELECT origin, first, hlc, ops FROM changes WHERE record = ? AND entity = ?");
  if (!s) return s.error();
  (*s)->bind(1, id).bind(2, e.name);
  while ((*s)->step()) {
    const auto origin = static_cast<std::uint32_t>((*s)->int64(0));
    const auto first = static_cast<std::uint64_t>((*s)->int64(1));
    const auto hlc = static_cast<std::uint64_t>((*s)->int64(2));
    op_lists.push_back(ops_from_storage((*s)->text_view(3)));
    for (std::size_t i = 0; i < op_lists.back().size(); ++i) {
      const FieldOp& op = op_lists.back()[i];
      if (op.field == kDeletedField) {
        row.deleted = true;
        continue;
      }
      const std::size_t f = field_index(e, op.field);
      const FieldClock clock{hlc, origin, first + i};
      by_field[f].push_back({clock, &op.value, OpId{origins_[origin], first + i}.str()});
      for (const auto& p : op.prev) replaced[f].insert(p.str());
    }
  }
  if (!(*s)->status()) return (*s)->status();

  auto clear = statement("DELETE FROM heads WHERE record = ?");
  if (!clear) return clear.error();
  if (Status st = (*clear)->bind(1, id).run(); !st) return st;
  for (std::size_t f = 0; f < e.fields.size(); ++f) {
    std::vector<const Op*> heads;
    for (const auto& op : by_field[f])
      if (!replaced[f].count(op.id)) heads.push_back(&op);
    if (heads.empty()) continue;
    const Op* winner = *std::max_element(heads.begin(), heads.end(), [&](auto* a, auto* b) {
      return clock_less(a->clock, b->clock);
    });
    row.values[f] = *winner->value;
    row.clocks[f] = winner->clock;
    if (heads.size() < 2) continue;
    for (const Op* h : heads) {
      auto ins = statement("INSERT INTO heads(record, field, origin, counter) VALUES(?, ?, ?, ?)");
      if (!ins) return ins.error();
      (*ins)->bind(1, id).bind(2, e.fields[f].name).bind(3, std::int64_t{h->clock.origin});
      if (Status st = (*ins)->bind(4, static_cast<std::int64_t>(h->clock.counter)).run(); !st)
        return st;
    }
  }
  return write_row(e, id, row);
}

}  // namespace relais::store
