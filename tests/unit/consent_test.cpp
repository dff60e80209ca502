// Consent with its proof: the notices and the consent entity of the model,
// giving and withdrawing on a replica, the order of records captured offline
// on several devices, minors, and the refusal of new referrals once consent
// is withdrawn; objection and restriction, which stop new records whatever
// the legal basis.
#include "relais/store/consent.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fake_clock.h"
#include "relais/schema/validate.h"
#include "relais/store/ids.h"
#include "relais/store/sha256.h"
#include "replicas.h"

namespace relais::store {
namespace {

using nlohmann::json;
using schema::Schema;
using testing::code_of;
using testing::describe;
using testing::must;
using testing::person;

constexpr std::uint64_t kHour = 3'600'000;

// --- The model.

TEST(ConsentModel, EveryConsentPurposeHasANoticeInFrenchAndEnglish) {
  const Schema& s = Schema::builtin();
  std::vector<std::string> consent_purposes;
  for (const auto& p : s.purposes()) {
    if (!p.consent_based()) {
      EXPECT_TRUE(p.notices.empty()) << p.id;
      continue;
    }
    consent_purposes.push_back(p.id);
    ASSERT_FALSE(p.notices.empty()) << p.id;
    for (const auto& n : p.notices) {
      EXPECT_NE(n.fr.find("Apprentis d'Auteuil"), std::string::npos) << p.id;
      EXPECT_FALSE(n.en.empty()) << p.id;
    }
    EXPECT_EQ(p.latest_notice(), &p.notices.back());
  }
  EXPECT_EQ(consent_purposes, (std::vector<std::string>{"referral", "programme_news"}));
  // The consent entity offers exactly those purposes.
  EXPECT_EQ(s.entity("consent")->field("purpose")->values, consent_purposes);
}

TEST(ConsentModel, TheConsentEntityIsAppendOnlyAndAddedByVersionThree) {
  const Schema& s = Schema::builtin();
  const schema::Entity& consent = *s.entity("consent");

  EXPECT_TRUE(consent.append_only);
  EXPECT_FALSE(s.entity("person")->append_only);
  EXPECT_EQ(consent.scope, schema::Scope::person);
  EXPECT_EQ(consent.since_version, 3);
  EXPECT_EQ(consent.field("captured_at")->type, schema::FieldType::datetime);
  for (const char* name : {"person", "purpose", "status", "method", "captured_at"})
    EXPECT_TRUE(consent.field(name)->required) << name;
  EXPECT_EQ(s.at_version(2).entity("consent"), nullptr);
}

TEST(ConsentModel, NoticeHashIsTheSha256OfTheExactText) {
  const schema::Notice& n = *Schema::builtin().purpose("referral")->latest_notice();

  EXPECT_EQ(must(notice_sha256(n, "fr")), sha256_hex(n.fr));
  EXPECT_EQ(must(notice_sha256(n, "en")), sha256_hex(n.en));
  EXPECT_NE(must(notice_sha256(n, "fr")), must(notice_sha256(n, "en")));
  EXPECT_EQ(code_of(notice_sha256(n, "de")), Errc::value_not_allowed);
}

// A small model with one purpose based on consent, broken one way per test.
class NoticeParse : public ::testing::Test {
 protected:
  json model_ = json::parse(R"({
    "format": "relais-schema", "version": 1,
    "purposes": [
      {"id": "news", "legal_basis": "consent", "retention": "keep",
       "notices": [{"version": 1, "fr": "Texte 1", "en": "Text 1"},
                   {"version": 2, "fr": "Texte 2", "en": "Text 2"}]},
      {"id": "follow_up", "legal_basis": "legitimate_interest", "retention": "keep"}],
    "retention": [{"id": "keep", "period_months": null, "from": "none"}],
    "entities": [{"name": "proof", "scope": "site", "retention": "keep", "append_only": true,
      "fields": [{"name": "at", "type": "datetime", "personal": false, "purposes": ["news"]}]}]
  })");
  json& notices() { return model_["purposes"][0]["notices"]; }

  Result<Schema> parse() const { return Schema::parse(model_.dump(), {}); }

  void expect_refused(const std::string& culprit) const {
    auto s = parse();
    ASSERT_FALSE(s.ok()) << "the model was accepted";
    EXPECT_EQ(s.error().code, Errc::schema_invalid) << describe(s.error());
    EXPECT_NE(s.error().message.find(culprit), std::string::npos) << describe(s.error());
  }
};

TEST_F(NoticeParse, AcceptsVersionedNoticesAndAppendOnly) {
  auto s = parse();
  ASSERT_TRUE(s.ok()) << describe(s.error());
  const schema::Purpose& news = *s->purpose("news");
  ASSERT_EQ(news.notices.size(), 2u);
  EXPECT_EQ(news.notice(1)->fr, "Texte 1");
  EXPECT_EQ(*news.notice(2)->text("en"), "Text 2");
  EXPECT_EQ(news.notice(3), nullptr);
  EXPECT_EQ(news.latest_notice()->version, 2);
  EXPECT_TRUE(s->entity("proof")->append_only);
}

TEST_F(NoticeParse, RefusesAConsentPurposeWithoutNotices) {
  model_["purposes"][0].erase("notices");
  expect_refused("purpose news");
  notices() = json::array();
  expect_refused("purpose news");
}

TEST_F(NoticeParse, RefusesNoticesOnAPurposeNotBasedOnConsent) {
  model_["purposes"][1]["notices"] = {{{"version", 1}, {"fr", "a"}, {"en", "b"}}};
  expect_refused("only purposes based on consent");
}

TEST_F(NoticeParse, RefusesRepeatedOrDecreasingVersions) {
  notices()[1]["version"] = 1;
  expect_refused("unique and increasing");
  notices()[0]["version"] = 3;
  notices()[1]["version"] = 2;
  expect_refused("unique and increasing");
  notices()[0]["version"] = 0;
  expect_refused("start at 1");
}

TEST_F(NoticeParse, RefusesANoticeWithoutItsTwoTexts) {
  notices()[0]["en"] = "";
  expect_refused("notice 1");
  notices()[0].erase("en");
  expect_refused("en");
}

TEST(DateTimeValue, IsNormalisedToUtcWithZ) {
  const Schema& s = Schema::builtin();
  const schema::Entity& e = *s.entity("consent");
  const schema::Field& at = *e.field("captured_at");
  auto norm = [&](const char* text) { return schema::normalize_value(e, at, json(text)); };

  EXPECT_EQ(must(norm("2026-12-03T16:14:59Z")), "2026-12-03T16:14:59Z");
  EXPECT_EQ(must(norm(" 2026-12-03t16:14:59z ")), "2026-12-03T16:14:59Z");
  EXPECT_EQ(must(norm("2026-12-03 16:14:59Z")), "2026-12-03T16:14:59Z");
  EXPECT_EQ(must(norm("2026-12-03T16:14:59+00:00")), "2026-12-03T16:14:59Z");
  EXPECT_TRUE(schema::is_datetime("2024-02-29T23:59:59Z"));
  EXPECT_FALSE(schema::is_datetime("2024-02-29t23:59:59Z"));  // not canonical
}

TEST(DateTimeValue, RefusesAnythingButAnInstantInUtc) {
  const Schema& s = Schema::builtin();
  const schema::Entity& e = *s.entity("consent");
  const schema::Field& at = *e.field("captured_at");
  for (const char* bad :
       {"2026-12-03", "2026-12-03T16:14:59", "2026-12-03T16:14:59+01:00", "2026-12-03T24:00:00Z",
        "2026-12-03T16:60:00Z", "2026-12-03T16:14:60Z", "2025-02-29T10:00:00Z",
        "2026-12-03T16:14:59.123Z", "2026-12-03T-1:14:59Z", "soon"}) {
    auto r = schema::normalize_value(e, at, json(bad));
    EXPECT_EQ(code_of(r), Errc::invalid_format) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.error().message.find("consent.captured_at"), std::string::npos);
    }
  }
  EXPECT_EQ(code_of(schema::normalize_value(e, at, json(12))), Errc::wrong_type);
}

// --- On replicas.

class Consent : public testing::ReplicaTest {
 protected:
  void SetUp() override {
    r_ = make("r", "samia", wall_.fn());
    lina_ = must(r_->create_record("person", person("Lina", "Benali")));
    partner_ = must(r_->create_record("partner", {{"name", "Mission Locale"}, {"kind", "plie"}}));
  }

  ConsentRequest request(const std::string& purpose = "referral") const {
    ConsentRequest q;
    q.person = lina_;
    q.purpose = purpose;
    q.method = "oral_at_event";
    return q;
  }

  Result<std::string> give(Replica& r, const ConsentRequest& q) {
    return give_consent(r, q, wall_.fn());
  }
  Result<std::string> withdraw(Replica& r, const std::string& purpose = "referral") {
    return withdraw_consent(r, {lina_, purpose, "paper_form"}, wall_.fn());
  }

  ConsentState state(Replica& r, const std::string& person, const std::string& purpose) {
    for (auto& s : must(consent_status(r, person)))
      if (s.purpose == purpose) return s;
    throw std::runtime_error("no state for " + purpose);
  }

  Result<std::string> add_referral(Replica& r) {
    return create_record_with_consent(
        r, "referral", {{"person", lina_}, {"partner", partner_}, {"stage", "identified"}});
  }

  // Expects `result` to fail with `code` and to leave the replica as it was.
  template <class R>
  void expect_refused(const std::function<R()>& attempt, Errc code, const std::string& words) {
    const std::string before = digest(*r_);
    const std::size_t logged = history_size(*r_);
    const R result = attempt();
    EXPECT_EQ(code_of(result), code);
    if (!result.ok()) {
      EXPECT_NE(result.error().message.find(words), std::string::npos) << result.error().message;
    }
    EXPECT_EQ(digest(*r_), before);
    EXPECT_EQ(history_size(*r_), logged);
  }

  testing::FakeWallClock wall_;
  std::unique_ptr<Replica> r_;
  std::string lina_, partner_;
};

TEST_F(Consent, GiveRecordsTheProofItselfAndAllowsProcessing) {
  const std::string id = must(give(*r_, request()));

  const Record rec = must(r_->get("consent", id));
  const schema::Notice& notice = *Schema::builtin().purpose("referral")->latest_notice();
  EXPECT_EQ(rec.fields["person"], lina_);
  EXPECT_EQ(rec.fields["purpose"], "referral");
  EXPECT_EQ(rec.fields["status"], "given");
  EXPECT_EQ(rec.fields["method"], "oral_at_event");
  EXPECT_EQ(rec.fields["captured_at"], "2026-01-01T00:00:00Z");  // the fake wall clock
  EXPECT_EQ(rec.fields["collected_by"], "samia");
  EXPECT_EQ(rec.fields["device"], r_->info().replica_id);
  EXPECT_EQ(rec.fields["notice_version"], notice.version);
  EXPECT_EQ(rec.fields["notice_language"], "fr");
  EXPECT_EQ(rec.fields["notice_hash"], sha256_hex(notice.fr));
  EXPECT_FALSE(rec.fields.contains("guardian_name"));

  const ConsentState s = state(*r_, lina_, "referral");
  EXPECT_TRUE(s.given());
  EXPECT_TRUE(s.allows_processing());
  EXPECT_EQ(s.latest->id, id);
  EXPECT_FALSE(state(*r_, lina_, "programme_news").latest.has_value());
  EXPECT_TRUE(must(may_process(*r_, lina_, "referral")));
  EXPECT_FALSE(must(may_process(*r_, lina_, "programme_news")));
  EXPECT_TRUE(must(may_process(*r_, lina_, "follow_up")));  // legitimate interest
}

TEST_F(Consent, GiveRecordsTheNoticeVersionAndLanguageAsked) {
  ConsentRequest q = request("programme_news");
  q.notice_version = 1;
  q.language = "en";
  const std::string id = must(give(*r_, q));

  const Record rec = must(r_->get("consent", id));
  EXPECT_EQ(rec.fields["notice_language"], "en");
  EXPECT_EQ(rec.fields["notice_hash"],
            sha256_hex(Schema::builtin().purpose("programme_news")->notice(1)->en));
}

TEST_F(Consent, UnknownPurposeIsRefused) {
  expect_refused<Result<std::string>>([&] { return give(*r_, request("marketing")); },
                                      Errc::unknown_purpose, "unknown purpose 'marketing'");
  expect_refused<Result<std::string>>([&] { return withdraw(*r_, "marketing"); },
                                      Errc::unknown_purpose, "referral, programme_news");
  EXPECT_EQ(code_of(may_process(*r_, lina_, "marketing")), Errc::unknown_purpose);
}

TEST_F(Consent, PurposeNotBasedOnConsentIsRefused) {
  expect_refused<Result<std::string>>([&] { return give(*r_, request("follow_up")); },
                                      Errc::not_consent_purpose, "legitimate_interest");
  expect_refused<Result<std::string>>([&] { return withdraw(*r_, "activity_reporting"); },
                                      Errc::not_consent_purpose, "not based on consent");
}

TEST_F(Consent, BadRequestsAreRefusedAndWriteNothing) {
  using R = Result<std::string>;
  ConsentRequest q = request();
  q.notice_version = 9;
  expect_refused<R>([&] { return give(*r_, q); }, Errc::unknown_notice, "no notice version 9");
  q = request();
  q.language = "de";
  expect_refused<R>([&] { return give(*r_, q); }, Errc::value_not_allowed, "'de'");
  q = request();
  q.method = "telepathy";
  expect_refused<R>([&] { return give(*r_, q); }, Errc::value_not_allowed, "consent.method");
  q.method = "";
  expect_refused<R>([&] { return give(*r_, q); }, Errc::missing_required, "consent.method");
  q = request();
  q.person = new_uuid();
  expect_refused<R>([&] { return give(*r_, q); }, Errc::unknown_record, "no person");
  q = request();
  q.guardian_name = "Karima Benali";
  expect_refused<R>([&] { return give(*r_, q); }, Errc::missing_required, "both a name");
  q.guardian_relation = "uncle";
  expect_refused<R>([&] { return give(*r_, q); }, Errc::value_not_allowed, "guardian_relation");
}

TEST_F(Consent, WithdrawalWithoutPriorConsentIsRefused) {
  using R = Result<std::string>;
  expect_refused<R>([&] { return withdraw(*r_); }, Errc::no_prior_consent, "nothing to withdraw");
  must(give(*r_, request("programme_news")));  // another purpose does not count
  expect_refused<R>([&] { return withdraw(*r_); }, Errc::no_prior_consent, "'referral'");
}

TEST_F(Consent, WithdrawalIsRecordedTheSameWayAndStopsProcessing) {
  const std::string given = must(give(*r_, request()));
  wall_.advance(kHour);
  const std::string withdrawn = must(withdraw(*r_));

  const Record rec = must(r_->get("consent", withdrawn));
  EXPECT_EQ(rec.fields["status"], "withdrawn");
  EXPECT_EQ(rec.fields["method"], "paper_form");
  EXPECT_EQ(rec.fields["captured_at"], "2026-01-01T01:00:00Z");
  EXPECT_EQ(rec.fields["collected_by"], "samia");
  const ConsentState s = state(*r_, lina_, "referral");
  EXPECT_FALSE(s.given());
  EXPECT_EQ(s.latest->id, withdrawn);
  EXPECT_FALSE(must(may_process(*r_, lina_, "referral")));
  const auto history = must(consent_history(*r_, lina_));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].id, given);
  EXPECT_EQ(history[1].id, withdrawn);
  EXPECT_EQ(must(r_->get("consent", given)).fields["status"], "given");
}

TEST_F(Consent, ConsentRecordsCannotBeEditedOrDeleted) {
  const std::string id = must(give(*r_, request()));
  using S = Status;
  expect_refused<S>(
      [&] {
        return r_->update_record("consent", id, {{"status", "withdrawn"}});
      },
      Errc::append_only, "append-only");
  expect_refused<S>(
      [&] {
        return r_->update_record("consent", id, {{"guardian_name", "X"}});
      },
      Errc::append_only, "consent records");
  expect_refused<S>([&] { return r_->delete_record("consent", id); }, Errc::append_only,
                    "cannot be deleted");
  // Nor created bypassing give and withdraw, which fill in the proof.
  expect_refused<Result<std::string>>(
      [&] {
        return create_record_with_consent(*r_, "consent",
                                          {{"person", lina_},
                                           {"purpose", "referral"},
                                           {"status", "given"},
                                           {"method", "online"},
                                           {"captured_at", "2026-01-01T00:00:00Z"}});
      },
      Errc::invalid_argument, "relais consent give");
  EXPECT_EQ(must(r_->get("consent", id)).fields["status"], "given");
}

TEST_F(Consent, AReferralIsRefusedOnceConsentIsWithdrawn) {
  using R = Result<std::string>;
  expect_refused<R>([&] { return add_referral(*r_); }, Errc::consent_required,
                    "no consent to 'referral' is recorded");
  must(give(*r_, request()));
  const std::string referral = must(add_referral(*r_));
  must(withdraw(*r_));

  expect_refused<R>([&] { return add_referral(*r_); }, Errc::consent_required, "was withdrawn");

  // Follow-up rests on legitimate interest: it goes on after the withdrawal.
  must(create_record_with_consent(
      *r_, "interaction", {{"person", lina_}, {"date", "2026-01-02"}, {"channel", "phone"}}));
  EXPECT_FALSE(must(r_->get("referral", referral)).deleted);  // the record stays, as proof of use
  EXPECT_EQ(purposes_needing_consent(Schema::builtin(), *Schema::builtin().entity("referral")),
            std::vector<std::string>{"referral"});
  EXPECT_TRUE(purposes_needing_consent(Schema::builtin(), *Schema::builtin().entity("interaction"))
                  .empty());
}

TEST_F(Consent, AReferralNamingNoValidPersonFailsAsAnyRecordWould) {
  using R = Result<std::string>;
  const json fields = {{"person", new_uuid()}, {"stage", "identified"}};
  expect_refused<R>([&] { return create_record_with_consent(*r_, "referral", fields); },
                    Errc::unknown_record, "no person with id");
  expect_refused<R>(
      [&] {
        return create_record_with_consent(*r_, "referral", {{"stage", "identified"}});
      },
      Errc::missing_required, "referral.person is required");
}

TEST_F(Consent, AMinorWithoutGuardianIsRecordedButIncomplete) {
  // 14 years old on 2026-01-01, the fake clock's day.
  must(r_->update_record("person", lina_, {{"birth_date", "2011-06-15"}}));
  const std::string alone = must(give(*r_, request()));

  ConsentState s = state(*r_, lina_, "referral");
  EXPECT_EQ(s.latest->id, alone);
  EXPECT_TRUE(s.latest->minor);
  EXPECT_TRUE(s.incomplete());
  EXPECT_FALSE(s.allows_processing());
  EXPECT_FALSE(must(may_process(*r_, lina_, "referral")));
  EXPECT_EQ(code_of(add_referral(*r_)), Errc::consent_required);

  ConsentRequest q = request();
  q.guardian_name = "Karima Benali";
  q.guardian_relation = "parent";
  must(give(*r_, q));

  s = state(*r_, lina_, "referral");
  EXPECT_TRUE(s.latest->minor);
  EXPECT_FALSE(s.incomplete());
  EXPECT_TRUE(s.allows_processing());
  RELAIS_EXPECT_OK(add_referral(*r_));
}

TEST_F(Consent, AgeIsTakenAtCaptureFromBirthDateElseFromAgeBand) {
  // Fifteen on the day of capture: no longer a minor.
  must(r_->update_record("person", lina_, {{"birth_date", "2011-01-01"}}));
  must(give(*r_, request()));
  EXPECT_FALSE(state(*r_, lina_, "referral").latest->minor);

  // No birth date: the age band decides.
  const std::string young = must(r_->create_record("person", person("Noé", "Petit")));
  must(r_->update_record("person", young, {{"age_band", "under_15"}}));
  ConsentRequest q = request();
  q.person = young;
  must(give(*r_, q));
  EXPECT_TRUE(state(*r_, young, "referral").incomplete());

  // Neither: taken as 15 or over (the counsellor asks the age at capture).
  const std::string unknown = must(r_->create_record("person", person("Sam", "Roux")));
  q.person = unknown;
  must(give(*r_, q));
  EXPECT_FALSE(state(*r_, unknown, "referral").incomplete());
}

// --- Objection and restriction (RGPD art. 18 and 21).

TEST_F(Consent, AnObjectionBlocksAReferralEvenWithConsentGiven) {
  must(give(*r_, request()));
  RELAIS_EXPECT_OK(add_referral(*r_));
  must(r_->update_record("person", lina_, {{"objections", json::array({"referral"})}}));

  using R = Result<std::string>;
  expect_refused<R>([&] { return add_referral(*r_); }, Errc::objection,
                    "object to, or have restricted, processing for 'referral'");
  EXPECT_TRUE(state(*r_, lina_, "referral").allows_processing());  // the consent stands as proof
  EXPECT_FALSE(must(may_process(*r_, lina_, "referral")));
  EXPECT_EQ(must(objections(*r_, lina_)), std::vector<std::string>{"referral"});
  // Other purposes go on.
  EXPECT_TRUE(must(may_process(*r_, lina_, "follow_up")));
  RELAIS_EXPECT_OK(create_record_with_consent(
      *r_, "interaction", {{"person", lina_}, {"date", "2026-01-02"}, {"channel", "phone"}}));
}

TEST_F(Consent, AnObjectionToFollowUpBlocksANewInteractionWhateverTheLegalBasis) {
  must(r_->update_record("person", lina_, {{"objections", json::array({"follow_up"})}}));

  using R = Result<std::string>;
  expect_refused<R>(
      [&] {
        return create_record_with_consent(
            *r_, "interaction", {{"person", lina_}, {"date", "2026-01-02"}, {"channel", "sms"}});
      },
      Errc::objection, "'follow_up' (person.objections)");
  // A task about the person serves follow-up too.
  expect_refused<R>(
      [&] {
        return create_record_with_consent(*r_, "task",
                                          {{"title", "Call back"},
                                           {"due_date", "2026-01-05"},
                                           {"owner", "samia"},
                                           {"person", lina_}});
      },
      Errc::objection, "no new task");
  EXPECT_FALSE(must(may_process(*r_, lina_, "follow_up")));  // legitimate interest, yet refused
  EXPECT_TRUE(must(may_process(*r_, lina_, "activity_reporting")));
}

TEST_F(Consent, LiftingTheObjectionAllowsProcessingAgain) {
  must(give(*r_, request()));
  must(
      r_->update_record("person", lina_, {{"objections", json::array({"follow_up", "referral"})}}));
  EXPECT_EQ(code_of(add_referral(*r_)), Errc::objection);

  must(r_->update_record("person", lina_, {{"objections", json::array({"follow_up"})}}));
  RELAIS_EXPECT_OK(add_referral(*r_));
  EXPECT_TRUE(must(may_process(*r_, lina_, "referral")));
  must(r_->update_record("person", lina_, {{"objections", nullptr}}));

  EXPECT_TRUE(must(objections(*r_, lina_)).empty());
  EXPECT_TRUE(must(may_process(*r_, lina_, "follow_up")));
  RELAIS_EXPECT_OK(create_record_with_consent(
      *r_, "interaction", {{"person", lina_}, {"date", "2026-01-03"}, {"channel", "visit"}}));
}

TEST_F(Consent, AnObjectionToAnUnknownPurposeIsRefusedAndWritesNothing) {
  expect_refused<Status>(
      [&] {
        return r_->update_record("person", lina_, {{"objections", json::array({"marketing"})}});
      },
      Errc::value_not_allowed, "person.objections");
  expect_refused<Status>(
      [&] {
        return r_->update_record("person", lina_,
                                 {{"objections", json::array({"reference_data"})}});
      },
      Errc::value_not_allowed, "reference_data");
  EXPECT_EQ(code_of(objections(*r_, new_uuid())), Errc::unknown_record);
}

// Two laptops at the same fair, offline; Karim's clock is three hours behind.
class ConsentOffline : public Consent {
 protected:
  void SetUp() override {
    Consent::SetUp();
    b_ = make("b", "karim", karim_wall_.fn());
    testing::sync(*r_, *b_);
  }

  Result<std::string> give_on_b(const ConsentRequest& q) {
    return give_consent(*b_, q, karim_wall_.fn());
  }

  std::vector<std::string> ids(Replica& r) {
    std::vector<std::string> out;
    for (const auto& e : must(consent_history(r, lina_))) out.push_back(e.id);
    return out;
  }

  testing::FakeWallClock karim_wall_{testing::kFixedWallMs - 3 * kHour};
  std::unique_ptr<Replica> b_;
};

TEST_F(ConsentOffline, ConsentsCapturedOnTwoReplicasArePresentOnBoth) {
  const std::string on_a = must(give(*r_, request("referral")));
  const std::string on_b = must(give_on_b(request("programme_news")));

  testing::sync(*r_, *b_);

  EXPECT_EQ(ids(*r_), ids(*b_));
  EXPECT_EQ(ids(*r_).size(), 2u);
  for (Replica* r : {r_.get(), b_.get()}) {
    EXPECT_EQ(state(*r, lina_, "referral").latest->id, on_a);
    EXPECT_EQ(state(*r, lina_, "programme_news").latest->id, on_b);
    EXPECT_EQ(must(r->get("consent", on_b)).fields["device"], b_->info().replica_id);
  }
  EXPECT_EQ(digest(*r_), digest(*b_));
}

TEST_F(ConsentOffline, TheClockOfTheChangeOrdersRecordsNotTheDeviceWallClock) {
  const std::string given = must(give(*r_, request()));
  testing::sync(*r_, *b_);
  karim_wall_.advance(60'000);
  const std::string withdrawn =
      must(withdraw_consent(*b_, {lina_, "referral", "oral_at_event"}, karim_wall_.fn()));

  testing::sync(*r_, *b_);

  // By the wall clocks the withdrawal would come first...
  EXPECT_LT(must(b_->get("consent", withdrawn)).fields["captured_at"].get<std::string>(),
            must(r_->get("consent", given)).fields["captured_at"].get<std::string>());
  // ...but it was made after Karim's laptop saw the consent, and both
  // replicas say so.
  for (Replica* r : {r_.get(), b_.get()}) {
    const ConsentState s = state(*r, lina_, "referral");
    EXPECT_EQ(s.latest->id, withdrawn);
    EXPECT_FALSE(s.given());
    EXPECT_EQ(code_of(add_referral(*r)), Errc::consent_required);
  }
  EXPECT_EQ(ids(*r_), (std::vector<std::string>{given, withdrawn}));
  EXPECT_EQ(ids(*b_), ids(*r_));
}

TEST_F(ConsentOffline, WithdrawalNeedsTheConsentToBeOnThisReplica) {
  must(give(*r_, request()));  // not yet synced to Karim's laptop

  EXPECT_EQ(code_of(withdraw_consent(*b_, {lina_, "referral", "oral_at_event"}, karim_wall_.fn())),
            Errc::no_prior_consent);
  testing::sync(*r_, *b_);
  RELAIS_EXPECT_OK(withdraw_consent(*b_, {lina_, "referral", "oral_at_event"}, karim_wall_.fn()));
}

// A replica made at version 2, before consent existed.
class ConsentMigration : public testing::ReplicaTest {};

TEST_F(ConsentMigration, AVersionTwoReplicaMigratesKeepingItsDataAndCanRecordConsent) {
  const Schema v2 = Schema::builtin().at_version(2);
  auto old = make("r", "samia", HybridClock::system_wall_ms, v2);
  ASSERT_EQ(old->info().schema_version, 2);
  EXPECT_EQ(code_of(old->list("consent", 10)), Errc::unknown_entity);
  const std::string lina = must(old->create_record("person", person("Lina", "Benali")));
  const std::string referral =
      must(old->create_record("referral", {{"person", lina}, {"stage", "contacted"}}));
  const std::string before = digest(*old);
  const std::size_t logged = history_size(*old);
  old.reset();

  auto now = reopen("r");

  EXPECT_EQ(now->info().schema_version, Schema::builtin().version());
  EXPECT_EQ(digest(*now), before);  // no consent record: the same visible state
  EXPECT_EQ(history_size(*now), logged);
  EXPECT_EQ(must(now->get("referral", referral)).fields["stage"], "contacted");
  // A referral made before consent existed stays; a new one needs consent.
  EXPECT_EQ(code_of(create_record_with_consent(*now, "referral",
                                               {{"person", lina}, {"stage", "identified"}})),
            Errc::consent_required);
  ConsentRequest q;
  q.person = lina;
  q.purpose = "referral";
  q.method = "paper_form";
  must(give_consent(*now, q));
  RELAIS_EXPECT_OK(
      create_record_with_consent(*now, "referral", {{"person", lina}, {"stage", "identified"}}));
  now.reset();
  EXPECT_EQ(must(reopen("r")->list("consent", 10)).size(), 1u);
}

// A replica made at version 3, before objections existed.
TEST_F(ConsentMigration, AVersionThreeReplicaMigratesToFourKeepingItsDataAndCanRecordObjections) {
  const Schema v3 = Schema::builtin().at_version(3);
  auto old = make("r", "samia", HybridClock::system_wall_ms, v3);
  ASSERT_EQ(old->info().schema_version, 3);
  const std::string lina = must(old->create_record("person", person("Lina", "Benali")));
  EXPECT_EQ(
      code_of(old->update_record("person", lina, {{"objections", json::array({"referral"})}})),
      Errc::unknown_field);
  ConsentRequest q;
  q.person = lina;
  q.purpose = "referral";
  q.method = "paper_form";
  const std::string consent = must(give_consent(*old, q));
  const std::string referral = must(
      create_record_with_consent(*old, "referral", {{"person", lina}, {"stage", "contacted"}}));
  const std::string before = digest(*old);
  const std::size_t logged = history_size(*old);
  old.reset();

  auto now = reopen("r");

  EXPECT_EQ(now->info().schema_version, 4);
  EXPECT_EQ(digest(*now), before);  // no objection recorded: the same visible state
  EXPECT_EQ(history_size(*now), logged);
  EXPECT_EQ(must(now->get("referral", referral)).fields["stage"], "contacted");
  EXPECT_EQ(must(now->get("consent", consent)).fields["status"], "given");
  EXPECT_TRUE(must(objections(*now, lina)).empty());
  RELAIS_EXPECT_OK(
      create_record_with_consent(*now, "referral", {{"person", lina}, {"stage", "identified"}}));
  must(now->update_record("person", lina, {{"objections", json::array({"referral"})}}));
  EXPECT_EQ(code_of(create_record_with_consent(*now, "referral",
                                               {{"person", lina}, {"stage", "identified"}})),
            Errc::objection);
  now.reset();
  EXPECT_EQ(must(reopen("r")->get("person", lina)).fields["objections"], json::array({"referral"}));
}

}  // namespace
}  // namespace relais::store
