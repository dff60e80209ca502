// The replica file: life cycle, local edits and their log, refusals that
// change nothing, and schema migrations.
#include "relais/store/replica.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "fake_clock.h"
#include "relais/schema/validate.h"
#include "relais/store/ids.h"
#include "replicas.h"

namespace relais::store {
namespace {

using nlohmann::json;
using schema::Schema;
using testing::code_of;
using testing::must;
using testing::person;

using ReplicaFile = testing::ReplicaTest;

TEST_F(ReplicaFile, CreateMakesAnEmptyReplicaWithItsIdentity) {
  auto r = make("r", "alice");

  EXPECT_TRUE(schema::is_uuid(r->info().replica_id));
  EXPECT_EQ(r->info().site, "nord");
  EXPECT_EQ(r->info().user, "alice");
  EXPECT_EQ(r->info().schema_version, Schema::builtin().version());
  EXPECT_EQ(history_size(*r), 0u);
  EXPECT_TRUE(r->knowledge().empty());
  EXPECT_TRUE(must(r->conflicts()).empty());
  for (const auto& [entity, count] : must(r->counts())) EXPECT_EQ(count, 0) << entity;
}

TEST_F(ReplicaFile, ANewReplicaIsReadableByItsOwnerOnly) {
  const mode_t before = ::umask(022);
  auto r = make("r");
  ::umask(before);
  must(r->create_record("person", person("Inès", "Martin")));  // the WAL holds it now
  namespace fs = std::filesystem;
  for (const std::string& file : {path("r"), path("r") + "-wal"}) {
    ASSERT_TRUE(fs::exists(file)) << file;
    EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write)
        << file;
  }
}

TEST_F(ReplicaFile, CreateRefusesAnExistingPath) {
  auto first = make("r");
  auto again = Replica::create(path("r"), "nord", "alice", Schema::builtin());
  EXPECT_EQ(code_of(again), Errc::replica_exists);
  std::ofstream(path("stray")) << "not empty";
  EXPECT_EQ(code_of(Replica::create(path("stray"), "nord", "alice", Schema::builtin())),
            Errc::replica_exists);
}

TEST_F(ReplicaFile, CreateRefusesAnEmptySiteOrUser) {
  EXPECT_EQ(code_of(Replica::create(path("a"), "", "alice", Schema::builtin())),
            Errc::invalid_argument);
  EXPECT_EQ(code_of(Replica::create(path("b"), "nord", "", Schema::builtin())),
            Errc::invalid_argument);
}

TEST_F(ReplicaFile, OpenOfAMissingFileIsReplicaMissing) {
  EXPECT_EQ(code_of(Replica::open(path("nowhere"), Schema::builtin())), Errc::replica_missing);
}

TEST_F(ReplicaFile, OpenOfAFileThatIsNoReplicaFails) {
  std::ofstream(path("junk")) << std::string(4096, 'x');
  EXPECT_FALSE(Replica::open(path("junk"), Schema::builtin()).ok());
}

TEST_F(ReplicaFile, ReopenFindsRecordsHistoryAndIdentity) {
  auto r = make("r", "alice");
  const std::string id = must(r->create_record("person", person("Inès", "Martin")));
  const std::string before = digest(*r);
  const ReplicaInfo info = r->info();
  const Knowledge known = r->knowledge();
  r.reset();

  auto again = reopen("r");

  EXPECT_EQ(again->info().replica_id, info.replica_id);
  EXPECT_EQ(again->info().user, "alice");
  EXPECT_EQ(digest(*again), before);
  EXPECT_EQ(again->knowledge(), known);
  EXPECT_EQ(must(again->get("person", id)).fields["first_name"], "Inès");
  EXPECT_EQ(history_size(*again), 1u);
}

TEST_F(ReplicaFile, CountersAndClockCarryOnAfterReopen) {
  testing::FakeWallClock wall;
  auto r = make("r", "alice", wall.fn());
  const std::string id = must(r->create_record("person", person("Inès", "Martin")));
  const Change created = must(r->history(id, 1)).at(0);
  r.reset();
  wall.set(wall.ms() - 3'600'000);  // the device's clock went back meanwhile

  auto again = must(Replica::open(path("r"), Schema::builtin(), wall.fn()));
  must(again->update_record("person", id, {{"commune", "Lille"}}));

  const Change edited = must(again->history(id, 1)).at(0);
  EXPECT_EQ(edited.first, created.last() + 1);
  EXPECT_GT(edited.hlc, created.hlc);
}

TEST_F(ReplicaFile, AtomicallyKeepsAllTheEditsOrNoneOfThem) {
  auto r = make("r", "alice");
  const std::string before = must(r->digest());
  std::string first;

  const Status failed = r->atomically([&]() -> Status {
    auto made = r->create_record("person", person("Inès", "Martin"));
    if (!made) return made.error();
    first = *made;
    // Refused: the event it names does not exist.
    auto meeting = r->create_record(
        "interaction",
        {{"person", first}, {"date", "2026-12-03"}, {"channel", "event"}, {"event", new_uuid()}});
    if (!meeting) return meeting.error();
    return Status::Ok();
  });

  EXPECT_EQ(code_of(failed), Errc::unknown_record);
  EXPECT_EQ(must(r->digest()), before);
  EXPECT_EQ(code_of(r->get("person", first)), Errc::unknown_record);
  EXPECT_TRUE(must(r->history(std::nullopt, 10)).empty());
  // The counter was not used up: the next edit takes the first one.
  const std::string kept = must(r->create_record("person", person("Hugo", "Petit")));
  EXPECT_EQ(must(r->history(kept, 1)).at(0).first, 1u);

  std::string a, b;
  RELAIS_EXPECT_OK(r->atomically([&]() -> Status {
    a = must(r->create_record("person", person("Lina", "Benali")));
    b = must(r->create_record("person", person("Sami", "Benali")));
    return r->atomically([&] { return r->update_record("person", a, {{"commune", "Lyon"}}); });
  }));
  EXPECT_EQ(must(r->get("person", a)).fields.at("commune"), "Lyon");
  EXPECT_FALSE(must(r->get("person", b)).deleted);
  auto reopened = reopen("r");
  EXPECT_EQ(must(reopened->history(std::nullopt, 10)).size(), 4u);
}

TEST_F(ReplicaFile, ReadsSeeReplicasThatAnotherConnectionMergedIn) {
  // `relais serve` reads through one connection while its background sync
  // merges through another: the first must know the origins the second adds.
  auto served = make("r", "alice");
  const std::string id = must(served->create_record("person", person("Inès", "Martin")));
  auto laptop = make("laptop", "karim");
  testing::send(*served, *laptop);
  must(laptop->update_record("person", id, {{"phone", "0622222222"}}));
  must(served->update_record("person", id, {{"phone", "0633333333"}}));
  const std::string laptop_id = laptop->info().replica_id;
  {
    auto sync_connection = reopen("r");
    testing::send(*laptop, *sync_connection);
  }

  const auto conflicts = must(served->conflicts());
  ASSERT_EQ(conflicts.size(), 1u);
  std::set<std::string> origins;
  for (const auto& v : conflicts[0].values) origins.insert(v.op.replica);
  EXPECT_EQ(origins, (std::set<std::string>{served->info().replica_id, laptop_id}));
  const auto history = must(served->history(id, 10));
  EXPECT_TRUE(std::any_of(history.begin(), history.end(),
                          [&](const Change& c) { return c.origin == laptop_id; }));
  EXPECT_TRUE(must(served->change(laptop_id, 1)).has_value());
}

TEST_F(ReplicaFile, ALocalEditIsLoggedAsOneChange) {
  auto r = make("r", "alice");

  const std::string id = must(r->create_record(
      "person", {{"last_name", "Martin"}, {"first_name", " Inès "}, {"email", "I@X.FR"}}));

  const auto log = must(r->history({}, 10));
  ASSERT_EQ(log.size(), 1u);
  const Change& c = log[0];
  EXPECT_EQ(c.origin, r->info().replica_id);
  EXPECT_EQ(c.first, 1u);
  EXPECT_EQ(c.author, "alice");
  EXPECT_EQ(c.entity, "person");
  EXPECT_EQ(c.record, id);
  EXPECT_EQ(c.kind, ChangeKind::edit);
  EXPECT_GT(c.hlc, 0u);
  ASSERT_EQ(c.ops.size(), 4u);  // schema order, normalised, site filled in
  EXPECT_EQ(c.ops[0].field, "first_name");
  EXPECT_EQ(c.ops[0].value, "Inès");
  EXPECT_EQ(c.ops[1].field, "last_name");
  EXPECT_EQ(c.ops[2].field, "email");
  EXPECT_EQ(c.ops[2].value, "i@x.fr");
  EXPECT_EQ(c.ops[3].field, "site");
  EXPECT_EQ(c.ops[3].value, "nord");
  for (const auto& op : c.ops) EXPECT_TRUE(op.prev.empty()) << op.field;
  EXPECT_EQ(r->knowledge(), (Knowledge{{r->info().replica_id, 4}}));
}

TEST_F(ReplicaFile, UpdateAndDeleteAreLoggedNamingWhatTheyReplace) {
  auto r = make("r");
  const std::string id = must(r->create_record("person", person("Inès", "Martin")));
  const Change created = must(r->history(id, 1)).at(0);

  must(r->update_record("person", id, {{"first_name", "Inés"}, {"commune", "Lille"}}));
  must(r->delete_record("person", id));

  const auto log = must(r->history(id, 10));
  ASSERT_EQ(log.size(), 3u);
  const Change& update = log[1];
  ASSERT_EQ(update.ops.size(), 2u);
  EXPECT_EQ(update.ops[0].prev, std::vector<OpId>{created.op_id(0)});
  EXPECT_TRUE(update.ops[1].prev.empty()) << "commune had no value before";
  EXPECT_EQ(log[0].kind, ChangeKind::remove);
  ASSERT_EQ(log[0].ops.size(), 1u);
  EXPECT_EQ(log[0].ops[0].field, kDeletedField);
  EXPECT_EQ(log[0].ops[0].value, true);
  EXPECT_TRUE(must(r->get("person", id)).deleted);
}

TEST_F(ReplicaFile, ListReturnsLiveRecordsInCreationOrderUpToTheLimit) {
  auto r = make("r");
  std::vector<std::string> ids;
  for (const char* name : {"Ana", "Bea", "Cid", "Dan"})
    ids.push_back(must(r->create_record("person", person(name, "X"))));
  must(r->delete_record("person", ids[1]));

  const auto live = must(r->list("person", 2));

  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].id, ids[0]);
  EXPECT_EQ(live[1].id, ids[2]);
  EXPECT_EQ(must(r->counts()).at("person"), 3);
}

// Refused edits: each returns its code and leaves the replica as it was.
class ReplicaRefusal : public testing::ReplicaTest {
 protected:
  void SetUp() override {
    r_ = make("r");
    alive_ = must(r_->create_record("person", person("Inès", "Martin")));
    gone_ = must(r_->create_record("person", person("Léo", "Petit")));
    must(r_->delete_record("person", gone_));
    digest_ = digest(*r_);
    history_ = history_size(*r_);
    known_ = r_->knowledge();
  }

  template <class R>
  void expect_refused(const R& result, Errc code) {
    EXPECT_EQ(code_of(result), code);
    EXPECT_EQ(digest(*r_), digest_);
    EXPECT_EQ(history_size(*r_), history_);
    EXPECT_EQ(r_->knowledge(), known_);
  }

  std::unique_ptr<Replica> r_;
  std::string alive_, gone_, digest_;
  std::size_t history_ = 0;
  Knowledge known_;
};

TEST_F(ReplicaRefusal, UnknownEntity) {
  expect_refused(r_->create_record("company", {{"name", "Acme"}}), Errc::unknown_entity);
  expect_refused(r_->update_record("company", alive_, {{"name", "Acme"}}), Errc::unknown_entity);
  expect_refused(r_->delete_record("company", alive_), Errc::unknown_entity);
}

TEST_F(ReplicaRefusal, UnknownField) {
  json fields = person("Ana", "X");
  fields["shoe_size"] = "42";
  expect_refused(r_->create_record("person", fields), Errc::unknown_field);
  expect_refused(r_->update_record("person", alive_, {{"shoe_size", "42"}}), Errc::unknown_field);
  expect_refused(r_->update_record("person", alive_, {{"_deleted", false}}), Errc::unknown_field);
}

TEST_F(ReplicaRefusal, WrongType) {
  expect_refused(r_->create_record("person", {{"first_name", 7}, {"last_name", "X"}}),
                 Errc::wrong_type);
  expect_refused(r_->update_record("person", alive_, {{"interests", "retail"}}), Errc::wrong_type);
  expect_refused(r_->update_record("person", alive_, json::array()), Errc::wrong_type);
}

TEST_F(ReplicaRefusal, ValueNotAllowed) {
  expect_refused(r_->update_record("person", alive_, {{"situation", "astronaut"}}),
                 Errc::value_not_allowed);
  expect_refused(r_->update_record("person", alive_, {{"commune", "Lille"}, {"age_band", "99"}}),
                 Errc::value_not_allowed);
}

TEST_F(ReplicaRefusal, InvalidFormatOrTooLong) {
  expect_refused(r_->update_record("person", alive_, {{"birth_date", "2025-02-30"}}),
                 Errc::invalid_format);
  expect_refused(r_->update_record("person", alive_, {{"commune", std::string(81, 'x')}}),
                 Errc::value_too_long);
}

TEST_F(ReplicaRefusal, MissingRequiredField) {
  expect_refused(r_->create_record("person", {{"first_name", "Ana"}}), Errc::missing_required);
  expect_refused(r_->create_record("person", {{"first_name", "Ana"}, {"last_name", "  "}}),
                 Errc::missing_required);
  expect_refused(r_->update_record("person", alive_, {{"last_name", nullptr}}),
                 Errc::missing_required);
}

TEST_F(ReplicaRefusal, UnknownReferencedRecord) {
  expect_refused(r_->update_record("person", alive_, {{"met_at", new_uuid()}}),
                 Errc::unknown_record);
  const json note = {{"person", gone_}, {"date", "2025-03-01"}, {"channel", "phone"}};
  expect_refused(r_->create_record("interaction", note), Errc::unknown_record);
}

TEST_F(ReplicaRefusal, EditOfADeletedRecord) {
  expect_refused(r_->update_record("person", gone_, {{"commune", "Lille"}}), Errc::record_deleted);
  expect_refused(r_->delete_record("person", gone_), Errc::record_deleted);
}

TEST_F(ReplicaRefusal, EditOfAnUnknownRecord) {
  expect_refused(r_->update_record("person", new_uuid(), {{"commune", "Lille"}}),
                 Errc::unknown_record);
  expect_refused(r_->delete_record("person", new_uuid()), Errc::unknown_record);
  expect_refused(r_->update_record("event", alive_, {{"title", "Forum"}}), Errc::unknown_record);
}

TEST_F(ReplicaRefusal, EmptyUpdate) {
  expect_refused(r_->update_record("person", alive_, json::object()), Errc::invalid_argument);
}

TEST_F(ReplicaRefusal, RefusalsLeaveNoGapInTheCounters) {
  (void)r_->update_record("person", alive_, {{"situation", "astronaut"}});
  (void)r_->create_record("person", {{"first_name", "Ana"}});

  must(r_->update_record("person", alive_, {{"commune", "Lille"}}));

  EXPECT_EQ(must(r_->history(alive_, 1)).at(0).first, known_.at(r_->info().replica_id) + 1);
}

TEST_F(ReplicaRefusal, AReferenceToALiveRecordIsAccepted) {
  const json note = {{"person", alive_}, {"date", "2025-03-01"}, {"channel", "phone"}};
  const std::string id = must(r_->create_record("interaction", note));
  EXPECT_EQ(must(r_->get("interaction", id)).fields["person"], alive_);
}

// Migrations: a replica made by an older program is brought up to date on open.
class ReplicaMigration : public testing::ReplicaTest {
 protected:
  const Schema v1_ = Schema::builtin().at_version(1);
};

TEST_F(ReplicaMigration, OpeningAnOlderReplicaMigratesItAndKeepsEverything) {
  auto old = make("r", "alice", HybridClock::system_wall_ms, v1_);
  ASSERT_EQ(old->info().schema_version, 1);
  const std::string id = must(old->create_record("person", person("Inès", "Martin")));
  const json task = {{"title", "Rappeler"}, {"due_date", "2025-03-01"}, {"owner", "alice"}};
  const std::string task_id = must(old->create_record("task", task));
  EXPECT_EQ(code_of(old->update_record("person", id, {{"preferred_contact", "sms"}})),
            Errc::unknown_field);
  const Record before = must(old->get("person", id));
  const std::size_t logged = history_size(*old);
  old.reset();

  auto now = reopen("r");

  EXPECT_EQ(now->info().schema_version, Schema::builtin().version());
  EXPECT_EQ(must(now->get("person", id)).fields, before.fields);
  EXPECT_EQ(history_size(*now), logged);
  must(now->update_record("person", id, {{"preferred_contact", "sms"}}));
  must(now->update_record("task", task_id, {{"priority", "high"}}));
  EXPECT_EQ(must(now->get("person", id)).fields["preferred_contact"], "sms");
  EXPECT_EQ(must(now->get("task", task_id)).fields["priority"], "high");
  now.reset();
  EXPECT_EQ(reopen("r")->info().schema_version, Schema::builtin().version());
}

TEST_F(ReplicaMigration, AMigratedReplicaConvergesWithANewOne) {
  auto old = make("old", "alice", HybridClock::system_wall_ms, v1_);
  const std::string id = must(old->create_record("person", person("Inès", "Martin")));
  old.reset();
  auto migrated = reopen("old");
  auto fresh = make("fresh");

  testing::sync(*migrated, *fresh);
  must(fresh->update_record("person", id, {{"preferred_contact", "email"}}));
  testing::sync(*migrated, *fresh);

  EXPECT_EQ(must(migrated->get("person", id)).fields["preferred_contact"], "email");
  EXPECT_EQ(digest(*migrated), digest(*fresh));
}

TEST_F(ReplicaMigration, AReplicaOfANewerSchemaIsRefused) {
  auto r = make("r");
  const std::string id = must(r->create_record("person", person("Inès", "Martin")));
  r.reset();

  EXPECT_EQ(code_of(Replica::open(path("r"), v1_)), Errc::replica_newer_schema);

  auto again = reopen("r");  // the refusal left the file as it was
  EXPECT_EQ(again->info().schema_version, Schema::builtin().version());
  EXPECT_EQ(must(again->get("person", id)).fields["last_name"], "Martin");
}

}  // namespace
}  // namespace relais::store
