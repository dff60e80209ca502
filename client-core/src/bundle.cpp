#include "relais/exchange/bundle.h"

#include <nlohmann/json.hpp>

#include "relais/store/sha256.h"

namespace relais::exchange {
namespace {

using nlohmann::json;

constexpr std::string_view kFormatName = "relais-ops";

Error at_line(std::size_t line, const Error& e) {
  return make_error(e.code, "line " + std::to_string(line) + ": " + e.message);
}

Error malformed(std::size_t line, const std::string& what) {
  return at_line(line, make_error(Errc::bundle_malformed, what));
}

Result<BundleHeader> parse_header(std::string_view text, const schema::Schema& schema) {
  const json h = json::parse(text, nullptr, false);
  const auto format = h.is_object() ? h.find("format") : h.end();
  if (format == h.end() || !format->is_string() || *format != kFormatName)
    return make_error(Errc::bundle_malformed, "not a Relais operation bundle");
  BundleHeader header;
  try {
    header.format_version = h.at("format_version").get<int>();
    header.schema_version = h.at("schema_version").get<int>();
    header.replica_id = h.at("replica").get<std::string>();
    header.site = h.at("site").get<std::string>();
    header.created = h.at("created").get<std::string>();
  } catch (const json::exception& e) {
    return make_error(Errc::bundle_malformed, std::string("bad header: ") + e.what());
  }
  if (header.format_version < 1)
    return make_error(Errc::bundle_unsupported_format,
                      "unknown bundle layout version " + std::to_string(header.format_version));
  if (header.format_version > kBundleFormatVersion)
    return make_error(Errc::bundle_unsupported_format,
                      "bundle layout version " + std::to_string(header.format_version) +
                          " is newer than this program's (" + std::to_string(kBundleFormatVersion) +
                          "); install a newer Relais");
  if (header.schema_version > schema.version())
    return make_error(Errc::bundle_newer_schema,
                      "the bundle was written with schema version " +
                          std::to_string(header.schema_version) + ", this replica knows up to " +
                          std::to_string(schema.version()) + "; install a newer Relais first");
  auto k = store::knowledge_from_json(h.value("knowledge", json::object()));
  if (!k) return k.error();
  header.knowledge = std::move(k).value();
  return header;
}

}  // namespace

std::string encode_bundle(const BundleHeader& header, const std::vector<store::Change>& changes) {
  std::string out = json{{"format", kFormatName},
                         {"format_version", header.format_version},
                         {"schema_version", header.schema_version},
                         {"replica", header.replica_id},
                         {"site", header.site},
                         {"created", header.created},
                         {"knowledge", store::knowledge_to_json(header.knowledge)}}
                        .dump();
  out += '\n';
  std::size_t ops = 0;
  for (const auto& c : changes) {
    out += store::change_to_json(c).dump();
    out += '\n';
    ops += c.ops.size();
  }
  out += json{{"end", true},
              {"changes", changes.size()},
              {"ops", ops},
              {"sha256", store::sha256_hex(out)}}
             .dump();
  out += '\n';
  return out;
}

Result<Bundle> decode_bundle(std::string_view bytes, const schema::Schema& schema) {
  if (bytes.empty()) return make_error(Errc::bundle_malformed, "the bundle is empty");
  Bundle bundle;
  std::size_t pos = 0, line = 0;
  bool ended = false;
  while (pos < bytes.size()) {
    const std::size_t eol = bytes.find('\n', pos);
    if (eol == std::string_view::npos)
      return make_error(Errc::bundle_truncated, "the bundle stops in the middle of line " +
                                                    std::to_string(line + 1) +
                                                    ": it was cut short; copy it again");
    const std::string_view text = bytes.substr(pos, eol - pos);
    ++line;
    if (ended) return malformed(line, "text after the closing line");
    if (line == 1) {
      auto h = parse_header(text, schema);
      if (!h) return at_line(line, h.error());
      bundle.header = std::move(h).value();
    } else {
      const json j = json::parse(text, nullptr, false);
      if (j.is_discarded()) return malformed(line, "not valid JSON");
      if (j.is_object() && j.contains("end")) {
        const std::string expected = store::sha256_hex(bytes.substr(0, pos));
        // Read without value(): a damaged closing line must be refused, not throw.
        const auto count = j.find("changes"), sum = j.find("sha256");
        if (count == j.end() || !count->is_number_unsigned() ||
            count->get<std::size_t>() != bundle.changes.size() || sum == j.end() ||
            !sum->is_string() || *sum != expected)
          return at_line(line, make_error(Errc::bundle_checksum_mismatch,
                                          "the closing count or checksum does not match: the "
                                          "file was altered or damaged"));
        ended = true;
      } else {
        auto c = store::change_from_json(j, schema);
        if (!c) return at_line(line, c.error());
        bundle.changes.push_back(std::move(c).value());
      }
    }
    pos = eol + 1;
  }
  if (!ended)
    return make_error(Errc::bundle_truncated, "the bundle ends after line " + std::to_string(line) +
                                                  " without its closing line: it was cut short; "
                                                  "copy it again");
  return bundle;
}

}  // namespace relais::exchange
