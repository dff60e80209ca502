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
#include <string_view>

#include "relais/store/replica.h"
#include "replica_internal.h"

namespace relais::store {
namespace {

using nlohmann::json;

// True if dump() writes `s` between quotes unchanged: well-formed UTF-8
// without control characters, quotes or backslashes. dump() escapes those
// and throws on malformed UTF-8, so such strings are left to dump().
bool verbatim_in_json(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  // A continuation byte within [lo, hi] at q (Unicode 15, table 3-7).
  auto cont = [end](const unsigned char* q, int lo = 0x80, int hi = 0xBF) {
    return q < end && *q >= lo && *q <= hi;
  };
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      if (c < 0x20 || c == '"' || c == '\\') return false;
      p += 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (!cont(p + 1)) return false;
      p += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(p + 1, c == 0xE0 ? 0xA0 : 0x80, c == 0xED ? 0x9F : 0xBF) || !cont(p + 2))
        return false;
      p += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(p + 1, c == 0xF0 ? 0x90 : 0x80, c == 0xF4 ? 0x8F : 0xBF) || !cont(p + 2) ||
          !cont(p + 3))
        return false;
      p += 4;
    } else {
      return false;
    }
  }
  return true;
}

// Appends `s` as dump() writes a JSON string.
void append_json_string(std::string& out, const std::string& s) {
  if (!verbatim_in_json(s)) {
    out += json(s).dump();
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

// Appends `v` as v.dump() writes it.
void append_json(std::string& out, const json& v) {
  if (v.is_string() && verbatim_in_json(v.get_ref<const std::string&>())) {
    out += '"';
    out += v.get_ref<const std::string&>();
    out += '"';
  } else {
    out += v.dump();
  }
}

// Appends `n` in decimal, as dump() writes an unsigned number.
void append_number(std::string& out, std::uint64_t n) {
  char buf[20];
  char* p = buf + sizeof buf;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(p, static_cast<std::size_t>(buf + sizeof buf - p));
}

// One entry of a row's _clocks text.
struct StoredClock {
  std::string_view field;
  std::uint64_t hlc = 0, origin = 0, counter = 0;
};

// Reads _clocks text in exactly the form write_row writes it,
// {"name":[hlc,origin,counter],...} with no spaces and no escapes in names.
// False for anything else, which the caller leaves to json::parse. A local
// edit reads its record's row three times, and parsing this text with
// nlohmann was a third of the edit's CPU time.
bool parse_clocks(std::string_view text, std::vector<StoredClock>& out) {
  std::size_t i = 0;
  auto eat = [&](char c) {
    if (i >= text.size() || text[i] != c) return false;
    ++i;
    return true;
  };
  auto number = [&](std::uint64_t& v) {
    const std::size_t start = i;
    v = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      const auto d = static_cast<std::uint64_t>(text[i] - '0');
      if (v > (UINT64_MAX - d) / 10) return false;  // would overflow
      v = v * 10 + d;
    }
    // JSON has no leading zeros: "0" alone, or a first digit 1-9.
    return i > start && (text[start] != '0' || i == start + 1);
  };
  if (!eat('{')) return false;
  if (eat('}')) return i == text.size();
  do {
    StoredClock c;
    if (!eat('"')) return false;
    const std::size_t end = text.find_first_of("\"\\", i);
    if (end == std::string_view::npos || text[end] != '"') return false;
    c.field = text.substr(i, end - i);
    if (!verbatim_in_json(c.field)) return false;
    i = end + 1;
    if (!eat(':') || !eat('[') || !number(c.hlc) || !eat(',') || !number(c.origin) || !eat(',') ||
        !number(c.counter) || !eat(']'))
      return false;
    out.push_back(c);
  } while (eat(','));
  return eat('}') && i == text.size();
}

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

// Writes the same text as dumping [{"f": field, "p": [op ids], "v": value}]
// (an nlohmann object dumps its keys sorted: f, p, v; "p" only if non-empty)
// without building that tree: building, dumping and freeing it per change
// was the largest cost of applying remote changes (docs/performance.md).
std::string ops_to_storage(const std::vector<FieldOp>& ops) {
  std::string out;
  out.reserve(48 * ops.size() + 2);
  out += '[';
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const FieldOp& op = ops[i];
    if (i > 0) out += ',';
    out += "{\"f\":";
    append_json_string(out, op.field);
    if (!op.prev.empty()) {
      out += ",\"p\":[";
      for (std::size_t k = 0; k < op.prev.size(); ++k) {
        if (k > 0) out += ',';
        append_json_string(out, op.prev[k].str());
      }
      out += ']';
    }
    out += ",\"v\":";
    append_json(out, op.value);
    out += '}';
  }
  out += ']';
  return out;
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

Result<ApplyStats> Replica::apply(const std::vector<Change>& changes,
                                  const std::map<std::string, std::string>& settings,
                                  const ApplyHook& on_applied) {
  ApplyStats stats;
  auto tx = Transaction::begin(db_);
  if (!tx) return tx.error();
  auto fail = [&](Error e) -> Result<ApplyStats> {
    tx->reset();  // roll back, then forget what memory learnt in the attempt
    (void)load();
    return e;
  };
  if (Status s = refresh(); !s) return fail(s.error());
  for (const auto& c : changes) {
    auto origin = origin_index(c.origin);
    if (!origin) return fail(origin.error());
    auto applied = apply_one(c, *origin);
    if (!applied) return fail(applied.error());
    if (*applied == Applied::duplicate) {
      ++stats.duplicates;
      continue;
    }
    ++stats.applied;
    if (*applied == Applied::purged) ++stats.purged;
    if (!on_applied) continue;
    Status s = *applied == Applied::purged ? on_applied(purged_copy(c)) : on_applied(c);
    if (!s) return fail(s.error());
  }
  if (Status s = save_knowledge(); !s) return fail(s.error());
  if (Status s = write_settings(settings); !s) return fail(s.error());
  if (Status s = (*tx)->commit(); !s) return fail(s.error());
  return stats;
}

// Logs `change` and merges it into its record's row.
// A change whose ids are held already is a duplicate when it is the same
// change; the same ids with other content are refused, not dropped: they
// were forged, or two copies of one replica were used. A held change that
// was purged by an erasure is a duplicate of anything (its values are gone).
Result<Replica::Applied> Replica::duplicate_of_held(const Change& c, std::uint32_t origin) {
  auto held = statement(
      "SELECT hlc, author, entity, record, kind, ops FROM changes "
      "WHERE origin = ? AND first = ? AND last = ?");
  if (!held) return held.error();
  (*held)->bind(1, std::int64_t{origin}).bind(2, static_cast<std::int64_t>(c.first));
  (*held)->bind(3, static_cast<std::int64_t>(c.last()));
  if (!(*held)->step()) {
    if (!(*held)->status()) return (*held)->status().error();
    // Its ids are held (the caller knows), but cut otherwise: other changes.
    return make_error(Errc::op_id_overlap, "operations " + c.op_id(0).str() +
                                               " overlap others already held with other content");
  }
  const std::string kind = (*held)->text(4);
  if (kind == "erased" || c.kind == ChangeKind::erased) return Applied::duplicate;
  if (static_cast<std::uint64_t>((*held)->int64(0)) == c.hlc && (*held)->text(1) == c.author &&
      (*held)->text(2) == c.entity && (*held)->text(3) == c.record && kind == kind_name(c.kind) &&
      ops_to_storage(ops_from_storage((*held)->text_view(5))) == ops_to_storage(c.ops))
    return Applied::duplicate;
  return make_error(Errc::op_id_overlap,
                    "operations " + c.op_id(0).str() + " were already received with other content");
}

Result<Replica::Applied> Replica::apply_one(const Change& c, std::uint32_t origin) {
  if (c.last() <= known_[origin]) return duplicate_of_held(c, origin);
  // Every change held from this origin ends at or below max_stored_ (kept
  // current within the transaction: refresh() reloads it if another
  // connection wrote), so a change starting above it is new and needs no
  // lookup. That is the usual case: changes arrive in counter order.
  if (c.first <= max_stored_[origin]) {
    auto held = statement(
        "SELECT first, last FROM changes WHERE origin = ? AND first <= ? "
        "ORDER BY first DESC LIMIT 1");
    if (!held) return held.error();
    (*held)->bind(1, std::int64_t{origin}).bind(2, static_cast<std::int64_t>(c.last()));
    if ((*held)->step() && static_cast<std::uint64_t>((*held)->int64(1)) >= c.first) {
      if (static_cast<std::uint64_t>((*held)->int64(0)) == c.first &&
          static_cast<std::uint64_t>((*held)->int64(1)) == c.last())
        return duplicate_of_held(c, origin);
      return make_error(Errc::op_id_overlap, "operations " + c.op_id(0).str() +
                                                 " overlap others already held with other content");
    }
    if (!(*held)->status()) return (*held)->status().error();
  }

  // Erased records take no values any more. A change that already comes
  // purged (from a replica that applied the erasure) is kept as it is.
  const std::string* erasure = erasure_of(c);
  if (c.kind == ChangeKind::erased || erasure) {
    if (erasure && !erased_.count(c.record)) {
      // Copied: erase_records adds to erased_, which `erasure` points into.
      const std::string id = *erasure;
      if (Status s = erase_records(id, {{c.entity, c.record}}); !s) return s.error();
    }
    if (Status s = log_change(purged_copy(c), origin); !s) return s.error();
    if (Status s = advance_knowledge(origin, c); !s) return s.error();
    return Applied::purged;
  }

  if (Status s = log_change(c, origin); !s) return s.error();

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
  return Applied::merged;
}

Status Replica::log_change(const Change& c, std::uint32_t origin) {
  auto ins = statement(
      "INSERT INTO changes(origin, first, last, hlc, author, entity, record, "
      "kind, ops) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  (*ins)->bind(1, std::int64_t{origin}).bind(2, static_cast<std::int64_t>(c.first));
  (*ins)->bind(3, static_cast<std::int64_t>(c.last())).bind(4, static_cast<std::int64_t>(c.hlc));
  (*ins)->bind(5, c.author).bind(6, c.entity).bind(7, c.record).bind(8, kind_name(c.kind));
  (*ins)->bind(9, ops_to_storage(c.ops));
  if (Status s = (*ins)->run(); !s) return s;
  clock_.observe(c.hlc);
  return Status::Ok();
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
  const std::string_view text = (*s)->text_view(n + 2);
  std::vector<StoredClock> stored;
  if (parse_clocks(text, stored)) {  // the usual case, several times faster
    for (const auto& c : stored) {
      const std::size_t f = field_index(e, c.field);
      if (f < e.fields.size())
        row.clocks[f] = FieldClock{c.hlc, static_cast<std::uint32_t>(c.origin), c.counter};
    }
    return std::optional<RowState>(std::move(row));
  }
  const json clocks = json::parse(text);
  for (const auto& [name, c] : clocks.items()) {
    const std::size_t f = field_index(e, name);
    if (f < e.fields.size())
      row.clocks[f] = FieldClock{c[0].get<std::uint64_t>(), c[1].get<std::uint32_t>(),
                                 c[2].get<std::uint64_t>()};
  }
  return std::optional<RowState>(std::move(row));
}

Status Replica::write_row(const schema::Entity& e, const std::string& id, const RowState& row) {
  const EntitySql& sql = entity_sql(e);
  auto s = statement(sql.upsert_row);
  if (!s) return s.error();
  (*s)->bind(1, id);
  const int n = static_cast<int>(e.fields.size());
  for (int i = 0; i < n; ++i) bind_value(**s, i + 2, row.values[static_cast<std::size_t>(i)]);
  // _clocks: the same text as dumping a json object {field: [hlc, origin,
  // counter]} (keys in name order, as nlohmann keeps them), written directly
  // because building and dumping that object cost as much as the SQL.
  std::string clocks;
  clocks.reserve(64 * e.fields.size());
  clocks += '{';
  for (const std::size_t f : sql.fields_by_name) {
    const auto& c = row.clocks[f];
    if (!c) continue;
    if (clocks.size() > 1) clocks += ',';
    append_json_string(clocks, e.fields[f].name);
    clocks += ":[";
    append_number(clocks, c->hlc);
    clocks += ',';
    append_number(clocks, c->origin);
    clocks += ',';
    append_number(clocks, c->counter);
    clocks += ']';
  }
  clocks += '}';
  (*s)->bind(n + 2, std::int64_t{row.deleted ? 1 : 0}).bind(n + 3, clocks);
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

  auto s = statement(
      "SELECT origin, first, hlc, ops FROM changes WHERE record = ? AND entity = ? AND "
      "kind != 'erased'");
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
