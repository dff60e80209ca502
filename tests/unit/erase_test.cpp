// Erasure on a replica: the person and every record about them leave the
// tables, their logged values are purged (local changes not yet sent too),
// later changes about them are purged on arrival, and after the clean-up no
// byte of their values remains in the replica's files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "relais/store/replica.h"
#include "replicas.h"

namespace relais::store {
namespace {

using nlohmann::json;
using testing::code_of;
using testing::file_holds;
using testing::must;
using testing::person;
using testing::send;
using testing::sync;

constexpr char kErasure[] = "erasure-1";

class Erase : public testing::ReplicaTest {
 protected:
  void SetUp() override {
    a_ = make("a", "alice");
    b_ = make("b", "bruno");
  }

  // Inès, with an interaction and a task about her; and Hugo, about whom
  // nothing is erased.
  void make_people() {
    ines_ = must(a_->create_record("person", {{"first_name", "Inèsquarante"},
                                              {"last_name", "Martinvingt"},
                                              {"phone", "06 12 34 56 78"},
                                              {"email", "ines.quarante@example.org"}}));
    must(a_->update_record("person", ines_, {{"commune", "Roubaixsept"}}));
    note_ = must(a_->create_record("interaction", {{"person", ines_},
                                                   {"date", "2026-11-02"},
                                                   {"channel", "event"},
                                                   {"note", "Cherche un CAP cuisine"}}));
    task_ = must(a_->create_record("task", {{"title", "Rappeler"},
                                            {"due_date", "2026-12-10"},
                                            {"owner", "alice"},
                                            {"person", ines_}}));
    hugo_ = must(a_->create_record("person", person("Hugo", "Lefebvre")));
  }

  std::unique_ptr<Replica> a_, b_;
  std::string ines_, note_, task_, hugo_;
};

TEST_F(Erase, RemovesThePersonAndEveryRecordAboutThem) {
  make_people();
  const ErasureOutcome out = must(a_->erase_person(kErasure, ines_));

  EXPECT_FALSE(out.already_applied);
  EXPECT_EQ(out.records.size(), 3u);
  EXPECT_EQ(out.changes_purged, 4u);  // create + edit of Inès, the interaction, the task
  EXPECT_EQ(code_of(a_->get("person", ines_)), Errc::unknown_record);
  EXPECT_EQ(code_of(a_->get("interaction", note_)), Errc::unknown_record);
  EXPECT_EQ(code_of(a_->get("task", task_)), Errc::unknown_record);
  EXPECT_EQ(must(a_->get("person", hugo_)).fields["first_name"], "Hugo");
  EXPECT_TRUE(a_->erased(ines_));
  EXPECT_FALSE(a_->erased(hugo_));
  EXPECT_EQ(must(a_->applied_erasures()), std::vector<std::string>{kErasure});
}

TEST_F(Erase, KeepsTheLoggedChangesWithoutTheirValues) {
  make_people();
  const auto before = must(a_->history(ines_, 10));
  must(a_->erase_person(kErasure, ines_));

  const auto after = must(a_->history(ines_, 10));
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].kind, ChangeKind::erased);
    EXPECT_EQ(after[i].op_id(0), before[i].op_id(0));
    EXPECT_EQ(after[i].ops.size(), before[i].ops.size());
    for (const auto& op : after[i].ops) EXPECT_TRUE(op.value.is_null()) << op.field;
  }
}

TEST_F(Erase, LeavesNoByteOfTheValuesInTheFilesAfterTheCleanUp) {
  make_people();
  ASSERT_TRUE(file_holds(path("a"), "Martinvingt"));
  ASSERT_TRUE(file_holds(path("a"), "0612345678"));  // the phone as stored
  must(a_->erase_person(kErasure, ines_));
  must(a_->compact());

  for (const char* value : {"Inèsquarante", "Martinvingt", "ines.quarante@example.org",
                            "Roubaixsept", "Cherche un CAP cuisine", "0612345678"})
    EXPECT_FALSE(file_holds(path("a"), value)) << value;
  EXPECT_TRUE(file_holds(path("a"), "Lefebvre"));
}

TEST_F(Erase, IsIdempotent) {
  make_people();
  must(a_->erase_person(kErasure, ines_));
  const std::string digest_once = digest(*a_);

  const ErasureOutcome again = must(a_->erase_person(kErasure, ines_));

  EXPECT_TRUE(again.already_applied);
  EXPECT_EQ(digest(*a_), digest_once);
}

TEST_F(Erase, PurgesLaterChangesOfTheErasedPersonOnArrival) {
  make_people();
  sync(*a_, *b_);
  must(b_->update_record("person", ines_, {{"commune", "Tourcoingneuf"}}));
  must(a_->erase_person(kErasure, ines_));

  const ApplyStats stats = must(a_->apply(testing::missing_changes(*b_, *a_)));

  EXPECT_EQ(stats.applied, 1u);
  EXPECT_EQ(stats.purged, 1u);
  EXPECT_EQ(code_of(a_->get("person", ines_)), Errc::unknown_record);
  must(a_->compact());
  EXPECT_FALSE(file_holds(path("a"), "Tourcoingneuf"));
}

TEST_F(Erase, ErasesANewRecordThatRefersToTheErasedPerson) {
  make_people();
  sync(*a_, *b_);
  const std::string late = must(b_->create_record(
      "interaction", {{"person", ines_}, {"date", "2026-11-20"}, {"channel", "phone"}}));
  must(a_->erase_person(kErasure, ines_));

  send(*b_, *a_);

  EXPECT_EQ(code_of(a_->get("interaction", late)), Errc::unknown_record);
  EXPECT_TRUE(a_->erased(late));
}

TEST_F(Erase, UnsentLocalEditsArePurgedToo) {
  make_people();
  sync(*a_, *b_);
  must(b_->update_record("person", ines_, {{"commune", "Wattrelosdouze"}}));  // never sent

  must(b_->erase_person(kErasure, ines_));
  must(b_->compact());

  EXPECT_FALSE(file_holds(path("b"), "Wattrelosdouze"));
  for (const auto& c : must(b_->history(ines_, 10))) EXPECT_EQ(c.kind, ChangeKind::erased);
}

TEST_F(Erase, ReplicasThatAppliedTheSameErasureConverge) {
  make_people();
  sync(*a_, *b_);
  must(b_->update_record("person", ines_, {{"commune", "Lillecinq"}}));
  must(a_->update_record("person", hugo_, {{"commune", "Douai"}}));

  must(a_->erase_person(kErasure, ines_));
  must(b_->erase_person(kErasure, ines_));
  sync(*a_, *b_);

  EXPECT_EQ(digest(*a_), digest(*b_));
  EXPECT_EQ(must(b_->get("person", hugo_)).fields["commune"], "Douai");
  EXPECT_EQ(testing::missing_changes(*a_, *b_).size(), 0u);
  EXPECT_EQ(testing::missing_changes(*b_, *a_).size(), 0u);
}

TEST_F(Erase, APurgedChangeOfALiveRecordChangesNothing) {
  make_people();
  sync(*a_, *b_);
  must(b_->update_record("person", hugo_, {{"commune", "Arras"}}));
  Change purged = must(b_->history(hugo_, 1)).at(0);
  purged.kind = ChangeKind::erased;
  for (auto& op : purged.ops) op.value = nullptr;
  const std::string before = digest(*a_);

  must(a_->apply({purged}));

  EXPECT_EQ(digest(*a_), before);
  EXPECT_FALSE(a_->erased(hugo_));
}

TEST_F(Erase, RefusesAnIdThatIsNotARecordId) {
  EXPECT_EQ(code_of(a_->erase_person(kErasure, "Inès Martin")), Errc::invalid_argument);
  EXPECT_EQ(code_of(a_->erase_person("", new_uuid())), Errc::invalid_argument);
}

TEST(ErasedChangeFormat, RefusesValuesInAnErasedChange) {
  const json j = {{"origin", new_uuid()},      {"first", 1u},
                  {"hlc", "0000000000010000"}, {"author", "alice"},
                  {"entity", "person"},        {"record", new_uuid()},
                  {"kind", "erased"},          {"ops", {{{"f", "first_name"}, {"v", "Inès"}}}}};
  EXPECT_EQ(code_of(change_from_json(j, schema::Schema::builtin())), Errc::bundle_malformed);
  json ok = j;
  ok["ops"][0]["v"] = nullptr;
  auto parsed = change_from_json(ok, schema::Schema::builtin());
  ASSERT_TRUE(parsed.ok()) << testing::describe(parsed.error());
  EXPECT_EQ(parsed->kind, ChangeKind::erased);
}

TEST(ChangeFormat, RefusesCountersPastSixtyThreeBits) {
  const json j = {{"origin", new_uuid()},
                  {"first", 9223372036854775807ull},
                  {"hlc", "0000000000010000"},
                  {"author", "alice"},
                  {"entity", "person"},
                  {"record", new_uuid()},
                  {"kind", "edit"},
                  {"ops", {{{"f", "first_name"}, {"v", "A"}}, {{"f", "last_name"}, {"v", "B"}}}}};
  EXPECT_EQ(code_of(change_from_json(j, schema::Schema::builtin())), Errc::bundle_malformed);
}

}  // namespace
}  // namespace relais::store
