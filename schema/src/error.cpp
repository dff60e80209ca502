#include "relais/error.h"

namespace relais {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::unknown_entity:
      return "unknown_entity";
    case Errc::unknown_field:
      return "unknown_field";
    case Errc::wrong_type:
      return "wrong_type";
    case Errc::value_not_allowed:
      return "value_not_allowed";
    case Errc::missing_required:
      return "missing_required";
    case Errc::value_too_long:
      return "value_too_long";
    case Errc::invalid_format:
      return "invalid_format";
    case Errc::unknown_record:
      return "unknown_record";
    case Errc::record_deleted:
      return "record_deleted";
    case Errc::no_such_conflict:
      return "no_such_conflict";
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::bundle_malformed:
      return "bundle_malformed";
    case Errc::bundle_truncated:
      return "bundle_truncated";
    case Errc::bundle_newer_schema:
      return "bundle_newer_schema";
    case Errc::bundle_unsupported_format:
      return "bundle_unsupported_format";
    case Errc::bundle_checksum_mismatch:
      return "bundle_checksum_mismatch";
    case Errc::op_id_overlap:
      return "op_id_overlap";
    case Errc::store_io:
      return "store_io";
    case Errc::store_corrupt:
      return "store_corrupt";
    case Errc::replica_exists:
      return "replica_exists";
    case Errc::replica_missing:
      return "replica_missing";
    case Errc::replica_newer_schema:
      return "replica_newer_schema";
    case Errc::schema_invalid:
      return "schema_invalid";
  }
  return "unknown_error";
}

}  // namespace relais
