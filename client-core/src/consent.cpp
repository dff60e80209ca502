#include "relais/store/consent.h"

#include <algorithm>
#include <ctime>
#include <tuple>

#include "relais/schema/validate.h"
#include "relais/store/sha256.h"

namespace relais::store {
namespace {

using nlohmann::json;

// Below this age on the day of capture, consent is given jointly with a
// parent or guardian (French law on online services, art. 45 loi 78-17).
constexpr int kAgeOfConsent = 15;

std::string utc_text(std::uint64_t wall_ms) {
  return utc_iso(static_cast<std::time_t>(wall_ms / 1000));
}

std::string text_of(const json& fields, const char* name) {
  auto it = fields.find(name);
  return it != fields.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Whether the person was under 15 on the date of `captured_at`: from the
// birth date when known (the fifteenth birthday, compared as text, which is
// date order for YYYY-MM-DD), else from the age band.
bool minor_at(const Record& person, const std::string& captured_at) {
  const std::string birth = text_of(person.fields, "birth_date");
  if (schema::is_date(birth) && captured_at.size() >= 10) {
    const int year = std::stoi(birth.substr(0, 4)) + kAgeOfConsent;
    return captured_at.substr(0, 10) < std::to_string(year) + birth.substr(4);
  }
  return text_of(person.fields, "age_band") == "under_15";
}

ConsentEntry entry_of(const Record& record, const Change& created) {
  const json& f = record.fields;
  ConsentEntry e;
  e.id = record.id;
  e.person = text_of(f, "person");
  e.purpose = text_of(f, "purpose");
  e.status = text_of(f, "status");
  e.captured_at = text_of(f, "captured_at");
  e.method = text_of(f, "method");
  e.collected_by = text_of(f, "collected_by");
  e.device = text_of(f, "device");
  if (auto it = f.find("notice_version"); it != f.end() && it->is_number_integer())
    e.notice_version = it->get<std::int64_t>();
  e.notice_language = text_of(f, "notice_language");
  e.notice_hash = text_of(f, "notice_hash");
  e.guardian_name = text_of(f, "guardian_name");
  e.guardian_relation = text_of(f, "guardian_relation");
  e.hlc = created.hlc;
  e.origin = created.origin;
  e.counter = created.first;
  return e;
}

// The person record, live; the errors name what is missing.
Result<Record> live_person(Replica& replica, const std::string& id) {
  auto person = replica.get("person", id);
  if (!person) return person.error();
  if (person->deleted) return make_error(Errc::record_deleted, "person " + id + " was deleted");
  return person;
}

Result<std::string> record_consent(Replica& replica, json fields,
                                   const HybridClock::WallClock& wall) {
  fields["captured_at"] = utc_text(wall());
  fields["collected_by"] = replica.info().user;
  fields["device"] = replica.info().replica_id;
  return replica.create_record(std::string(kConsentEntity), std::move(fields));
}

std::vector<std::string> objections_of(const Record& person) {
  std::vector<std::string> out;
  const auto it = person.fields.find(std::string(kObjectionsField));
  if (it != person.fields.end() && it->is_array())
    for (const auto& v : *it)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

bool objects_to(const Record& person, const std::string& purpose) {
  const auto all = objections_of(person);
  return std::find(all.begin(), all.end(), purpose) != all.end();
}

// The purposes a new record of `entity` processes its person for: those
// declared by its `person` reference field. Empty for the consent entity,
// whose records are proof rather than processing.
std::vector<std::string> purposes_of_person_field(const schema::Entity& entity) {
  const schema::Field* person = entity.field("person");
  if (entity.name == kConsentEntity || person == nullptr || person->target != "person") return {};
  return person->purposes;
}

// Why `state` does not allow processing, for an error message.
std::string reason(const ConsentState& state) {
  if (!state.latest) return "no consent to '" + state.purpose + "' is recorded on this replica";
  if (!state.given())
    return "their consent to '" + state.purpose + "' was withdrawn (" + state.latest->captured_at +
           ")";
  return "their consent to '" + state.purpose +
         "' is incomplete: they were under 15 and no parent or guardian agreed with them";
}

}  // namespace

Result<std::string> notice_sha256(const schema::Notice& notice, std::string_view language) {
  const std::string* text = notice.text(language);
  if (text == nullptr)
    return make_error(Errc::value_not_allowed, "notice language '" + std::string(language) +
                                                   "' is not available (available: fr, en)");
  return sha256_hex(*text);
}

Result<const schema::Purpose*> consent_purpose(const schema::Schema& schema, std::string_view id) {
  const schema::Purpose* p = schema.purpose(id);
  if (p == nullptr) {
    std::string known;
    for (const auto& q : schema.purposes())
      if (q.consent_based()) known += (known.empty() ? "" : ", ") + q.id;
    return make_error(Errc::unknown_purpose, "unknown purpose '" + std::string(id) +
                                                 "' (purposes based on consent: " + known + ")");
  }
  if (!p->consent_based())
    return make_error(Errc::not_consent_purpose,
                      "purpose '" + p->id + "' is not based on consent (its legal basis is " +
                          p->legal_basis + "): there is no consent to give or withdraw");
  return p;
}

Result<std::string> give_consent(Replica& replica, const ConsentRequest& request,
                                 const HybridClock::WallClock& wall) {
  auto purpose = consent_purpose(replica.schema(), request.purpose);
  if (!purpose) return purpose.error();
  if (auto person = live_person(replica, request.person); !person) return person.error();
  const schema::Notice* notice = request.notice_version
                                     ? (*purpose)->notice(*request.notice_version)
                                     : (*purpose)->latest_notice();
  if (notice == nullptr) {
    std::string versions;
    for (const auto& n : (*purpose)->notices)
      versions += (versions.empty() ? "" : ", ") + std::to_string(n.version);
    return make_error(Errc::unknown_notice, "purpose '" + (*purpose)->id +
                                                "' has no notice version " +
                                                std::to_string(request.notice_version.value_or(0)) +
                                                " (versions: " + versions + ")");
  }
  auto hash = notice_sha256(*notice, request.language);
  if (!hash) return hash.error();
  if (request.guardian_name.empty() != request.guardian_relation.empty())
    return make_error(Errc::missing_required,
                      "a guardian needs both a name and a relation (parent or legal_guardian)");
  json fields = {{"person", request.person},
                 {"purpose", (*purpose)->id},
                 {"status", "given"},
                 {"method", request.method},
                 {"notice_version", notice->version},
                 {"notice_language", request.language},
                 {"notice_hash", *hash}};
  if (!request.guardian_name.empty()) {
    fields["guardian_name"] = request.guardian_name;
    fields["guardian_relation"] = request.guardian_relation;
  }
  return record_consent(replica, std::move(fields), wall);
}

Result<std::string> withdraw_consent(Replica& replica, const WithdrawalRequest& request,
                                     const HybridClock::WallClock& wall) {
  auto purpose = consent_purpose(replica.schema(), request.purpose);
  if (!purpose) return purpose.error();
  if (auto person = live_person(replica, request.person); !person) return person.error();
  auto history = consent_history(replica, request.person);
  if (!history) return history.error();
  const bool given_before = std::any_of(history->begin(), history->end(), [&](const auto& e) {
    return e.purpose == (*purpose)->id && e.status == "given";
  });
  if (!given_before)
    return make_error(Errc::no_prior_consent, "person " + request.person + " has no consent to '" +
                                                  (*purpose)->id +
                                                  "' recorded on this replica: there is nothing "
                                                  "to withdraw");
  json fields = {{"person", request.person},
                 {"purpose", (*purpose)->id},
                 {"status", "withdrawn"},
                 {"method", request.method}};
  return record_consent(replica, std::move(fields), wall);
}

Result<std::vector<ConsentEntry>> consent_history(Replica& replica, const std::string& person) {
  auto person_record = replica.get("person", person);
  if (!person_record) return person_record.error();
  // Through the index on consent.person: a person's own records only.
  auto records = replica.referring(std::string(kConsentEntity), "person", person, SIZE_MAX);
  if (!records) return records.error();
  std::vector<ConsentEntry> out;
  for (const Record& r : *records) {
    // Newest first: the last change is the one that created the record.
    auto changes = replica.history(r.id, SIZE_MAX);
    if (!changes) return changes.error();
    if (changes->empty())
      return make_error(Errc::store_corrupt, "consent " + r.id + " has no change in the log");
    ConsentEntry e = entry_of(r, changes->back());
    e.minor = minor_at(*person_record, e.captured_at);
    e.incomplete =
        e.status == "given" && e.minor && (e.guardian_name.empty() || e.guardian_relation.empty());
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const ConsentEntry& a, const ConsentEntry& b) {
    return std::tie(a.hlc, a.origin, a.counter) < std::tie(b.hlc, b.origin, b.counter);
  });
  return out;
}

Result<std::vector<ConsentState>> consent_status(Replica& replica, const std::string& person) {
  auto history = consent_history(replica, person);
  if (!history) return history.error();
  std::vector<ConsentState> out;
  for (const auto& p : replica.schema().purposes()) {
    if (!p.consent_based()) continue;
    ConsentState state{p.id, std::nullopt};
    for (const auto& e : *history)  // oldest first: the last one wins
      if (e.purpose == p.id) state.latest = e;
    out.push_back(std::move(state));
  }
  return out;
}

Result<std::vector<std::string>> objections(Replica& replica, const std::string& person) {
  auto record = replica.get("person", person);
  if (!record) return record.error();
  return objections_of(*record);
}

Result<bool> may_process(Replica& replica, const std::string& person, const std::string& purpose) {
  const schema::Purpose* p = replica.schema().purpose(purpose);
  if (p == nullptr) return consent_purpose(replica.schema(), purpose).error();
  auto record = replica.get("person", person);
  if (!record) return record.error();
  // An objection or a restriction stops the purpose whatever its legal
  // basis: a consent given earlier does not override it.
  if (objects_to(*record, purpose)) return false;
  if (!p->consent_based()) return true;
  auto states = consent_status(replica, person);
  if (!states) return states.error();
  for (const auto& s : *states)
    if (s.purpose == purpose) return s.allows_processing();
  return false;
}

std::vector<std::string> purposes_needing_consent(const schema::Schema& schema,
                                                  const schema::Entity& entity) {
  std::vector<std::string> out;
  for (const auto& id : purposes_of_person_field(entity))
    if (const schema::Purpose* p = schema.purpose(id); p != nullptr && p->consent_based())
      out.push_back(id);
  return out;
}

Result<std::string> create_record_with_consent(Replica& replica, const std::string& entity_name,
                                               json fields) {
  const schema::Entity* entity = replica.schema().entity(entity_name);
  if (entity != nullptr && entity->name == kConsentEntity)
    return make_error(Errc::invalid_argument,
                      "a consent is recorded by giving or withdrawing it (relais consent give or "
                      "withdraw), which fills in its proof: time, author, device and notice");
  const auto processed =
      entity == nullptr ? std::vector<std::string>{} : purposes_of_person_field(*entity);
  const auto needed = entity == nullptr ? std::vector<std::string>{}
                                        : purposes_needing_consent(replica.schema(), *entity);
  if (!processed.empty() && fields.is_object() && fields.contains("person")) {
    // A person id that is malformed or unknown is left to create_record,
    // which names the problem the same way as for any other entity.
    auto id = schema::normalize_value(*entity, *entity->field("person"), fields["person"]);
    auto person = id && id->is_string() ? replica.get("person", id->get<std::string>())
                                        : Result<Record>(make_error(Errc::unknown_record, ""));
    if (person) {
      // Checked before consent: an objection stands even over a consent.
      for (const auto& purpose : processed)
        if (objects_to(*person, purpose))
          return make_error(Errc::objection,
                            "no new " + entity->name + " for person " + person->id +
                                ": they object to, or have restricted, processing for '" + purpose +
                                "' (person." + std::string(kObjectionsField) + ")");
      Result<std::vector<ConsentState>> states = std::vector<ConsentState>{};
      if (!needed.empty()) states = consent_status(replica, person->id);
      if (!states) return states.error();
      for (const auto& state : *states) {
        if (std::find(needed.begin(), needed.end(), state.purpose) == needed.end()) continue;
        if (!state.allows_processing())
          return make_error(Errc::consent_required, "no new " + entity->name + " for person " +
                                                        person->id + ": " + reason(state) +
                                                        "; record the consent first");
      }
    }
  }
  return replica.create_record(entity_name, std::move(fields));
}

}  // namespace relais::store
