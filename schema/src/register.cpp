#include "relais/schema/register.h"

#include <algorithm>
#include <sstream>
#include <string_view>
#include <vector>

namespace relais::schema {
namespace {

// A personal field and the entity it belongs to.
struct FieldRef {
  const Entity* entity;
  const Field* field;
};

bool serves(const Field& f, const std::string& purpose) {
  return std::find(f.purposes.begin(), f.purposes.end(), purpose) != f.purposes.end();
}

std::vector<FieldRef> personal_fields(const Schema& s, const std::string& purpose) {
  std::vector<FieldRef> out;
  for (const auto& e : s.entities())
    for (const auto& f : e.fields)
      if (f.personal && serves(f, purpose)) out.push_back({&e, &f});
  return out;
}

std::string code(std::string_view text) {
  return "`" + std::string(text) + "`";
}

std::string qualified(const FieldRef& r) {
  return code(r.entity->name + "." + r.field->name);
}

// The article of the GDPR behind each legal basis the model may name; an id
// outside this list is printed as it is, for the DPO to complete.
std::string legal_basis_text(const std::string& basis) {
  struct Basis {
    std::string_view id;
    std::string_view text;
  };
  static constexpr Basis kBases[] = {
      {"consent", "consent of the person (art. 6(1)(a))"},
      {"contract", "performance of a contract (art. 6(1)(b))"},
      {"legal_obligation", "legal obligation of the controller (art. 6(1)(c))"},
      {"vital_interest", "vital interests of the person (art. 6(1)(d))"},
      {"public_interest", "task carried out in the public interest (art. 6(1)(e))"},
      {"legitimate_interest", "legitimate interest of the foundation (art. 6(1)(f))"},
  };
  for (const auto& b : kBases)
    if (b.id == basis) return std::string(b.text) + ", " + code(basis);
  return code(basis);
}

std::string counted_from(const std::string& from) {
  if (from == "last_contact") return "counted from the last contact";
  if (from == "record_date") return "counted from the date of the record";
  if (from == "none") return "";
  return "counted from " + code(from);
}

std::string retention_text(const Schema& s, const std::string& id) {
  const auto& rules = s.retention_rules();
  auto it = std::find_if(rules.begin(), rules.end(), [&](const auto& r) { return r.id == id; });
  if (it == rules.end()) return code(id);
  std::string out = it->label.en.empty() ? code(id) : it->label.en;
  out += " (rule " + code(id);
  if (it->period_months) {
    out += ": " + std::to_string(*it->period_months) + " months";
    if (const std::string from = counted_from(it->from); !from.empty()) out += ", " + from;
  } else {
    out += ": no fixed period";
  }
  return out + ")";
}

std::string field_marks(const Field& f, const std::string& purpose_retention) {
  std::vector<std::string> marks;
  if (f.sensitive) marks.push_back("**sensitive**");
  if (f.free_text)
    marks.push_back("**free text**" +
                    (f.max_length ? ", at most " + std::to_string(*f.max_length) + " characters"
                                  : std::string()));
  if (!f.share_with_partners) marks.push_back("never sent to partners");
  if (f.retention != purpose_retention) marks.push_back("kept by rule " + code(f.retention));
  std::string out;
  for (const auto& m : marks) out += (out.empty() ? "" : "; ") + m;
  return out;
}

// "a, b and c", or with `last` "or": "a, b or c".
std::string joined(const std::vector<std::string>& items, std::string_view last = "and") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i == 0 ? "" : i + 1 == items.size() ? " " + std::string(last) + " " : ", ") + items[i];
  return out;
}

// The entities whose `person` reference field serves `purpose`: creating
// one of their records processes that person for the purpose, which is
// where the consent module checks consent and objections.
std::vector<std::string> records_processing(const Schema& s, const std::string& purpose) {
  std::vector<std::string> out;
  for (const auto& e : s.entities()) {
    const Field* person = e.field("person");
    if (e.name != "consent" && person != nullptr && person->target == "person" &&
        serves(*person, purpose))
      out.push_back(code(e.name));
  }
  return out;
}

void write_data(std::ostream& out, const Purpose& p, const std::vector<FieldRef>& fields) {
  out << "#### Categories of data\n\n";
  if (fields.empty()) {
    out << "No personal data: the fields of this purpose describe the foundation's own "
           "activity or its partners and programmes.\n\n";
    return;
  }
  out << "| entity | field | what it holds | marks |\n|---|---|---|---|\n";
  for (const auto& r : fields)
    out << "| " << r.entity->name << " | " << code(r.field->name) << " | " << r.field->label.en
        << " | " << field_marks(*r.field, p.retention) << " |\n";
  out << "\n";
}

void write_people(std::ostream& out, const Purpose& p, const std::vector<FieldRef>& fields) {
  out << "#### Categories of people concerned\n\n";
  if (!fields.empty())
    out << "- Young people the foundation meets and follows, some of them minors.\n";
  if (p.consent_based())
    out << "- Parents or guardians of young people under 15, who consent together with them.\n";
  // Guardian fields are recognised by name: they are the only personal data
  // the model holds about someone other than the young person.
  std::vector<std::string> guardian;
  for (const auto& r : fields)
    if (r.field->name.rfind("guardian", 0) == 0) guardian.push_back(qualified(r));
  if (!guardian.empty())
    out << "- Parents or guardians of young people under 15 who consented with them: "
        << joined(guardian) << ".\n";
  out << "- Staff of the foundation, as the author of each change (their user id is kept with "
         "it in the operation log)"
      << (fields.empty() ? "" : " and as readers of the young people's data in the access log")
      << ".\n\n";
}

void write_recipients(std::ostream& out, const Schema& s, const Purpose& p,
                      const std::vector<FieldRef>& fields) {
  bool by_site = false;
  bool shared = false;
  for (const auto& e : s.entities())
    for (const auto& f : e.fields)
      if (serves(f, p.id)) (e.scope == Scope::shared ? shared : by_site) = true;
  out << "#### Recipients\n\n";
  if (by_site)
    out << "- The foundation's counsellors and site managers of the young person's site: their "
           "devices receive that site's records only.\n";
  if (shared)
    out << "- The foundation's counsellors and site managers of every site, for the shared "
           "reference data.\n";
  out << "- The foundation's central team, its data protection officer (DPO) and the server's "
         "administrators, whose devices receive every site's records.\n";
  if (!p.sent_to_partners) {
    out << "- No partner: the data of this purpose does not leave the foundation.\n\n";
    return;
  }
  std::vector<std::string> shareable;
  std::vector<std::string> kept;
  for (const auto& r : fields)
    (r.field->share_with_partners ? shareable : kept).push_back(qualified(r));
  out << "- The partner or programme the young person is referred to, for these fields only: "
      << (shareable.empty() ? "none" : joined(shareable)) << ".";
  if (!kept.empty()) out << " Never: " << joined(kept) << ".";
  out << " Relais itself sends nothing to partners yet: this is what the model allows.\n\n";
}

void write_rights(std::ostream& out, const Schema& s, const Purpose& p) {
  const auto records = records_processing(s, p.id);
  const Entity* person = s.entity("person");
  const Field* objections = person ? person->field("objections") : nullptr;
  const bool objectable = objections != nullptr && objections->allows(p.id);
  if (!p.consent_based() && !objectable) return;
  out << "#### Consent and objection\n\n";
  if (p.consent_based()) {
    std::vector<std::string> versions;
    for (const auto& n : p.notices) versions.push_back(std::to_string(n.version));
    out << "- Consent is recorded with its proof (`relais consent give`): when, how, by whom, "
           "on which device, and the notice shown ("
        << (versions.size() == 1 ? "version " : "versions ") << joined(versions)
        << ", each in French and English, identified by the SHA-256 of its text). A withdrawal "
           "is recorded the same way.\n";
    if (records.empty())
      out << "- No record of the model is created for this purpose alone: the consent is "
             "recorded and shown (`relais consent show`), and nothing else checks it yet.\n";
    else
      out << "- A new " << joined(records, "or")
          << " record for a young person is refused unless their latest consent is given and "
             "complete (under 15: with a parent or guardian).\n";
  }
  if (objectable) {
    out << "- Objection or restriction is recorded in " << code("person." + objections->name);
    if (records.empty())
      out << "; no record of the model is created for this purpose alone, so nothing more is "
             "checked yet.\n";
    else
      out << ": a new " << joined(records, "or")
          << " record for that young person is then refused (error 707 `objection`), whatever "
             "the legal basis.\n";
  }
  out << "\n";
}

void write_purpose(std::ostream& out, const Schema& s, const Purpose& p) {
  const auto fields = personal_fields(s, p.id);
  out << "### " << p.label.en << " (" << code(p.id) << ")\n\n"
      << "- Legal basis: " << legal_basis_text(p.legal_basis) << ".\n"
      << "- Retention: " << retention_text(s, p.retention) << ".\n";
  if (!p.label.fr.empty()) out << "- In French: " << p.label.fr << ".\n";
  out << "\n";
  write_data(out, p, fields);
  write_people(out, p, fields);
  write_recipients(out, s, p, fields);
  write_rights(out, s, p);
}

constexpr std::string_view kSecurity = R"(## Security measures taken by the software

- **Encryption in transit.** The server speaks TLS 1.2 or 1.3 only and
  refuses plain HTTP. A replica checks the server's certificate against the
  file given when it enrolled (`--ca`: the server's own certificate, which
  pins it, or the authority that issued it) and the host name, and refuses a
  server whose id differs from the one it enrolled with.
- **Device credentials.** A device enrolls once with a one-time code that
  expires; the server keeps only the SHA-256 of each code and credential, so
  a copy of its store does not let anyone sync. The replica keeps its own
  credential in its file.
- **Revocation.** `relais-server device revoke` shuts a device out at its
  next connection (error 502), or at its next push or pull if it is
  connected. Revocation erases nothing already on the device.
- **Scopes per site, enforced by the server.** A counsellor's device receives
  the records of its site and the shared reference data only; the server
  refuses a change to another site's record (505) or by an author who is not
  allowed on that site (506).
- **Consent with its proof.** Consent records are append-only: never edited
  or deleted; each one keeps the version, language and SHA-256 of the notice
  shown. Processing that needs consent is refused without it.
- **Access log.** Every read of a young person's data on a replica (show,
  list, history, conflicts, consent) is logged before anything is shown: who,
  when, which person, which device, never a value. Entries are chained by
  SHA-256, sent to the server at each sync, and the server verifies each
  device's chain and records any gap, reordering or edit. The DPO queries it
  by person (`relais-server audit person`), and, to look into a suspected
  misuse, by member of staff over a period (`audit user`).
- **Erasure everywhere.** An erasure decided by the DPO removes the person,
  their records and the values in their history, then rewrites the SQLite
  file so that no freed page keeps the bytes. The server sends it to every
  device, which applies it before pushing anything and sends back a receipt;
  the DPO sees which devices have not applied it yet (`relais-server rgpd
  status`).
- **Rights of the person.** Requests are recorded with their one-month
  deadline and listed when late; `relais-server rgpd export` hands over
  everything held about a person (JSON and CSV, readable by the DPO only),
  and is itself written to the access log.
- **Retention.** The retention job (`relais-server rgpd retention`, a dry
  run first) erases the young people whose last contact is older than
  their period, on the server and, like any erasure, on every device, and
  deletes access-log entries older than a year (configurable).
- **A device that stays away.** A replica that has not synced for longer
  than the server allows (30 days by default) stops showing young people's
  data until it syncs. The data stays in the file, hidden from the program,
  not deleted: disk encryption still protects it.
- **Objection and restriction.** The purposes a young person objected to are
  recorded on their record, and new records processing them for those
  purposes are refused.
- **No personal data in logs.** The server's log lines hold ids, counts,
  error codes and the IP address of connecting devices, never the values of
  a record's fields.

### Planned, not built yet

- The retention periods of events and tasks (`activity`) are not enforced
  yet.
- Relais does not encrypt the replica file on the device: the device's disk
  encryption must protect it.
- Bundle files written before an erasure, and backups of the server's store,
  still hold the person until they are deleted.

)";

}  // namespace

std::string processing_register(const Schema& s) {
  std::ostringstream out;
  out << "# Register of processing activities\n\n"
      << "The register of the processing done with Relais (RGPD art. 30), generated\n"
         "from the data model (schema version "
      << s.version()
      << ") by `relais schema --register`.\n"
         "Do not edit it by hand: change the model (`schema/relais.schema.json`, see\n"
         "[schema.md](schema.md)) and regenerate it. The controller is the Apprentis\n"
         "d'Auteuil foundation; its own register adds the contact details of the\n"
         "controller and of its data protection officer.\n\n";
  out << "## Purposes\n\n| purpose | legal basis | retention | personal fields "
         "|\n|---|---|---|---|\n";
  for (const auto& p : s.purposes())
    out << "| " << code(p.id) << " | " << code(p.legal_basis) << " | " << code(p.retention) << " | "
        << personal_fields(s, p.id).size() << " |\n";
  out << "\n";
  for (const auto& p : s.purposes()) write_purpose(out, s, p);
  out << kSecurity;

  // The impact assessment support names the model's own sensitive and
  // free-text fields, so a new one shows up here too.
  std::vector<std::string> sensitive;
  std::vector<std::string> free_text;
  for (const auto& e : s.entities())
    for (const auto& f : e.fields) {
      const FieldRef r{&e, &f};
      if (f.sensitive) sensitive.push_back(qualified(r));
      if (f.free_text)
        free_text.push_back(qualified(r) + " (at most " + std::to_string(f.max_length.value_or(0)) +
                            " characters)");
    }
  out << "## Support for the impact assessment (DPIA)\n\n"
      << "The processing concerns vulnerable young people, some of them minors, at\n"
         "scale: a DPIA is expected. The main risks the software meets, and its\n"
         "measures:\n\n"
      << "| risk | measures |\n|---|---|\n"
      << "| A laptop or phone lost or stolen, holding a site's data offline | A counsellor's "
         "device holds its site's records only; revoke it at once (it can no longer sync); the "
         "access log "
         "of reads it made offline reaches the server only if it reconnects. Not built: "
         "encryption of the replica file by Relais (rely on disk encryption), offline "
         "blackout. |\n"
      << "| Data about minors | Under 15 on the day of consent, a parent or guardian must agree "
         "too, otherwise the consent is kept as proof but marked incomplete and does not allow "
         "processing. |\n"
      << "| Free-text notes, which may hold anything | Only " << joined(free_text)
      << ": short, marked free text, never sent to partners, and its reads are logged. |\n"
      << "| Sensitive fields: " << joined(sensitive)
      << " | Marked sensitive in the model and in this register; every read is logged; they "
         "are erased with the person. No access control beyond the site scope is built for "
         "them yet. |\n"
      << "| Use of the access log to watch staff | The log holds who read which person and "
         "when, never a value. Listing it by member of staff (`audit user`) is for the DPO "
         "looking into a suspected misuse, on the server only; staff must be told the log "
         "exists and what it is for. |\n";
  return out.str();
}

}  // namespace relais::schema
