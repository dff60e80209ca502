// The merge of operations between replicas: per-field last-writer-wins by
// hybrid logical clock, conflicts kept until settled, sticky deletes, and
// convergence whatever the order or repetition of delivery.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "fake_clock.h"
#include "relais/store/replica.h"
#include "replicas.h"

namespace relais::store {
namespace {

using nlohmann::json;
using testing::FakeWallClock;
using testing::must;
using testing::person;
using testing::sync;
using testing::to_json;

// Two replicas of one site, alice's and bruno's, on one fake wall clock that
// only moves when a test calls later(): who edited last is then up to the test.
class Merge : public testing::ReplicaTest {
 protected:
  void SetUp() override {
    a_ = make("a", "alice", wall_.fn());
    b_ = make("b", "bruno", wall_.fn());
  }

  // A person created on a and already known to b.
  std::string shared_person() {
    const std::string id = must(a_->create_record("person", person("Inès", "Martin")));
    sync(*a_, *b_);
    later();
    return id;
  }

  void later() { wall_.advance(1000); }

  static void edit(Replica& r, const std::string& id, const json& fields) {
    must(r.update_record("person", id, fields));
  }
  static json field(Replica& r, const std::string& id, const std::string& name) {
    return must(r.get("person", id)).fields.value(name, json());
  }
  static std::vector<Conflict> conflicts(Replica& r) { return must(r.conflicts()); }
  static Change newest_change(Replica& r, const std::string& id) {
    return must(r.history(id, 1)).at(0);
  }

  // Both replicas show the same state (digests include open conflicts).
  void expect_converged() {
    EXPECT_EQ(digest(*a_), digest(*b_));
    EXPECT_EQ(to_json(conflicts(*a_)), to_json(conflicts(*b_)));
  }

  // a sets commune to "Lille" and then, without seeing it, b to "Roubaix".
  std::string concurrent_communes() {
    const std::string id = shared_person();
    edit(*a_, id, {{"commune", "Lille"}});
    later();
    edit(*b_, id, {{"commune", "Roubaix"}});
    sync(*a_, *b_);
    return id;
  }

  FakeWallClock wall_;
  std::unique_ptr<Replica> a_, b_;
};

TEST_F(Merge, ConcurrentEditsOfDifferentFieldsBothSurvive) {
  const std::string id = shared_person();
  edit(*a_, id, {{"commune", "Lille"}});
  edit(*b_, id, {{"phone", "06 12 34 56 78"}});

  sync(*a_, *b_);

  for (Replica* r : {a_.get(), b_.get()}) {
    EXPECT_EQ(field(*r, id, "commune"), "Lille");
    EXPECT_EQ(field(*r, id, "phone"), "0612345678");
    EXPECT_EQ(field(*r, id, "first_name"), "Inès");
    EXPECT_TRUE(conflicts(*r).empty());
  }
  expect_converged();
}

TEST_F(Merge, ConcurrentEditsOfOneFieldKeepAConflict) {
  const std::string id = shared_person();
  edit(*a_, id, {{"commune", "Lille"}});
  const Change lille = newest_change(*a_, id);
  later();
  edit(*b_, id, {{"commune", "Roubaix"}});
  const Change roubaix = newest_change(*b_, id);

  sync(*a_, *b_);

  for (Replica* r : {a_.get(), b_.get()}) {
    EXPECT_EQ(field(*r, id, "commune"), "Roubaix");  // the later clock wins
    const auto open = conflicts(*r);
    ASSERT_EQ(open.size(), 1u);
    EXPECT_EQ(open[0].entity, "person");
    EXPECT_EQ(open[0].record, id);
    EXPECT_EQ(open[0].field, "commune");
    ASSERT_EQ(open[0].values.size(), 2u);
    const ConflictValue& won = open[0].values[0];
    const ConflictValue& lost = open[0].values[1];
    EXPECT_EQ(won.value, "Roubaix");
    EXPECT_EQ(won.author, "bruno");
    EXPECT_EQ(won.hlc, roubaix.hlc);
    EXPECT_EQ(won.op, roubaix.op_id(0));
    EXPECT_EQ(lost.value, "Lille");
    EXPECT_EQ(lost.author, "alice");
    EXPECT_EQ(lost.hlc, lille.hlc);
    EXPECT_EQ(lost.op, lille.op_id(0));
  }
  expect_converged();
}

TEST_F(Merge, TheSameValueSetConcurrentlyIsNoConflict) {
  const std::string id = shared_person();
  edit(*a_, id, {{"commune", "Lille"}});
  edit(*b_, id, {{"commune", "Lille"}});

  sync(*a_, *b_);

  EXPECT_TRUE(conflicts(*a_).empty());
  EXPECT_TRUE(conflicts(*b_).empty());
  EXPECT_EQ(field(*b_, id, "commune"), "Lille");
  expect_converged();
}

TEST_F(Merge, AnEditMadeAfterSeeingAnotherIsNoConflict) {
  const std::string id = shared_person();
  edit(*a_, id, {{"commune", "Lille"}});
  const OpId lille = newest_change(*a_, id).op_id(0);
  sync(*a_, *b_);
  edit(*b_, id, {{"commune", "Roubaix"}});

  sync(*a_, *b_);

  EXPECT_EQ(newest_change(*b_, id).ops.at(0).prev, std::vector<OpId>{lille})
      << "b's edit names the value it replaced";
  EXPECT_EQ(field(*a_, id, "commune"), "Roubaix");
  EXPECT_TRUE(conflicts(*a_).empty());
  expect_converged();
}

TEST_F(Merge, AnEditWithAnOlderClockMadeAfterSeeingAnotherStillWins) {
  const std::string id = shared_person();
  later();
  edit(*a_, id, {{"commune", "Lille"}});
  sync(*a_, *b_);
  wall_.set(wall_.ms() - 5000);  // b's device runs behind: its clock must not lose the edit
  edit(*b_, id, {{"commune", "Roubaix"}});

  sync(*a_, *b_);

  EXPECT_EQ(field(*a_, id, "commune"), "Roubaix");
  expect_converged();
}

TEST_F(Merge, SettlingEndsTheConflictOnEveryReplica) {
  const std::string id = concurrent_communes();
  const auto heads = conflicts(*a_).at(0).values;

  must(a_->settle(id, "commune", "Lille"));

  const Change settle = newest_change(*a_, id);
  EXPECT_EQ(settle.kind, ChangeKind::settle);
  EXPECT_EQ(settle.author, "alice");
  ASSERT_EQ(settle.ops.size(), 1u);
  EXPECT_EQ(settle.ops[0].field, "commune");
  EXPECT_EQ(settle.ops[0].value, "Lille");
  std::vector<OpId> named = settle.ops[0].prev;
  std::sort(named.begin(), named.end());
  std::vector<OpId> expected = {heads[0].op, heads[1].op};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(named, expected);
  EXPECT_TRUE(conflicts(*a_).empty());

  sync(*a_, *b_);

  EXPECT_TRUE(conflicts(*b_).empty());
  EXPECT_EQ(field(*b_, id, "commune"), "Lille");
  EXPECT_EQ(newest_change(*b_, id).kind, ChangeKind::settle);
  expect_converged();
}

TEST_F(Merge, SettlingWithAThirdValueIsAllowed) {
  const std::string id = concurrent_communes();
  must(b_->settle(id, "commune", "Tourcoing"));
  sync(*a_, *b_);
  EXPECT_EQ(field(*a_, id, "commune"), "Tourcoing");
  EXPECT_TRUE(conflicts(*a_).empty());
  expect_converged();
}

TEST_F(Merge, SettlingAFieldWithoutConflictIsRefused) {
  const std::string id = concurrent_communes();
  EXPECT_EQ(testing::code_of(a_->settle(id, "phone", "0612345678")), Errc::no_such_conflict);
  must(a_->settle(id, "commune", "Lille"));
  EXPECT_EQ(testing::code_of(a_->settle(id, "commune", "Lille")), Errc::no_such_conflict);
}

TEST_F(Merge, ConcurrentSettlesOfOneConflictLeaveANewConflict) {
  const std::string id = concurrent_communes();
  must(a_->settle(id, "commune", "Lille"));
  later();
  must(b_->settle(id, "commune", "Roubaix"));

  sync(*a_, *b_);

  ASSERT_EQ(conflicts(*a_).size(), 1u);
  EXPECT_EQ(conflicts(*a_)[0].values[0].value, "Roubaix");
  expect_converged();
}

TEST_F(Merge, ALocalEditOfAFieldInConflictReplacesAllItsValues) {
  const std::string id = concurrent_communes();
  const auto heads = conflicts(*b_).at(0).values;

  edit(*b_, id, {{"commune", "Douai"}});

  std::vector<OpId> named = newest_change(*b_, id).ops.at(0).prev;
  EXPECT_EQ(named.size(), 2u);
  for (const auto& h : heads)
    EXPECT_NE(std::find(named.begin(), named.end(), h.op), named.end()) << h.op.str();
  EXPECT_TRUE(conflicts(*b_).empty());
  sync(*a_, *b_);
  EXPECT_EQ(field(*a_, id, "commune"), "Douai");
  EXPECT_TRUE(conflicts(*a_).empty());
  expect_converged();
}

TEST_F(Merge, ClearingAFieldConcurrentlyWithAnEditIsAConflict) {
  const std::string id = shared_person();
  edit(*a_, id, {{"commune", "Lille"}});
  sync(*a_, *b_);
  later();
  edit(*a_, id, {{"commune", nullptr}});
  later();
  edit(*b_, id, {{"commune", "Roubaix"}});

  sync(*a_, *b_);

  ASSERT_EQ(conflicts(*a_).size(), 1u);
  EXPECT_EQ(conflicts(*a_)[0].values[1].value, nullptr);
  EXPECT_EQ(field(*a_, id, "commune"), "Roubaix");
  expect_converged();
}

TEST_F(Merge, AnEditOfOneSideOfAConflictKeepsTheConflictWithTheOtherSide) {
  const std::string id = shared_person();
  auto c = make("c", "chloe", wall_.fn());
  testing::send(*a_, *c);
  edit(*a_, id, {{"commune", "Lille"}});
  later();
  edit(*b_, id, {{"commune", "Roubaix"}});
  testing::send(*b_, *c);
  later();
  edit(*c, id, {{"commune", "Douai"}});  // c saw Roubaix only: it replaces Roubaix, not Lille

  sync(*a_, *b_);
  sync(*a_, *c);
  sync(*b_, *c);

  const auto open = conflicts(*a_);
  ASSERT_EQ(open.size(), 1u);
  ASSERT_EQ(open[0].values.size(), 2u);
  EXPECT_EQ(open[0].values[0].value, "Douai");
  EXPECT_EQ(open[0].values[1].value, "Lille");
  EXPECT_EQ(digest(*c), digest(*a_));
  expect_converged();
}

TEST_F(Merge, ApplyingTheSameChangesTwiceIsANoOp) {
  const std::string id = must(a_->create_record("person", person("Inès", "Martin")));
  edit(*a_, id, {{"commune", "Lille"}});
  must(a_->delete_record("person", must(a_->create_record("person", person("Léo", "Petit")))));
  const auto changes = testing::missing_changes(*a_, *b_);
  ASSERT_EQ(changes.size(), 4u);

  const ApplyStats first = must(b_->apply(changes));
  const std::string after_first = digest(*b_);
  const Knowledge known = b_->knowledge();
  const ApplyStats second = must(b_->apply(changes));

  EXPECT_EQ(first.applied, 4u);
  EXPECT_EQ(first.duplicates, 0u);
  EXPECT_EQ(second.applied, 0u);
  EXPECT_EQ(second.duplicates, 4u);
  EXPECT_EQ(digest(*b_), after_first);
  EXPECT_EQ(b_->knowledge(), known);
  EXPECT_EQ(history_size(*b_), 4u);
  EXPECT_EQ(digest(*b_), digest(*a_));
}

TEST_F(Merge, HeldIdsWithOtherContentAreRefusedWithTheirWholeBatch) {
  const std::string id = must(a_->create_record("person", person("Inès", "Martin")));
  edit(*a_, id, {{"commune", "Lille"}});
  auto changes = testing::missing_changes(*a_, *b_);
  ASSERT_EQ(changes.size(), 2u);
  must(b_->apply(changes));
  const std::string before = digest(*b_);
  const std::string fresh = must(a_->create_record("person", person("Léo", "Petit")));
  const Change next = testing::missing_changes(*a_, *b_).at(0);

  Change same_ids = changes[1];  // the edit, its value changed
  same_ids.ops.at(0).value = "Roubaix";
  Change other_bounds = changes[0];  // the creation, one operation short
  other_bounds.ops.pop_back();
  Change other_clock = changes[1];
  other_clock.hlc += 1;

  for (const Change& forged : {same_ids, other_bounds, other_clock}) {
    EXPECT_EQ(testing::code_of(b_->apply({next, forged})), Errc::op_id_overlap);
    EXPECT_EQ(digest(*b_), before);
    EXPECT_EQ(testing::code_of(b_->get("person", fresh)), Errc::unknown_record);
  }
  EXPECT_EQ(must(b_->apply({next, changes[1]})).duplicates, 1u);
}

TEST_F(Merge, ChangesSplitAcrossBatchesAndRepeatedAreCountedOnce) {
  const std::string id = must(a_->create_record("person", person("Inès", "Martin")));
  for (const char* town : {"Lille", "Roubaix", "Douai"}) edit(*a_, id, {{"commune", town}});
  auto changes = testing::missing_changes(*a_, *b_);

  must(b_->apply({changes[2], changes[0]}));
  const ApplyStats rest = must(b_->apply(changes));

  EXPECT_EQ(rest.applied, 2u);
  EXPECT_EQ(rest.duplicates, 2u);
  EXPECT_EQ(b_->knowledge(), a_->knowledge());
  EXPECT_EQ(digest(*b_), digest(*a_));
}

TEST_F(Merge, ApplyingInAnyOrderGivesTheSameState) {
  const std::string id = concurrent_communes();
  edit(*a_, id, {{"phone", "0612345678"}, {"interests", {"retail"}}});
  const std::string other = must(b_->create_record("person", person("Léo", "Petit")));
  later();
  edit(*b_, id, {{"interests", {"care", "digital"}}});
  must(b_->delete_record("person", other));
  sync(*a_, *b_);
  const auto changes = testing::missing_changes(*a_, *make("empty"));
  ASSERT_GE(changes.size(), 7u);

  std::mt19937 rng(7);
  for (int round = 0; round < 6; ++round) {
    auto order = changes;
    if (round == 1) std::reverse(order.begin(), order.end());
    if (round > 1) std::shuffle(order.begin(), order.end(), rng);
    auto r = make("order" + std::to_string(round));
    for (const Change& c : order) must(r->apply({c}));
    EXPECT_EQ(digest(*r), digest(*a_)) << "round " << round;
    EXPECT_EQ(to_json(conflicts(*r)), to_json(conflicts(*a_))) << "round " << round;
  }
  expect_converged();
}

TEST_F(Merge, DeleteIsATombstoneThatAConcurrentEditDoesNotUndo) {
  const std::string id = shared_person();
  must(a_->delete_record("person", id));
  later();
  edit(*b_, id, {{"commune", "Lille"}});  // b has not heard of the delete

  sync(*a_, *b_);

  for (Replica* r : {a_.get(), b_.get()}) {
    EXPECT_TRUE(must(r->get("person", id)).deleted);
    EXPECT_TRUE(must(r->list("person", 100)).empty());
    EXPECT_EQ(must(r->counts()).at("person"), 0);
  }
  EXPECT_EQ(testing::code_of(b_->update_record("person", id, {{"commune", "Douai"}})),
            Errc::record_deleted);
  EXPECT_EQ(testing::code_of(b_->delete_record("person", id)), Errc::record_deleted);
  expect_converged();
}

TEST_F(Merge, ADeleteSurvivesTheRebuildOfItsRecord) {
  const std::string id = shared_person();
  edit(*a_, id, {{"commune", "Lille"}});
  sync(*a_, *b_);
  edit(*a_, id, {{"commune", "Douai"}});
  must(a_->delete_record("person", id));
  later();
  edit(*b_, id, {{"commune", "Roubaix"}});  // concurrent with Douai: each side rebuilds the row

  sync(*a_, *b_);

  EXPECT_TRUE(must(a_->get("person", id)).deleted);
  EXPECT_TRUE(must(b_->get("person", id)).deleted);
  expect_converged();
}

TEST_F(Merge, ADeleteArrivingAfterLaterEditsStillWins) {
  const std::string id = shared_person();
  must(b_->delete_record("person", id));
  later();
  for (const char* town : {"Lille", "Roubaix"}) edit(*a_, id, {{"commune", town}});

  const auto b_changes = testing::missing_changes(*b_, *a_);
  must(a_->apply(b_changes));

  EXPECT_TRUE(must(a_->get("person", id)).deleted);
  sync(*a_, *b_);
  expect_converged();
}

TEST_F(Merge, AnEditArrivingBeforeItsRecordsCreationConverges) {
  const std::string id = shared_person();
  edit(*b_, id, {{"commune", "Roubaix"}, {"first_name", "Inés"}});
  auto changes = testing::missing_changes(*b_, *make("empty"));
  ASSERT_EQ(changes.size(), 2u);
  if (changes[0].origin != b_->info().replica_id) std::swap(changes[0], changes[1]);
  auto c = make("c");

  must(c->apply({changes[0]}));  // b's edit, naming ops c does not hold yet
  must(c->apply({changes[1]}));  // then a's creation

  const Record r = must(c->get("person", id));
  EXPECT_EQ(r.fields.value("first_name", json()), "Inés");
  EXPECT_EQ(r.fields.value("last_name", json()), "Martin");
  EXPECT_EQ(r.fields.value("commune", json()), "Roubaix");
  EXPECT_TRUE(conflicts(*c).empty());
  EXPECT_EQ(digest(*c), digest(*b_));
}

TEST_F(Merge, EqualClocksAreBrokenByReplicaIdTheSameWayEverywhere) {
  // The wall clock never moves here: both edits get the same timestamp. Each
  // replica logs its own change first, so they number their origins differently.
  const std::string id = must(a_->create_record("person", person("Inès", "Martin")));
  must(b_->create_record("person", person("Léo", "Petit")));
  sync(*a_, *b_);
  edit(*a_, id, {{"commune", "Lille"}});
  edit(*b_, id, {{"commune", "Roubaix"}});
  ASSERT_EQ(newest_change(*a_, id).hlc, newest_change(*b_, id).hlc);

  sync(*a_, *b_);

  const bool a_wins = a_->info().replica_id > b_->info().replica_id;
  const json winner = a_wins ? "Lille" : "Roubaix";
  for (Replica* r : {a_.get(), b_.get()}) {
    EXPECT_EQ(field(*r, id, "commune"), winner);
    const auto open = conflicts(*r);
    ASSERT_EQ(open.size(), 1u);
    EXPECT_EQ(open[0].values[0].value, winner);
    EXPECT_EQ(open[0].values[0].hlc, open[0].values[1].hlc);
  }
  expect_converged();
}

TEST_F(Merge, ReceivingChangesMovesTheLocalClockPastThem) {
  const std::string id = shared_person();
  const std::uint64_t a_edit = (edit(*a_, id, {{"commune", "Lille"}}), newest_change(*a_, id).hlc);
  wall_.set(wall_.ms() - 60'000);
  sync(*a_, *b_);

  edit(*b_, id, {{"commune", "Roubaix"}});

  EXPECT_GT(newest_change(*b_, id).hlc, a_edit);
}

}  // namespace
}  // namespace relais::store
