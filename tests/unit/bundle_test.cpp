// Operation bundles: the file that carries changes between replicas, and the
// damage decode must refuse before anything is applied.
#include "relais/exchange/bundle.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "relais/exchange/outbox.h"
#include "replicas.h"

namespace relais::exchange {
namespace {

using nlohmann::json;
using schema::Schema;
using testing::code_of;
using testing::describe;
using testing::must;
using testing::person;

class Bundles : public testing::ReplicaTest {
 protected:
  void SetUp() override {
    a_ = make("a", "alice");
    const std::string id = must(a_->create_record("person", person("Inès", "Martin")));
    must(a_->update_record("person", id, {{"commune", "Lille"}, {"interests", {"retail"}}}));
    const std::string other = must(a_->create_record("person", person("Léo", "Petit")));
    must(a_->delete_record("person", other));
    changes_ = must(a_->changes_after({}, SIZE_MAX));
    bytes_ = encode_bundle(header(), changes_);
  }

  BundleHeader header() const {
    BundleHeader h;
    h.schema_version = a_->info().schema_version;
    h.replica_id = a_->info().replica_id;
    h.site = a_->info().site;
    h.created = "2026-01-01T00:00:00Z";
    h.knowledge = a_->knowledge();
    return h;
  }

  static Result<Bundle> decode(std::string_view bytes) {
    return decode_bundle(bytes, Schema::builtin());
  }

  // The bytes with line `n` (1-based) replaced by `text`.
  std::string with_line(std::size_t n, const std::string& text) const {
    std::size_t begin = 0;
    for (std::size_t i = 1; i < n; ++i) begin = bytes_.find('\n', begin) + 1;
    const std::size_t end = bytes_.find('\n', begin);
    return bytes_.substr(0, begin) + text + bytes_.substr(end);
  }

  // Expects `bytes` refused with `code` and a message naming `needle`.
  static void expect_refused(std::string_view bytes, Errc code, const std::string& needle = "") {
    auto b = decode(bytes);
    ASSERT_FALSE(b.ok()) << "the bundle was accepted";
    EXPECT_EQ(b.error().code, code) << describe(b.error());
    EXPECT_NE(b.error().message.find(needle), std::string::npos) << describe(b.error());
  }

  std::unique_ptr<store::Replica> a_;
  std::vector<store::Change> changes_;
  std::string bytes_;
};

TEST_F(Bundles, DecodeGivesBackWhatWasEncoded) {
  const Bundle b = must(decode(bytes_));

  EXPECT_EQ(b.header.format_version, kBundleFormatVersion);
  EXPECT_EQ(b.header.schema_version, Schema::builtin().version());
  EXPECT_EQ(b.header.replica_id, a_->info().replica_id);
  EXPECT_EQ(b.header.site, "nord");
  EXPECT_EQ(b.header.created, "2026-01-01T00:00:00Z");
  EXPECT_EQ(b.header.knowledge, a_->knowledge());
  ASSERT_EQ(b.changes.size(), 4u);
  for (std::size_t i = 0; i < b.changes.size(); ++i)
    EXPECT_EQ(store::change_to_json(b.changes[i]), store::change_to_json(changes_[i])) << i;
}

TEST_F(Bundles, ABundleWithoutChangesRoundTrips) {
  const Bundle b = must(decode(encode_bundle(header(), {})));
  EXPECT_TRUE(b.changes.empty());
}

TEST_F(Bundles, IsOneJsonLinePerChangeBetweenHeaderAndClosingLine) {
  std::size_t lines = 0;
  for (char c : bytes_) lines += c == '\n';
  EXPECT_EQ(lines, changes_.size() + 2);
  EXPECT_EQ(bytes_.back(), '\n');
}

TEST_F(Bundles, EmptyInputIsRefused) {
  expect_refused("", Errc::bundle_malformed);
}

TEST_F(Bundles, ACutInTheMiddleOfALineIsTruncation) {
  std::size_t cut = bytes_.size() / 2;
  while (bytes_[cut - 1] == '\n') ++cut;
  expect_refused(bytes_.substr(0, cut), Errc::bundle_truncated);
  expect_refused(bytes_.substr(0, bytes_.size() - 1), Errc::bundle_truncated);
  expect_refused(bytes_.substr(0, 10), Errc::bundle_truncated, "line 1");
}

TEST_F(Bundles, ACutAtALineBoundaryBeforeTheClosingLineIsTruncation) {
  const std::size_t closing = bytes_.rfind('\n', bytes_.size() - 2) + 1;
  expect_refused(bytes_.substr(0, closing), Errc::bundle_truncated);
  expect_refused(bytes_.substr(0, bytes_.find('\n') + 1), Errc::bundle_truncated);
}

TEST_F(Bundles, AnAlteredByteFailsTheChecksum) {
  std::string altered = bytes_;
  const std::size_t at = altered.find("Lille");
  ASSERT_NE(at, std::string::npos);
  altered[at] = 'M';  // still valid JSON and a valid change: only the checksum can tell

  expect_refused(altered, Errc::bundle_checksum_mismatch, "line 6");
}

TEST_F(Bundles, AnAlteredHeaderOrCountFailsTheChecksum) {
  std::string site = bytes_;
  site[site.find("\"nord\"") + 1] = 'm';
  expect_refused(site, Errc::bundle_checksum_mismatch);

  json closing = json::parse(bytes_.substr(bytes_.rfind('\n', bytes_.size() - 2) + 1));
  closing["changes"] = 3;
  expect_refused(with_line(6, closing.dump()), Errc::bundle_checksum_mismatch);
}

TEST_F(Bundles, AMalformedJsonLineIsRefusedNamingTheLine) {
  expect_refused(with_line(3, "{\"origin\": \"0190"), Errc::bundle_malformed, "line 3");
  expect_refused(with_line(1, "not a header"), Errc::bundle_malformed, "line 1");
}

TEST_F(Bundles, AChangeOfAnUnknownFieldIsRefusedNamingTheLine) {
  auto changes = changes_;
  changes[1].ops[0].field = "shoe_size";
  expect_refused(encode_bundle(header(), changes), Errc::unknown_field, "line 3");
}

TEST_F(Bundles, AChangeWithAValueTheSchemaRefusesIsRefused) {
  auto changes = changes_;
  changes[1].ops[0].value = "2025-02-30";
  changes[1].ops[0].field = "birth_date";
  expect_refused(encode_bundle(header(), changes), Errc::invalid_format, "line 3");
}

TEST_F(Bundles, ABundleOfANewerSchemaIsRefused) {
  BundleHeader h = header();
  h.schema_version = Schema::builtin().version() + 1;
  expect_refused(encode_bundle(h, changes_), Errc::bundle_newer_schema, "line 1");

  auto old = decode_bundle(bytes_, Schema::builtin().at_version(1));
  EXPECT_EQ(code_of(old), Errc::bundle_newer_schema);
}

TEST_F(Bundles, AnUnknownLayoutVersionIsRefused) {
  BundleHeader h = header();
  for (int version : {kBundleFormatVersion + 1, 0, -1}) {
    h.format_version = version;
    expect_refused(encode_bundle(h, changes_), Errc::bundle_unsupported_format, "line 1");
  }
}

TEST_F(Bundles, AClosingLineOfTheWrongShapeIsRefusedNotThrown) {
  for (const char* closing : {R"({"end": true, "changes": "4", "sha256": "00"})",
                              R"({"end": true, "changes": 4, "sha256": 12})", R"({"end": true})"})
    expect_refused(with_line(6, closing), Errc::bundle_checksum_mismatch, "line 6");
}

TEST_F(Bundles, AHeaderOfTheWrongShapeIsRefusedNotThrown) {
  for (const char* header :
       {R"({"format": 1})", R"([1, 2])", R"({"format": "relais-ops", "format_version": "1"})"})
    expect_refused(with_line(1, header), Errc::bundle_malformed, "line 1");
}

TEST_F(Bundles, TextAfterTheClosingLineIsRefused) {
  expect_refused(bytes_ + "{}\n", Errc::bundle_malformed, "line 7");
}

TEST_F(Bundles, ReplayingADecodedBundleTwiceIsANoOp) {
  auto b = make("b");
  const Bundle bundle = must(decode(bytes_));

  const auto first = must(apply_in_batches(*b, bundle.changes, 2));
  const std::string after_first = digest(*b);
  const auto second = must(apply_in_batches(*b, must(decode(bytes_)).changes, 2));

  EXPECT_EQ(first.applied, 4u);
  EXPECT_EQ(second.applied, 0u);
  EXPECT_EQ(second.duplicates, 4u);
  EXPECT_EQ(digest(*b), after_first);
  EXPECT_EQ(digest(*b), digest(*a_));
  EXPECT_EQ(history_size(*b), 4u);
}

}  // namespace
}  // namespace relais::exchange
