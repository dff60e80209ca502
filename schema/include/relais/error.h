// The one registry of error codes of Relais, shared by every layer, the CLI's
// exit codes and (later) the sync protocol. docs/errors.md lists them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace relais {

// Stable numeric codes: never renumber one, only add. The hundreds group them:
// 1xx bad input against the schema, 2xx bundles and exchange, 3xx the store,
// 4xx the sync protocol, 5xx identity and scopes, 6xx the server itself,
// 7xx the RGPD rules on consent, its proof and objection, 8xx erasure and the access
// log.
enum class Errc : int {
  unknown_entity = 101,
  unknown_field = 102,
  wrong_type = 103,
  value_not_allowed = 104,
  missing_required = 105,
  value_too_long = 106,
  invalid_format = 107,
  unknown_record = 108,
  record_deleted = 109,
  no_such_conflict = 110,
  invalid_argument = 111,

  bundle_malformed = 201,
  bundle_truncated = 202,
  bundle_newer_schema = 203,
  bundle_unsupported_format = 204,
  bundle_checksum_mismatch = 205,
  op_id_overlap = 206,
  csv_malformed = 207,
  invalid_encoding = 208,

  store_io = 301,
  store_corrupt = 302,
  replica_exists = 303,
  replica_missing = 304,
  replica_newer_schema = 305,
  schema_invalid = 306,
  store_busy = 307,

  protocol_malformed = 401,
  unknown_message = 402,
  protocol_version = 403,
  client_schema_older = 404,
  client_schema_newer = 405,
  message_too_large = 406,
  unexpected_message = 407,
  network = 408,

  bad_credential = 501,
  device_revoked = 502,
  wrong_server = 503,
  enrollment_code_invalid = 504,
  out_of_scope = 505,
  author_not_allowed = 506,
  not_enrolled = 507,
  unknown_site = 508,
  unknown_user = 509,

  shutting_down = 601,
  server_internal = 602,

  append_only = 701,
  unknown_purpose = 702,
  not_consent_purpose = 703,
  unknown_notice = 704,
  no_prior_consent = 705,
  consent_required = 706,
  objection = 707,

  erased_record = 801,
  erasure_forged = 802,
  access_chain_broken = 803,
  role_required = 804,
  offline_too_long = 805,
};

// Stable snake_case name of a code, as printed in --json output.
std::string_view errc_name(Errc code);

// What went wrong, for a person: `message` names the entity, field, value or
// line at fault. Cheap to move; carries no personal value beyond what the
// user typed in the same command.
struct Error {
  Errc code;
  std::string message;
};

// A value or an Error. The store, the schema and the exchange layers return
// this on every path that can fail on bad input or I/O; exceptions are kept
// for programming errors.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // REQUIRES: !ok().
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error, for operations that produce nothing.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  static Status Ok() { return Status(); }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  // REQUIRES: !ok().
  const Error& error() const { return error_; }

 private:
  Error error_{};
  bool ok_ = true;
};

inline Error make_error(Errc code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace relais
