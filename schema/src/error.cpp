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
    case Errc::protocol_malformed:
      return "protocol_malformed";
    case Errc::unknown_message:
      return "unknown_message";
    case Errc::protocol_version:
      return "protocol_version";
    case Errc::client_schema_older:
      return "client_schema_older";
    case Errc::client_schema_newer:
      return "client_schema_newer";
    case Errc::message_too_large:
      return "message_too_large";
    case Errc::unexpected_message:
      return "unexpected_message";
    case Errc::network:
      return "network";
    case Errc::bad_credential:
      return "bad_credential";
    case Errc::device_revoked:
      return "device_revoked";
    case Errc::wrong_server:
      return "wrong_server";
    case Errc::enrollment_code_invalid:
      return "enrollment_code_invalid";
    case Errc::out_of_scope:
      return "out_of_scope";
    case Errc::author_not_allowed:
      return "author_not_allowed";
    case Errc::not_enrolled:
      return "not_enrolled";
    case Errc::unknown_site:
      return "unknown_site";
    case Errc::unknown_user:
      return "unknown_user";
    case Errc::shutting_down:
      return "shutting_down";
    case Errc::server_internal:
      return "server_internal";
  }
  return "unknown_error";
}

}  // namespace relais
