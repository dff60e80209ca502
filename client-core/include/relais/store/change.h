// The unit of the operation log. One edit of one record is a Change holding
// one field operation per field it sets; each field operation has its own
// operation id (origin replica, counter), the counters of a change being
// consecutive. docs/oplog.md specifies the format.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "relais/error.h"
#include "relais/schema/schema.h"
#include "relais/store/ids.h"

namespace relais::store {

// The pseudo-field of a delete: value true, and once true it stays true.
inline constexpr std::string_view kDeletedField = "_deleted";

// `erased`: a change whose values an erasure purged (docs/rgpd.md). It keeps
// its op ids, fields and clock so that knowledge stays contiguous; every
// value is null and it no longer affects any record.
enum class ChangeKind { edit, remove, settle, erased };
std::string_view kind_name(ChangeKind kind);

struct FieldOp {
  std::string field;       // a field of the change's entity, or kDeletedField
  nlohmann::json value;    // normalised as schema::normalize_value returns it
  std::vector<OpId> prev;  // the values of this field its author replaced
};

struct Change {
  std::string origin;       // UUID of the replica that made the change
  std::uint64_t first = 0;  // counter of ops[0]; ops[i] has counter first + i
  std::uint64_t hlc = 0;    // HybridClock timestamp, shared by all ops
  std::string author;       // user id of the person who made the edit
  std::string entity;
  std::string record;  // UUID of the record
  ChangeKind kind = ChangeKind::edit;
  std::vector<FieldOp> ops;  // never empty, one per field

  std::uint64_t last() const { return first + ops.size() - 1; }
  OpId op_id(std::size_t i) const { return OpId{origin, first + i}; }
};

// What a replica has seen: for each origin replica, the highest counter up
// to which it holds every operation.
using Knowledge = std::map<std::string, std::uint64_t>;

// The change as one JSON object of the op-log format.
nlohmann::json change_to_json(const Change& change);

// Reads and checks a change against `schema`: structure, ids, known entity
// and fields, values of the right type and allowed. Names the first problem.
Result<Change> change_from_json(const nlohmann::json& j, const schema::Schema& schema);

nlohmann::json knowledge_to_json(const Knowledge& k);
Result<Knowledge> knowledge_from_json(const nlohmann::json& j);

}  // namespace relais::store
