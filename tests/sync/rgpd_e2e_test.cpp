// The right to erasure end to end: a real relais-server, `relais-server rgpd
// erase` run as its own process beside it, replicas that apply the erasure
// when they next connect, and the raw bytes of every SQLite file searched
// afterwards.
#include <filesystem>
#include <fstream>
#include <iterator>

#include "sync_fixture.h"

namespace relais::testing {
namespace {

// Values given to the erased person, each found nowhere else in the test.
const std::vector<std::string> kInesValues = {"Inesquarantedeux",
                                              "Martinsoixante",
                                              "ines.qd@example.org",
                                              "Roubaixtrentetrois",
                                              "Cherche un CAP boulangerie",
                                              "Tourcoingseptante",
                                              "Rappel apres le forum des metiers"};

class RgpdEndToEnd : public SyncEndToEnd {
 protected:
  void SetUp() override {
    SyncEndToEnd::SetUp();
    must(server_->admin()->create_user("dpo", server::Role::dpo, ""));
  }

  ProgramOutput server_command(std::vector<std::string> words) {
    std::vector<std::string> argv = {RELAIS_SERVER_BIN, "--config", server_->config()};
    argv.insert(argv.end(), words.begin(), words.end());
    return run_capture(argv);
  }

  // Every file of the test's folder that SQLite wrote (stores, replicas,
  // their WAL and journal files) holding one of `values`: "file: value".
  std::vector<std::string> files_holding(const std::vector<std::string>& values) const {
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_regular_file() || name.find(".db") == std::string::npos) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      for (const auto& v : values)
        if (bytes.find(v) != std::string::npos) found.push_back(name + ": " + v);
    }
    return found;
  }

  std::string device_of(store::Replica& r) { return *r.setting(std::string(sync::kDeviceKey)); }
};

TEST_F(RgpdEndToEnd, ErasureReachesEveryReplicaAndLeavesNoByteOfThePerson) {
  auto a = enrolled("samia", "lyon");
  auto b = enrolled("karim", "lyon");
  auto central = enrolled("central", "lyon");
  const std::string ines = must(a->create_record("person", {{"first_name", kInesValues[0]},
                                                            {"last_name", kInesValues[1]},
                                                            {"email", kInesValues[2]},
                                                            {"commune", kInesValues[3]}}));
  must(a->create_record(
      "interaction",
      {{"person", ines}, {"date", "2026-11-02"}, {"channel", "event"}, {"note", kInesValues[4]}}));
  const std::string hugo = person(*a, "Hugo");
  for (auto* r : {a.get(), b.get(), central.get()}) must(sync(*r));
  ASSERT_TRUE(b->get("person", ines).ok());

  // Karim is offline at an event: he edits Inès and notes a call to make.
  must(b->update_record("person", ines, {{"commune", kInesValues[5]}}));
  must(b->create_record("task", {{"title", kInesValues[6]},
                                 {"due_date", "2026-12-15"},
                                 {"owner", "karim"},
                                 {"person", ines}}));
  must(b->update_record("person", hugo, {{"commune", "Lens"}}));

  ASSERT_NE(files_holding(kInesValues), std::vector<std::string>{});  // the search sees them

  const ProgramOutput erased =
      server_command({"rgpd", "erase", ines, "--request", "DPO-2026-017", "--by", "dpo"});
  ASSERT_EQ(erased.exit_code, 0) << erased.out;
  EXPECT_NE(erased.out.find("2 records"), std::string::npos) << erased.out;

  for (auto* r : {a.get(), central.get()}) must(sync(*r));
  const ProgramOutput waiting = server_command({"rgpd", "status"});
  EXPECT_NE(waiting.out.find("2/3 devices applied"), std::string::npos) << waiting.out;
  EXPECT_NE(waiting.out.find("pending on device " + device_of(*b)), std::string::npos);

  sync::SyncCounts counts;
  must(sync(*b, "", &counts));  // Karim is back
  EXPECT_EQ(counts.erasures, 1u);
  EXPECT_GE(counts.purged, 2u);  // his edit of Inès and the task never left with their values
  for (auto* r : {a.get(), central.get()}) must(sync(*r));

  for (auto* r : {a.get(), b.get(), central.get()}) {
    EXPECT_EQ(code_of(r->get("person", ines)), Errc::unknown_record);
    EXPECT_TRUE(r->get("person", hugo).ok());
  }
  EXPECT_EQ(must(b->get("person", hugo)).fields["commune"], "Lens");
  EXPECT_EQ(must(a->get("person", hugo)).fields["commune"], "Lens");
  EXPECT_EQ(must(a->digest()), must(b->digest()));
  EXPECT_EQ(must(central->digest()), must(server_->admin()->digest()));
  const auto status = must(server_->admin()->erasure_status());
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].receipts.size(), 3u);
  EXPECT_TRUE(status[0].pending.empty());
  EXPECT_EQ(status[0].erasure.request, "DPO-2026-017");
  EXPECT_EQ(status[0].erasure.by, "dpo");

  // The server's own clean-up ran at `rgpd erase`; what came after carried
  // no values. Stop it so that its files are complete on disk.
  server_->kill(SIGTERM);
  EXPECT_EQ(files_holding(kInesValues), std::vector<std::string>{});
}

TEST_F(RgpdEndToEnd, ValuesPushedLaterForAnErasedPersonAreRefused) {
  auto a = enrolled("samia", "lyon");
  const std::string ines = person(*a, "Ines");
  must(sync(*a));
  ASSERT_EQ(server_command({"rgpd", "erase", ines, "--request", "R-1", "--by", "dpo"}).exit_code,
            0);

  // A client that ignores the erasure it is told about and pushes a value.
  store::Change late{a->info().replica_id,
                     1000,
                     0x0190000000000000,
                     "samia",
                     "person",
                     ines,
                     store::ChangeKind::edit,
                     {{"commune", kInesValues[3], {}}}};
  Scripted talk({hello(*a), sync::encode(sync::Push{3, {late}})}, 2);
  must(transport::converse(server_->url(), talk, options()));
  const auto ack = nlohmann::json::parse(talk.received.at(1));
  EXPECT_EQ(ack.at("type"), "ack") << talk.received.at(1);
  EXPECT_EQ(ack.at("purged"), 1);
  must(server_->admin()->compact());
  server_->kill(SIGTERM);
  EXPECT_EQ(files_holding({kInesValues[3]}), std::vector<std::string>{});
}

TEST_F(RgpdEndToEnd, PurgedChangeForARecordThatWasNeverErasedIsRefused) {
  auto a = enrolled("samia", "lyon");
  const std::string hugo = person(*a, "Hugo");
  must(sync(*a));
  const std::string before = must(server_->admin()->digest());

  store::Change hiding{a->info().replica_id,
                       1000,
                       0x0190000000000000,
                       "samia",
                       "person",
                       hugo,
                       store::ChangeKind::erased,
                       {{"first_name", nullptr, {}}}};
  Scripted talk({hello(*a), sync::encode(sync::Push{4, {hiding}})}, 2);
  must(transport::converse(server_->url(), talk, options()));
  EXPECT_EQ(error_code(talk.received.at(1)), Errc::erasure_forged);
  EXPECT_EQ(must(server_->admin()->digest()), before);
}

TEST_F(RgpdEndToEnd, EraseCommandRefusesBadRequestsAndChangesNothing) {
  auto a = enrolled("samia", "lyon");
  const std::string ines = person(*a, "Ines");
  must(sync(*a));
  const std::string before = must(server_->admin()->digest());

  EXPECT_EQ(server_command({"rgpd", "erase", ines, "--request", "R", "--by", "samia"}).exit_code,
            3);  // not a DPO
  EXPECT_EQ(server_command({"rgpd", "erase", ines, "--request", "R", "--by", "nobody"}).exit_code,
            2);  // unknown user
  EXPECT_EQ(server_command({"rgpd", "erase", store::new_uuid(), "--request", "R", "--by", "dpo"})
                .exit_code,
            4);                                                                    // unknown person
  EXPECT_EQ(server_command({"rgpd", "erase", ines, "--by", "dpo"}).exit_code, 2);  // no request
  EXPECT_EQ(must(server_->admin()->digest()), before);
  EXPECT_TRUE(must(server_->admin()->erasure_status()).empty());

  ASSERT_EQ(server_command({"rgpd", "erase", ines, "--request", "R", "--by", "dpo"}).exit_code, 0);
  EXPECT_EQ(server_command({"rgpd", "erase", ines, "--request", "R", "--by", "dpo"}).exit_code,
            1);  // already erased
  EXPECT_EQ(must(server_->admin()->erasure_status()).size(), 1u);
}

TEST_F(RgpdEndToEnd, ReadsMadeOfflineReachTheServerWithTheirChain) {
  auto a = enrolled("samia", "lyon");
  const std::string ines = person(*a, "Ines");
  const std::string hugo = person(*a, "Hugo");
  auto log = must(store::AccessLog::open(*a));
  must(log.record({ines}, "open"));  // offline, at an event
  must(log.record({ines, hugo}, "list"));

  sync::SyncCounts counts;
  must(sync(*a, "", &counts));

  EXPECT_EQ(counts.reads_sent, 3u);
  EXPECT_TRUE(must(log.entries_after(0, 10)).empty());  // the server holds them now
  const auto about_ines = must(server_->admin()->accesses_of(ines));
  ASSERT_EQ(about_ines.size(), 2u);
  EXPECT_EQ(about_ines[0].user, "samia");
  EXPECT_EQ(about_ines[0].action, "open");
  EXPECT_EQ(about_ines[1].action, "list");
  EXPECT_TRUE(must(server_->admin()->access_breaks()).empty());

  must(log.record({hugo}, "open"));  // the chain goes on from what the server holds
  must(sync(*a));
  EXPECT_EQ(must(server_->admin()->accesses_of(hugo)).size(), 2u);
  EXPECT_TRUE(must(server_->admin()->access_breaks()).empty());
  const ProgramOutput audit = server_command({"audit", "person", hugo});
  EXPECT_EQ(audit.exit_code, 0);
  EXPECT_NE(audit.out.find(",samia,open,"), std::string::npos) << audit.out;
}

TEST_F(RgpdEndToEnd, TamperedAccessLogIsReportedAndKept) {
  auto a = enrolled("samia", "lyon");
  const std::string ines = person(*a, "Ines");
  const std::string hugo = person(*a, "Hugo");
  auto log = must(store::AccessLog::open(*a));
  must(log.record({ines, hugo, ines}, "open"));
  // Someone with the laptop hides that Inès's record was read a second time.
  must(a->database().exec("UPDATE access_log SET person = '" + hugo + "' WHERE seq = 3"));

  EXPECT_EQ(code_of(sync(*a)), Errc::access_chain_broken);

  const auto breaks = must(server_->admin()->access_breaks());
  ASSERT_EQ(breaks.size(), 1u);
  EXPECT_EQ(breaks[0].kind, "edited");
  EXPECT_EQ(breaks[0].seq, 3u);
  EXPECT_EQ(breaks[0].device, device_of(*a));
  EXPECT_EQ(must(server_->admin()->accesses_of(hugo)).size(), 2u);  // kept, as received
  must(sync(*a));  // reported once; the next sync goes through
  EXPECT_EQ(must(server_->admin()->access_breaks()).size(), 1u);
  EXPECT_NE(server_command({"audit", "breaks"}).out.find("entry 3  edited"), std::string::npos);
}

}  // namespace
}  // namespace relais::testing
