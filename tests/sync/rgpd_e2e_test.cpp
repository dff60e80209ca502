// The right to erasure end to end: a real relais-server, `relais-server rgpd
// erase` run as its own process beside it, replicas that apply the erasure
// when they next connect, and the raw bytes of every SQLite file searched
// afterwards.
#include <sys/stat.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "fake_clock.h"
#include "relais/store/access_log.h"
#include "relais/store/consent.h"
#include "relais/store/sqlite.h"
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
  const ProgramOutput audit = server_command({"audit", "person", hugo, "--csv"});
  EXPECT_EQ(audit.exit_code, 0);
  EXPECT_EQ(audit.out.rfind("at,user,action,device,entry\r\n", 0), 0u) << audit.out;
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
  const std::string report = server_command({"audit", "breaks", "--csv"}).out;
  EXPECT_NE(report.find("," + device_of(*a) + "," + a->info().replica_id + ",3,edited,"),
            std::string::npos)
      << report;
}

TEST_F(RgpdEndToEnd, AuditShowsWhatAUserReadAndVerifiesEveryChainAgain) {
  auto a = enrolled("samia", "lyon");
  auto b = enrolled("karim", "lyon");
  const std::string ines = person(*a, "Ines");
  const std::string hugo = person(*a, "Hugo");
  must(must(store::AccessLog::open(*a)).record({ines}, "open"));
  must(must(store::AccessLog::open(*b)).record({hugo}, "list"));
  must(sync(*a));
  must(sync(*b));

  const std::string samia = server_command({"audit", "user", "samia", "--csv"}).out;
  EXPECT_NE(samia.find("," + ines + ",open,"), std::string::npos) << samia;
  EXPECT_EQ(samia.find(hugo), std::string::npos) << samia;
  const std::string table = server_command({"audit", "user", "karim"}).out;
  EXPECT_EQ(table.rfind("at ", 0), 0u) << table;
  EXPECT_NE(table.find(hugo), std::string::npos) << table;
  EXPECT_NE(table.find("\n1 row\n"), std::string::npos) << table;
  EXPECT_NE(server_command({"audit", "user", "samia", "--from", "2099-01-01"}).out.find("0 rows"),
            std::string::npos);
  const ProgramOutput bad = server_command({"audit", "user", "samia", "--from", "hier"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(bad.out.empty());

  std::string chains = server_command({"audit", "chains", "--csv"}).out;
  EXPECT_NE(chains.find(a->info().replica_id + ",1,1,1,intact,0"), std::string::npos) << chains;
  EXPECT_NE(chains.find(b->info().replica_id + ",1,1,1,intact,0"), std::string::npos) << chains;
  // Someone with access to the server's file edits what it holds.
  {
    auto db = must(store::Database::open(server_->store_path(), false));
    must(db.exec("UPDATE srv_access SET person = '" + hugo + "' WHERE person = '" + ines + "'"));
  }
  chains = server_command({"audit", "chains", "--csv"}).out;
  EXPECT_NE(chains.find(a->info().replica_id + ",1,1,1,edited at entry 1"), std::string::npos)
      << chains;
  EXPECT_NE(chains.find(b->info().replica_id + ",1,1,1,intact,0"), std::string::npos) << chains;
  // And removes what Karim read: the newest entries of his chain.
  {
    auto db = must(store::Database::open(server_->store_path(), false));
    must(db.exec("DELETE FROM srv_access WHERE replica = '" + b->info().replica_id + "'"));
  }
  chains = server_command({"audit", "chains", "--csv"}).out;
  EXPECT_NE(chains.find(b->info().replica_id + ",0,0,0,\"gap at entry 1: no entry held"),
            std::string::npos)
      << chains;
}

TEST_F(RgpdEndToEnd, AuditListsConsentGapsPendingErasuresAndOverdueRequests) {
  auto a = enrolled("samia", "lyon");
  const std::string ines = person(*a, "Ines");
  const std::string hugo = person(*a, "Hugo");
  const std::string lina = person(*a, "Lina");
  const std::string noah = must(a->create_record(
      "person", {{"first_name", "Noah"}, {"last_name", "Test"}, {"birth_date", "2016-03-01"}}));
  for (const auto& p : {ines, lina, noah})
    must(store::give_consent(*a, {p, "referral", "oral_at_event", std::nullopt, "fr", "", ""}));
  must(store::withdraw_consent(*a, {lina, "referral", "oral_at_event"}));
  must(sync(*a));

  const std::string gaps = server_command({"audit", "consent", "referral", "--csv"}).out;
  EXPECT_NE(gaps.find(hugo + ",lyon,none,"), std::string::npos) << gaps;
  EXPECT_NE(gaps.find(lina + ",lyon,withdrawn,"), std::string::npos) << gaps;
  EXPECT_NE(gaps.find(noah + ",lyon,incomplete,"), std::string::npos) << gaps;
  EXPECT_EQ(gaps.find(ines), std::string::npos) << gaps;
  EXPECT_EQ(server_command({"audit", "consent", "follow_up"}).exit_code, 2);  // not consent
  EXPECT_EQ(server_command({"audit", "consent", "newsletter"}).exit_code, 2);

  ASSERT_EQ(server_command({"rgpd", "erase", hugo, "--request", "R-7", "--by", "dpo"}).exit_code,
            0);
  const std::string pending = server_command({"audit", "erasures", "--csv"}).out;
  EXPECT_NE(pending.find(",R-7," + device_of(*a)), std::string::npos) << pending;
  must(sync(*a));
  EXPECT_NE(server_command({"audit", "erasures"}).out.find("0 rows"), std::string::npos);

  ASSERT_EQ(server_command({"rgpd", "request", "add", "R-8", "--person", ines, "--kind", "access",
                            "--received", "2024-01-31", "--by", "dpo"})
                .exit_code,
            0);
  const std::string late = server_command({"audit", "overdue", "--csv"}).out;
  EXPECT_NE(late.find("R-8," + ines + ",access,2024-01-31,2024-02-29"), std::string::npos) << late;
  EXPECT_EQ(late.find("R-7"), std::string::npos) << late;
  EXPECT_EQ(server_command({"audit", "nothing"}).exit_code, 2);
}

TEST_F(RgpdEndToEnd, ExportHoldsEverythingAboutThePersonAndNothingAboutAnyoneElse) {
  auto a = enrolled("samia", "lyon");
  const std::string ines = must(a->create_record(
      "person", {{"first_name", "Inesexport"}, {"last_name", "Martin"}, {"phone", "0611223344"}}));
  must(a->update_record("person", ines, {{"commune", "Lille"}}));
  must(a->create_record(
      "interaction",
      {{"person", ines}, {"date", "2026-11-02"}, {"channel", "event"}, {"note", "Veut un CAP"}}));
  must(store::give_consent(*a, {ines, "referral", "oral_at_event", std::nullopt, "fr", "", ""}));
  must(store::create_record_with_consent(*a, "referral",
                                         {{"person", ines}, {"stage", "identified"}}));
  const std::string hugo =
      must(a->create_record("person", {{"first_name", "Hugoailleurs"}, {"last_name", "Petit"}}));
  must(a->create_record("interaction",
                        {{"person", hugo}, {"date", "2026-11-03"}, {"channel", "phone"}}));
  must(must(store::AccessLog::open(*a)).record({ines}, "open"));
  must(sync(*a));

  ASSERT_EQ(server_command({"rgpd", "request", "add", "R-7", "--person", ines, "--kind", "access",
                            "--received", "2026-11-20", "--by", "dpo"})
                .exit_code,
            0);
  const ProgramOutput out = server_command(
      {"rgpd", "export", ines, "--request", "R-7", "--by", "dpo", "--out", dir_.path().string()});
  ASSERT_EQ(out.exit_code, 0) << out.out;

  const std::string json_path = dir_.file("relais-export-R-7.json");
  std::ifstream in(json_path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto doc = nlohmann::json::parse(text);
  EXPECT_EQ(doc["request"]["received"], "2026-11-20");
  EXPECT_EQ(doc["request"]["deadline"], "2026-12-20");
  std::set<std::string> entities;
  for (const auto& r : doc["records"]) entities.insert(r["entity"].get<std::string>());
  EXPECT_EQ(entities, (std::set<std::string>{"person", "interaction", "consent", "referral"}));
  EXPECT_EQ(doc["records"][0]["fields"]["phone"], "0611223344");
  EXPECT_GE(doc["history"].size(), 5u);  // the person twice, interaction, consent, referral
  ASSERT_EQ(doc["consent"].size(), 1u);
  EXPECT_EQ(doc["consent"][0]["status"], "given");
  std::set<std::string> actions;
  for (const auto& e : doc["access_log"]) actions.insert(e["action"].get<std::string>());
  EXPECT_EQ(actions, (std::set<std::string>{"open", "rgpd_export"}));
  EXPECT_EQ(text.find(hugo), std::string::npos);
  EXPECT_EQ(text.find("Hugoailleurs"), std::string::npos);

  std::ifstream csv_in(dir_.file("relais-export-R-7.csv"));
  const std::string csv((std::istreambuf_iterator<char>(csv_in)), std::istreambuf_iterator<char>());
  EXPECT_NE(csv.find("record,person," + ines + ",first_name,Inesexport"), std::string::npos);
  EXPECT_NE(csv.find(",deadline,2026-12-20"), std::string::npos);
  EXPECT_EQ(csv.find("Hugoailleurs"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(json_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // a person's data: the DPO's eyes only
  EXPECT_NE(server_command({"rgpd", "requests"})
                .out.find("R-7," + ines +
                          ",access,2026-11-20,"
                          "2026-12-20,answered"),
            std::string::npos);
}

TEST_F(RgpdEndToEnd, RequestsAreTrackedWithTheirDeadlineAndBadOnesRefused) {
  const std::string someone = store::new_uuid();
  auto add = [&](const std::string& ref, const std::string& kind, const std::string& received,
                 const std::string& by) {
    return server_command({"rgpd", "request", "add", ref, "--person", someone, "--kind", kind,
                           "--received", received, "--by", by})
        .exit_code;
  };
  EXPECT_EQ(add("R-1", "erasure", "2024-01-31", "dpo"), 0);  // long overdue, leap year
  EXPECT_EQ(add("R-2", "access", "2099-12-31", "dpo"), 0);
  EXPECT_EQ(add("R-3", "complaint", "2026-01-01", "dpo"), 2);
  EXPECT_EQ(add("R-4", "access", "2026-02-30", "dpo"), 2);
  EXPECT_EQ(add("R-5", "access", "2026-01-01", "samia"), 3);
  EXPECT_EQ(add("R-1", "access", "2026-01-01", "dpo"), 2);  // the reference is taken

  const std::string all = server_command({"rgpd", "requests"}).out;
  EXPECT_NE(all.find("R-1," + someone + ",erasure,2024-01-31,2024-02-29,OVERDUE"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("R-2," + someone + ",access,2099-12-31,2100-01-31,open"), std::string::npos);
  EXPECT_EQ(all.find("R-3"), std::string::npos);
  const std::string late = server_command({"rgpd", "overdue"}).out;
  EXPECT_NE(late.find("R-1,"), std::string::npos);
  EXPECT_EQ(late.find("R-2,"), std::string::npos);

  EXPECT_EQ(server_command({"rgpd", "export", someone, "--request", "R-1", "--by", "dpo", "--out",
                            dir_.path().string()})
                .exit_code,
            2);  // an erasure request is not answered with an export
  EXPECT_EQ(
      server_command({"rgpd", "export", someone, "--request", "R-9", "--by", "dpo"}).exit_code, 4);
  EXPECT_EQ(
      server_command({"rgpd", "export", someone, "--request", "R-2", "--by", "samia"}).exit_code,
      3);
}

TEST_F(RgpdEndToEnd, RetentionDryRunReportsAndTheRealRunErasesWhatIsTooOld) {
  FakeWallClock spring_2021(1614556800000);  // 2021-03-01, on an old laptop's records
  auto old = enrolled("samia", "lyon", spring_2021.fn());
  const std::string quiet = person(*old, "Ancien");  // nothing since
  const std::string back = person(*old, "Revenu");   // came back this autumn
  must(old->create_record("interaction",
                          {{"person", back}, {"date", "2026-10-01"}, {"channel", "phone"}}));
  const std::string gone = person(*old, "Vieux");
  must(old->create_record("interaction",
                          {{"person", gone}, {"date", "2021-04-01"}, {"channel", "event"}}));
  must(sync(*old));

  // Two reads from early 2024, uploaded by hand with a valid chain.
  sync::Access reads;
  store::ChainHead head;
  for (const std::string& who : {quiet, back}) {
    store::AccessEntry e{head.seq + 1, "2024-01-15T10:00:00Z",
                         "samia",      old->info().replica_id,
                         who,          "open",
                         head.hash,    ""};
    e.hash = store::entry_hash(e);
    head = {e.seq, e.hash};
    reads.entries.push_back(e);
  }
  Scripted talk({hello(*old), sync::encode(reads)}, 2);
  must(transport::converse(server_->url(), talk, options()));
  ASSERT_EQ(must(server_->admin()->accesses_of(back)).size(), 1u);
  const std::string before = must(server_->admin()->digest());

  const ProgramOutput dry = server_command({"rgpd", "retention", "--by", "dpo"});
  ASSERT_EQ(dry.exit_code, 0) << dry.out;
  EXPECT_NE(dry.out.find("dry run: 2 person(s)"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find(quiet + "  last contact 2021-03-01"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find(gone + "  last contact 2021-04-01"), std::string::npos) << dry.out;
  EXPECT_EQ(dry.out.find(back), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("2 access-log entries"), std::string::npos) << dry.out;
  EXPECT_EQ(must(server_->admin()->digest()), before);  // a dry run changes nothing
  EXPECT_EQ(must(server_->admin()->accesses_of(back)).size(), 1u);

  EXPECT_EQ(server_command({"rgpd", "retention", "apply", "--by", "samia"}).exit_code, 3);
  const ProgramOutput real = server_command({"rgpd", "retention", "apply", "--by", "dpo"});
  ASSERT_EQ(real.exit_code, 0) << real.out;

  auto admin = server_->admin();
  EXPECT_TRUE(admin->accesses_of(back)->empty());
  const auto erasures = must(admin->erasure_status());
  ASSERT_EQ(erasures.size(), 2u);
  EXPECT_EQ(erasures[0].erasure.request.rfind("retention-", 0), 0u);
  must(sync(*old));  // the laptop applies them like any erasure
  EXPECT_EQ(code_of(old->get("person", quiet)), Errc::unknown_record);
  EXPECT_EQ(code_of(old->get("person", gone)), Errc::unknown_record);
  EXPECT_TRUE(old->get("person", back).ok());
  EXPECT_EQ(must(old->digest()), must(admin->digest()));
}

TEST_F(RgpdEndToEnd, ReplicaOfflineTooLongHidesPersonalDataUntilItSyncs) {
  auto a = enrolled("samia", "lyon");
  person(*a, "Ines");
  must(sync(*a));
  const std::time_t now = std::time(nullptr);
  EXPECT_EQ(a->setting(std::string(sync::kMaxOfflineDaysKey)), "30");  // the server's default
  EXPECT_EQ(code_of(sync::check_offline_period(*a, now)), Errc{});
  EXPECT_EQ(code_of(sync::check_offline_period(*a, now + 31 * 86400)), Errc::offline_too_long);

  // The laptop last synced in January.
  must(a->set_settings({{std::string(sync::kLastSyncKey), "2026-01-05T09:00:00Z"}}));
  EXPECT_EQ(code_of(sync::check_offline_period(*a, now)), Errc::offline_too_long);
  must(sync(*a));
  EXPECT_EQ(code_of(sync::check_offline_period(*a, now)), Errc{});
}

}  // namespace
}  // namespace relais::testing
