#include "relais/store/change.h"

#include <cstdint>
#include <set>

#include "relais/schema/validate.h"
#include "relais/store/hlc.h"

namespace relais::store {
namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxCounter = INT64_MAX;

Error malformed(std::string message) {
  return make_error(Errc::bundle_malformed, std::move(message));
}

Result<std::string> string_member(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    return malformed(std::string("change: '") + key + "' must be a string");
  return it->get<std::string>();
}

Result<ChangeKind> parse_kind(const std::string& s) {
  if (s == "edit") return ChangeKind::edit;
  if (s == "delete") return ChangeKind::remove;
  if (s == "settle") return ChangeKind::settle;
  if (s == "erased") return ChangeKind::erased;
  return malformed("change: unknown kind '" + s + "'");
}

Result<FieldOp> parse_op(const json& o, const schema::Entity& entity, ChangeKind kind) {
  if (!o.is_object() || !o.contains("f") || !o["f"].is_string() || !o.contains("v"))
    return malformed("change: each op needs 'f' (field) and 'v' (value)");
  FieldOp op;
  op.field = o["f"].get<std::string>();
  if (kind == ChangeKind::erased) {
    if (op.field != kDeletedField) {
      auto field = schema::Schema::find_field(entity, op.field);
      if (!field) return field.error();
    }
    if (!o["v"].is_null()) return malformed("change: an erased change carries null values only");
  } else if (op.field == kDeletedField) {
    if (kind != ChangeKind::remove || o["v"] != json(true))
      return malformed("change: '_deleted' is set to true, by a delete only");
    op.value = true;
  } else {
    auto field = schema::Schema::find_field(entity, op.field);
    if (!field) return field.error();
    auto value = schema::normalize_value(entity, **field, o["v"]);
    if (!value) return value.error();
    op.value = std::move(value).value();
  }
  if (auto p = o.find("p"); p != o.end()) {
    if (!p->is_array()) return malformed("change: 'p' must be an array of op ids");
    for (const auto& id : *p) {
      auto parsed = id.is_string() ? OpId::parse(id.get<std::string>()) : std::nullopt;
      if (!parsed || !schema::is_uuid(parsed->replica))
        return malformed("change: bad op id in 'p': " + id.dump());
      op.prev.push_back(std::move(*parsed));
    }
  }
  return op;
}

}  // namespace

std::string_view kind_name(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::edit:
      return "edit";
    case ChangeKind::remove:
      return "delete";
    case ChangeKind::settle:
      return "settle";
    case ChangeKind::erased:
      return "erased";
  }
  return "edit";
}

json change_to_json(const Change& c) {
  json ops = json::array();
  for (const auto& op : c.ops) {
    json o = {{"f", op.field}, {"v", op.value}};
    if (!op.prev.empty()) {
      json p = json::array();
      for (const auto& id : op.prev) p.push_back(id.str());
      o["p"] = std::move(p);
    }
    ops.push_back(std::move(o));
  }
  return json{
      {"origin", c.origin},        {"first", c.first},     {"hlc", HybridClock::to_hex(c.hlc)},
      {"author", c.author},        {"entity", c.entity},   {"record", c.record},
      {"kind", kind_name(c.kind)}, {"ops", std::move(ops)}};
}

Result<Change> change_from_json(const json& j, const schema::Schema& schema) {
  if (!j.is_object()) return malformed("change: expected a JSON object");
  Change c;
  auto origin = string_member(j, "origin");
  auto hlc = string_member(j, "hlc");
  auto author = string_member(j, "author");
  auto entity = string_member(j, "entity");
  auto record = string_member(j, "record");
  auto kind = string_member(j, "kind");
  for (const auto* r : {&origin, &hlc, &author, &entity, &record, &kind})
    if (!*r) return r->error();
  if (!schema::is_uuid(*origin)) return malformed("change: origin '" + *origin + "' is not a UUID");
  if (!schema::is_uuid(*record)) return malformed("change: record '" + *record + "' is not a UUID");
  auto ts = HybridClock::from_hex(*hlc);
  if (!ts) return malformed("change: hlc '" + *hlc + "' is not 16 hex digits");
  auto first = j.find("first");
  // Counters are stored as SQLite integers: the last one must fit in 63 bits.
  if (first == j.end() || !first->is_number_unsigned() || first->get<std::uint64_t>() == 0 ||
      first->get<std::uint64_t>() > kMaxCounter)
    return malformed("change: 'first' must be a counter from 1 to " + std::to_string(kMaxCounter));
  auto k = parse_kind(*kind);
  if (!k) return k.error();
  auto ent = schema.find_entity(*entity);
  if (!ent) return ent.error();

  c.origin = *origin;
  c.first = first->get<std::uint64_t>();
  c.hlc = *ts;
  c.author = *author;
  c.entity = *entity;
  c.record = *record;
  c.kind = *k;

  auto ops = j.find("ops");
  if (ops == j.end() || !ops->is_array() || ops->empty())
    return malformed("change: 'ops' must be a non-empty array");
  if (ops->size() > kMaxCounter - c.first)
    return malformed("change: its counters would pass " + std::to_string(kMaxCounter));
  std::set<std::string> seen;
  for (const auto& o : *ops) {
    auto op = parse_op(o, **ent, c.kind);
    if (!op) return op.error();
    if (!seen.insert(op->field).second)
      return malformed("change: field '" + op->field + "' appears twice");
    c.ops.push_back(std::move(op).value());
  }
  return c;
}

json knowledge_to_json(const Knowledge& k) {
  json j = json::object();
  for (const auto& [origin, counter] : k) j[origin] = counter;
  return j;
}

Result<Knowledge> knowledge_from_json(const json& j) {
  if (!j.is_object()) return malformed("knowledge: expected an object of replica id to counter");
  Knowledge k;
  for (const auto& [origin, counter] : j.items()) {
    if (!schema::is_uuid(origin) || !counter.is_number_unsigned())
      return malformed("knowledge: bad entry '" + origin + "'");
    k[origin] = counter.get<std::uint64_t>();
  }
  return k;
}

}  // namespace relais::store
