// The data model of Relais, loaded from schema/relais.schema.json and the
// numbered migrations beside it. Every other layer reads entities and fields
// from here; no list of fields is written anywhere else.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/error.h"

namespace relais::schema {

enum class FieldType {
  string,  // one line of text, trimmed
  text,    // free text; marked free_text, always with max_length
  integer,
  boolean,
  date,           // calendar date, YYYY-MM-DD
  enumeration,    // one of `values`
  enum_set,       // a set of `values`, stored sorted
  reference,      // id of a record of entity `target`
  reference_set,  // ids of records of entity `target`, stored sorted
  phone,
  email,
  postal_code,  // French postal code, five digits
  datetime,     // an instant in UTC, YYYY-MM-DDTHH:MM:SSZ
};

std::string_view type_name(FieldType type);

// Whose replicas hold an entity's records: a site's (`site` field), the
// site of the person the record is about (`person` field), or all (`shared`).
enum class Scope { site, person, shared };

struct Label {
  std::string fr;
  std::string en;
};

struct Field {
  std::string name;
  FieldType type = FieldType::string;
  bool required = false;
  std::optional<std::size_t> max_length;  // in Unicode code points
  std::vector<std::string> values;        // enumeration and enum_set only
  std::string target;                     // reference and reference_set only
  // Indexed for full-text search on every replica (string, email and phone
  // fields; a phone is found by any run of its digits' start).
  bool searchable = false;
  // RGPD annotations; every field declares them.
  bool personal = false;
  bool sensitive = false;
  bool free_text = false;
  bool share_with_partners = true;
  std::vector<std::string> purposes;
  std::string retention;  // the field's own rule, or its entity's
  Label label;
  int since_version = 1;  // the schema version that introduced the field

  bool allows(std::string_view value) const;
};

struct Entity {
  std::string name;
  Scope scope = Scope::site;
  std::string retention;
  Label label;
  std::vector<Field> fields;
  int since_version = 1;
  // Records are written once and never edited or deleted by a local edit:
  // they are proof (a consent), so a correction is a new record.
  bool append_only = false;

  // The field called `name`, or nullptr.
  const Field* field(std::string_view wanted) const;
};

// The exact text shown to a young person before they consent to a purpose.
// A consent record keeps the version, language and SHA-256 of the text it
// was given on, so a notice is never changed in place: a new wording is a
// new version.
struct Notice {
  int version = 0;
  std::string fr;
  std::string en;

  // The text in `language` ("fr" or "en"), or nullptr for another language.
  const std::string* text(std::string_view language) const;
};

struct Purpose {
  std::string id;
  std::string legal_basis;  // consent, legitimate_interest, public_interest, ...
  std::string retention;
  Label label;
  std::vector<Notice> notices;  // consent purposes only; versions increasing
  // Data held for this purpose may leave the foundation towards a partner
  // (only the fields marked share_with_partners). The register names
  // partners as recipients of such purposes only.
  bool sent_to_partners = false;

  bool consent_based() const { return legal_basis == "consent"; }
  // The notice of `version`, or nullptr.
  const Notice* notice(int version) const;
  // The notice with the highest version, or nullptr if there is none.
  const Notice* latest_notice() const;
};

struct RetentionRule {
  std::string id;
  std::optional<int> period_months;  // nullopt: kept while in use
  std::string from;                  // what the period counts from
  Label label;
};

struct MigrationStep {
  enum class Kind { add_entity, add_field, add_values };
  Kind kind = Kind::add_field;
  std::string entity;
  std::string field;                // add_field, add_values
  std::vector<std::string> values;  // add_values
};

// The steps that take a replica from version - 1 to version.
struct Migration {
  int version = 0;
  std::string description;
  std::vector<MigrationStep> steps;
};

class Schema {
 public:
  // Parses a model and its migrations (in any order). Fails with
  // Errc::schema_invalid naming the first problem: a missing annotation, an
  // unknown purpose, a gap in migration numbers, a step naming nothing.
  static Result<Schema> parse(std::string_view model_json,
                              const std::vector<std::string>& migration_jsons);

  // The model compiled into this program from schema/. Parsed once; aborts
  // the program if the embedded files are invalid (a build defect).
  static const Schema& builtin();

  int version() const { return version_; }
  const std::vector<Entity>& entities() const { return entities_; }
  const std::vector<Purpose>& purposes() const { return purposes_; }
  const std::vector<RetentionRule>& retention_rules() const { return retention_; }
  const std::vector<Migration>& migrations() const { return migrations_; }

  // The entity called `name`, or nullptr.
  const Entity* entity(std::string_view name) const;
  // The purpose called `id`, or nullptr.
  const Purpose* purpose(std::string_view id) const;
  // The entity called `name`, or Errc::unknown_entity listing the known ones.
  Result<const Entity*> find_entity(std::string_view name) const;
  // The field, or Errc::unknown_field naming the entity and its fields.
  static Result<const Field*> find_field(const Entity& entity, std::string_view name);

  // The model as it was at `version`, obtained by undoing the migrations
  // after it (every step only adds, so each can be undone).
  // REQUIRES: 1 <= version <= this->version().
  Schema at_version(int version) const;

 private:
  int version_ = 1;
  std::vector<Entity> entities_;
  std::vector<Purpose> purposes_;
  std::vector<RetentionRule> retention_;
  std::vector<Migration> migrations_;
};

}  // namespace relais::schema
