// Consent with its proof (RGPD): giving and withdrawing consent to a purpose
// as records of the append-only entity `consent`, the current state per
// (person, purpose), and the check that stops processing once consent is
// withdrawn. Built over the public API of Replica only; docs/schema.md
// describes the entity and docs/cli.md the `relais consent` commands.
//
// A consent record is written once and merged like any record, so consents
// captured offline on several devices all end up on every replica. Which one
// is current is decided by the hybrid logical clock of the change that
// created each record (then its origin replica and counter): every replica
// orders them the same way, and a device whose wall clock is wrong cannot
// reorder a withdrawal before the consent it withdraws once it has seen it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/error.h"
#include "relais/schema/schema.h"
#include "relais/store/hlc.h"
#include "relais/store/replica.h"

namespace relais::store {

inline constexpr std::string_view kConsentEntity = "consent";
// The field of `person` listing the purposes the young person objected to,
// or had restricted (RGPD art. 18 and 21). Added by schema version 4.
inline constexpr std::string_view kObjectionsField = "objections";

// SHA-256 (64 lower-case hex digits) of the notice's text in `language`, over
// its UTF-8 bytes exactly as written in the model file. Errc::value_not_allowed
// for a language other than fr and en.
Result<std::string> notice_sha256(const schema::Notice& notice, std::string_view language);

// The purpose `id`, checked to exist (Errc::unknown_purpose, listing the
// purposes based on consent) and to be based on consent
// (Errc::not_consent_purpose, naming its legal basis).
Result<const schema::Purpose*> consent_purpose(const schema::Schema& schema, std::string_view id);

struct ConsentRequest {
  std::string person;                 // id of a live person record
  std::string purpose;                // a purpose based on consent
  std::string method;                 // oral_at_event, paper_form or online
  std::optional<int> notice_version;  // default: the purpose's latest notice
  std::string language = "fr";        // of the notice shown: fr or en
  // For a young person under 15: the parent or guardian who agreed with
  // them. Both or neither.
  std::string guardian_name;
  std::string guardian_relation;  // parent or legal_guardian
};

struct WithdrawalRequest {
  std::string person;
  std::string purpose;
  std::string method;  // how the withdrawal was expressed, as for a consent
};

// Records a consent given, after checking that the purpose exists and is
// based on consent, that the person exists, and that the notice version
// exists. Fills captured_at (from `wall`, in UTC), collected_by (the
// replica's user), device (the replica's id), and the notice's version,
// language and hash. A person under 15 without a guardian is recorded all
// the same (the proof of what happened matters) but the consent is
// incomplete: see ConsentEntry::incomplete. Returns the record's id.
Result<std::string> give_consent(Replica& replica, const ConsentRequest& request,
                                 const HybridClock::WallClock& wall = HybridClock::system_wall_ms);

// Records a withdrawal. Errc::no_prior_consent if this replica holds no
// consent given by that person for that purpose. Returns the record's id.
Result<std::string> withdraw_consent(
    Replica& replica, const WithdrawalRequest& request,
    const HybridClock::WallClock& wall = HybridClock::system_wall_ms);

// One consent record, with the clock of the change that created it.
struct ConsentEntry {
  std::string id;
  std::string person;
  std::string purpose;
  std::string status;  // given or withdrawn
  std::string captured_at;
  std::string method;
  std::string collected_by;
  std::string device;
  std::optional<std::int64_t> notice_version;
  std::string notice_language;
  std::string notice_hash;
  std::string guardian_name;
  std::string guardian_relation;
  // The creating change: its HLC, origin replica and first counter.
  std::uint64_t hlc = 0;
  std::string origin;
  std::uint64_t counter = 0;
  // Computed, not stored: the person was under 15 at captured_at (from the
  // birth date, else from age band under_15, as the person record holds them
  // now), and for a consent given, the guardian is missing.
  bool minor = false;
  bool incomplete = false;
};

// The state of one purpose for one person: the latest of its records.
struct ConsentState {
  std::string purpose;
  std::optional<ConsentEntry> latest;  // nullopt: nothing recorded on this replica

  bool given() const { return latest && latest->status == "given"; }
  bool incomplete() const { return given() && latest->incomplete; }
  // Consent given and complete: the person may be processed for the purpose.
  bool allows_processing() const { return given() && !latest->incomplete; }
};

// Every consent record of `person` on this replica, oldest first by the HLC
// of its creating change, then origin, then counter.
Result<std::vector<ConsentEntry>> consent_history(Replica& replica, const std::string& person);

// The state of each purpose based on consent, in the model's order.
// Errc::unknown_record if the replica has no such person.
Result<std::vector<ConsentState>> consent_status(Replica& replica, const std::string& person);

// The purposes `person` objected to, or had restricted, as their record
// holds them now (empty when none). Errc::unknown_record.
Result<std::vector<std::string>> objections(Replica& replica, const std::string& person);

// Whether `person` may be processed for `purpose`: never for a purpose listed
// in their objections, whatever its legal basis; otherwise, for a purpose
// based on consent, when the latest consent is given and complete, and for
// another legal basis, always. Errc::unknown_purpose, Errc::unknown_record.
Result<bool> may_process(Replica& replica, const std::string& person, const std::string& purpose);

// The purposes based on consent that a new record of `entity` processes its
// person for: those declared by the entity's `person` reference field (the
// referral's person serves `referral`). Empty for the consent entity itself.
std::vector<std::string> purposes_needing_consent(const schema::Schema& schema,
                                                  const schema::Entity& entity);

// Replica::create_record, refused (nothing written) with Errc::objection
// when the record's person objected to a purpose its `person` field serves
// (an interaction after an objection to follow_up), else with
// Errc::consent_required when the person has not currently given a complete
// consent to one of purposes_needing_consent: this is how a withdrawal or an
// objection stops new records. Clients create records through it.
Result<std::string> create_record_with_consent(Replica& replica, const std::string& entity,
                                               nlohmann::json fields);

}  // namespace relais::store
