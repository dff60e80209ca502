// Pieces shared by the files that implement Replica; not a public header.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "relais/schema/schema.h"
#include "relais/store/replica.h"

namespace relais::store {

// Which op set a field's current value, compared by (hlc, origin id, counter).
struct Replica::FieldClock {
  std::uint64_t hlc = 0;
  std::uint32_t origin = 0;  // index into Replica::origins_
  std::uint64_t counter = 0;
};

// A record's stored row: per field of the entity (schema order) its value
// and the clock of the op that set it.
struct Replica::RowState {
  std::vector<nlohmann::json> values;
  std::vector<std::optional<FieldClock>> clocks;
  bool deleted = false;
};

struct Replica::EntitySql {
  std::string select_row;   // (id) -> fields..., _deleted, _clocks
  std::string upsert_row;   // (id, fields..., _deleted, _clocks)
  std::string select_live;  // (limit) -> id, fields...
  std::string exists_live;  // (id) -> 1
  // Indexes into the entity's fields, sorted by name: the key order of the
  // _clocks JSON object, which merge.cpp writes without nlohmann.
  std::vector<std::size_t> fields_by_name;
};

std::string quote_ident(const std::string& name);

// Position of field `name` in `e.fields`, or e.fields.size() if absent.
inline std::size_t field_index(const schema::Entity& e, std::string_view name) {
  for (std::size_t i = 0; i < e.fields.size(); ++i)
    if (e.fields[i].name == name) return i;
  return e.fields.size();
}

// The SQL column type that holds values of `field`.
const char* column_type(const schema::Field& field);
// Binds `value` (null, string, integer, boolean, or array stored as JSON text).
void bind_value(Statement& s, int index, const nlohmann::json& value);
// Reads column `col` back as the field's JSON value.
nlohmann::json read_value(const Statement& s, int col, const schema::Field& field);

// Parses the "ops" array stored in the changes table (written by this code,
// so not re-validated against the schema).
std::vector<FieldOp> ops_from_storage(std::string_view text);
// `change` with every value null and kind `erased`: what an erasure keeps.
Change purged_copy(const Change& change);
std::string ops_to_storage(const std::vector<FieldOp>& ops);

}  // namespace relais::store
