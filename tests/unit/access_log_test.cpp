// The access log of a replica: chained entries without personal values, and
// the verification that finds an edited, a removed or a reordered entry.
#include "relais/store/access_log.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "replicas.h"

namespace relais::store {
namespace {

using testing::must;
using testing::person;

class Access : public testing::ReplicaTest {
 protected:
  void SetUp() override {
    r_ = make("a", "alice");
    log_ = std::make_unique<AccessLog>(must(AccessLog::open(*r_)));
    for (const char* first : {"Inès", "Hugo", "Lina", "Yanis", "Maëlle"})
      people_.push_back(must(r_->create_record("person", person(first, "Martin"))));
    must(log_->record({people_[0]}, "open"));
    must(log_->record({people_[1], people_[2], people_[3]}, "list"));
    must(log_->record({people_[4]}, "export"));
  }

  std::vector<AccessEntry> all() { return must(log_->entries_after(0, 100)); }
  std::optional<ChainBreak> verify(const std::vector<AccessEntry>& entries) {
    return verify_chain(ChainHead{}, r_->info().replica_id, entries);
  }

  std::unique_ptr<Replica> r_;
  std::unique_ptr<AccessLog> log_;
  std::vector<std::string> people_;
};

TEST_F(Access, RecordsOneChainedEntryPerPersonRead) {
  const auto entries = all();
  ASSERT_EQ(entries.size(), 5u);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].seq, i + 1);
    EXPECT_EQ(entries[i].person, people_[i]);
    EXPECT_EQ(entries[i].user, "alice");
    EXPECT_EQ(entries[i].device, r_->info().replica_id);
    EXPECT_EQ(entries[i].prev, i == 0 ? kGenesisHash : entries[i - 1].hash);
    EXPECT_EQ(entries[i].hash, entry_hash(entries[i]));
  }
  EXPECT_EQ(entries[1].action, "list");
  EXPECT_FALSE(verify(entries).has_value());
}

TEST_F(Access, EntriesHoldNoPersonalValue) {
  for (const auto& e : all())
    for (const std::string& part : {e.at, e.user, e.device, e.person, e.action})
      for (const char* value : {"Inès", "Hugo", "Martin"})
        EXPECT_EQ(part.find(value), std::string::npos) << part;
}

TEST_F(Access, DetectsAnEditedEntry) {
  auto entries = all();
  entries[2].person = people_[0];  // someone hides that Lina's record was read

  const auto broken = verify(entries);

  ASSERT_TRUE(broken.has_value());
  EXPECT_EQ(broken->kind, ChainBreak::Kind::edited);
  EXPECT_EQ(broken->seq, 3u);
}

TEST_F(Access, DetectsAnEditedEntryWhoseHashWasRecomputed) {
  auto entries = all();
  entries[2].user = "bruno";
  entries[2].hash = entry_hash(entries[2]);

  const auto broken = verify(entries);

  ASSERT_TRUE(broken.has_value());
  EXPECT_EQ(broken->kind, ChainBreak::Kind::edited);
  EXPECT_EQ(broken->seq, 3u);
}

TEST_F(Access, DetectsARemovedEntry) {
  auto entries = all();
  entries.erase(entries.begin() + 2);

  const auto broken = verify(entries);

  ASSERT_TRUE(broken.has_value());
  EXPECT_EQ(broken->kind, ChainBreak::Kind::gap);
  EXPECT_EQ(broken->seq, 3u);
}

TEST_F(Access, DetectsARemovedEntryHiddenByRenumbering) {
  auto entries = all();
  entries.erase(entries.begin() + 2);
  for (std::size_t i = 2; i < entries.size(); ++i) {
    entries[i].seq = i + 1;
    entries[i].hash = entry_hash(entries[i]);
  }

  const auto broken = verify(entries);

  ASSERT_TRUE(broken.has_value());
  EXPECT_EQ(broken->kind, ChainBreak::Kind::edited);
}

TEST_F(Access, DetectsAReorderedPair) {
  auto entries = all();
  std::swap(entries[1], entries[2]);

  const auto broken = verify(entries);

  ASSERT_TRUE(broken.has_value());
  EXPECT_EQ(broken->kind, ChainBreak::Kind::reorder);
  EXPECT_EQ(broken->seq, 3u);
}

TEST_F(Access, DetectsAnEntryOfAnotherDevice) {
  auto entries = all();
  const auto broken = verify_chain(ChainHead{}, new_uuid(), entries);
  ASSERT_TRUE(broken.has_value());
  EXPECT_EQ(broken->kind, ChainBreak::Kind::foreign);
}

TEST_F(Access, ChainGoesOnAfterUploadedEntriesAreForgotten) {
  const auto first = all();
  must(log_->forget_through(3));
  must(log_->record({people_[0]}, "open"));

  const auto rest = must(log_->entries_after(0, 100));

  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest.front().seq, 4u);
  EXPECT_EQ(rest.back().seq, 6u);
  EXPECT_FALSE(verify_chain(ChainHead{3, first[2].hash}, r_->info().replica_id, rest).has_value());
  EXPECT_EQ(must(log_->head()).seq, 6u);
}

TEST_F(Access, ChainSurvivesReopeningTheReplica) {
  const ChainHead before = must(log_->head());
  log_.reset();
  r_.reset();
  r_ = reopen("a");
  log_ = std::make_unique<AccessLog>(must(AccessLog::open(*r_)));
  must(log_->record({people_[1]}, "open"));

  const auto entries = all();
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries.back().prev, before.hash);
  EXPECT_FALSE(verify(entries).has_value());
}

}  // namespace
}  // namespace relais::store
