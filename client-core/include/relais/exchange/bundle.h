// Operation bundles: the file format that carries changes between replicas
// with no network (a USB stick between two laptops). JSON Lines: a header,
// one change per line, a closing line with a count and a SHA-256 of all that
// precedes it, so a truncated or altered file is refused whole.
// docs/oplog.md specifies it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "relais/error.h"
#include "relais/schema/schema.h"
#include "relais/store/change.h"

namespace relais::exchange {

// Version of the bundle layout (not of the data model). Readers refuse a
// newer one.
inline constexpr int kBundleFormatVersion = 1;

struct BundleHeader {
  int format_version = kBundleFormatVersion;
  int schema_version = 0;  // of the replica that wrote it
  std::string replica_id;  // that replica
  std::string site;
  std::string created;         // UTC, ISO 8601
  store::Knowledge knowledge;  // what the writer held, to answer with less
};

struct Bundle {
  BundleHeader header;
  std::vector<store::Change> changes;
};

// The bytes of a bundle.
std::string encode_bundle(const BundleHeader& header, const std::vector<store::Change>& changes);

// Reads and checks a whole bundle before anything is applied: layout
// version, schema version (not newer than `schema`), every change against
// `schema`, the closing count and checksum. Errors name the line at fault.
Result<Bundle> decode_bundle(std::string_view bytes, const schema::Schema& schema);

}  // namespace relais::exchange
