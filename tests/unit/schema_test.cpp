// The data model: the built-in schema, its versions, and what parse refuses.
#include "relais/schema/schema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "replicas.h"

namespace relais::schema {
namespace {

using nlohmann::json;
using testing::describe;

bool has_field(const Schema& s, const std::string& entity, const std::string& field) {
  const Entity* e = s.entity(entity);
  return e != nullptr && e->field(field) != nullptr;
}

TEST(Schema, BuiltinLoadsAtVersionFourWithEveryEntity) {
  const Schema& s = Schema::builtin();

  EXPECT_EQ(s.version(), 4);
  for (const char* name :
       {"person", "event", "interaction", "referral", "partner", "programme", "task", "consent"})
    EXPECT_NE(s.entity(name), nullptr) << name;
  EXPECT_EQ(s.entity("nobody"), nullptr);
  ASSERT_EQ(s.migrations().size(), 3u);
  EXPECT_EQ(s.migrations()[0].version, 2);
  EXPECT_EQ(s.migrations()[1].version, 3);
  EXPECT_EQ(s.migrations()[2].version, 4);
}

TEST(Schema, VersionFourAddsPersonObjectionsListingEveryPurposeButReferenceData) {
  const Schema& s = Schema::builtin();
  const Field* objections = s.entity("person")->field("objections");

  ASSERT_NE(objections, nullptr);
  EXPECT_EQ(objections->type, FieldType::enum_set);
  EXPECT_EQ(objections->since_version, 4);
  EXPECT_TRUE(objections->personal);
  EXPECT_EQ(objections->purposes, std::vector<std::string>{"follow_up"});
  EXPECT_FALSE(objections->label.fr.empty());
  EXPECT_FALSE(objections->label.en.empty());
  std::vector<std::string> expected;
  for (const auto& p : s.purposes())
    if (p.id != "reference_data") expected.push_back(p.id);
  EXPECT_EQ(objections->values, expected);
  EXPECT_FALSE(has_field(s.at_version(3), "person", "objections"));
  EXPECT_TRUE(has_field(s.at_version(3), "person", "preferred_contact"));
}

TEST(Schema, OnlyTheReferralPurposeIsSentToPartners) {
  for (const Purpose& p : Schema::builtin().purposes())
    EXPECT_EQ(p.sent_to_partners, p.id == "referral") << p.id;
}

TEST(Schema, EveryBuiltinFieldHasKnownPurposesAndARetentionRule) {
  const Schema& s = Schema::builtin();
  auto purpose_known = [&](const std::string& id) {
    return std::any_of(s.purposes().begin(), s.purposes().end(),
                       [&](const Purpose& p) { return p.id == id; });
  };
  auto rule_known = [&](const std::string& id) {
    return std::any_of(s.retention_rules().begin(), s.retention_rules().end(),
                       [&](const RetentionRule& r) { return r.id == id; });
  };
  for (const Entity& e : s.entities()) {
    for (const Field& f : e.fields) {
      const std::string where = e.name + "." + f.name;
      EXPECT_FALSE(f.purposes.empty()) << where;
      for (const auto& p : f.purposes) EXPECT_TRUE(purpose_known(p)) << where << ": " << p;
      EXPECT_TRUE(rule_known(f.retention)) << where << ": '" << f.retention << "'";
    }
  }
}

TEST(Schema, FindFieldNamesTheEntityAndItsFieldsWhenUnknown) {
  const Entity& person = *Schema::builtin().entity("person");

  auto missing = Schema::find_field(person, "shoe_size");

  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::unknown_field);
  EXPECT_NE(missing.error().message.find("first_name"), std::string::npos);
  EXPECT_EQ(Schema::builtin().find_entity("nobody").error().code, Errc::unknown_entity);
}

TEST(Schema, AtVersionOneLacksTheFieldsAddedByMigrationTwo) {
  const Schema& now = Schema::builtin();

  const Schema v1 = now.at_version(1);

  EXPECT_EQ(v1.version(), 1);
  EXPECT_TRUE(v1.migrations().empty());
  EXPECT_FALSE(has_field(v1, "person", "preferred_contact"));
  EXPECT_FALSE(has_field(v1, "task", "priority"));
  EXPECT_TRUE(has_field(v1, "person", "first_name"));
  EXPECT_TRUE(has_field(v1, "task", "done"));
  EXPECT_TRUE(has_field(now, "person", "preferred_contact"));
  EXPECT_EQ(now.entity("task")->field("priority")->since_version, 2);
  EXPECT_EQ(now.entity("task")->field("title")->since_version, 1);
}

// A small valid model and its one migration, which each test breaks in one place.
class SchemaParse : public ::testing::Test {
 protected:
  json model_ = json::parse(R"({
    "format": "relais-schema", "version": 2,
    "purposes": [{"id": "follow_up", "legal_basis": "consent", "retention": "keep",
                  "notices": [{"version": 1, "fr": "Texte lu", "en": "Text read"}]}],
    "retention": [{"id": "keep", "period_months": null, "from": "none"}],
    "entities": [{"name": "contact", "scope": "site", "retention": "keep", "fields": [
      {"name": "name", "type": "string", "required": true, "max_length": 40,
       "personal": true, "purposes": ["follow_up"]},
      {"name": "mood", "type": "enum", "values": ["calm", "busy"],
       "personal": false, "purposes": ["follow_up"]}]}]
  })");
  json migration_ = json::parse(R"({
    "version": 2, "steps": [{"add_field": {"entity": "contact", "field": "mood"}}]
  })");

  json& field(const std::string& name) {
    for (auto& f : model_["entities"][0]["fields"])
      if (f["name"] == name) return f;
    throw std::logic_error("no field " + name);
  }

  Result<Schema> parse() const { return Schema::parse(model_.dump(), {migration_.dump()}); }

  // Expects parse() to fail with schema_invalid, the message naming `culprit`.
  void expect_refused(const std::string& culprit) const {
    auto s = parse();
    ASSERT_FALSE(s.ok()) << "the model was accepted";
    EXPECT_EQ(s.error().code, Errc::schema_invalid) << describe(s.error());
    EXPECT_NE(s.error().message.find(culprit), std::string::npos) << describe(s.error());
  }
};

TEST_F(SchemaParse, AcceptsTheValidModel) {
  auto s = parse();
  ASSERT_TRUE(s.ok()) << describe(s.error());
  EXPECT_EQ(s->entity("contact")->field("mood")->since_version, 2);
  EXPECT_EQ(s->entity("contact")->field("name")->retention, "keep");
}

TEST_F(SchemaParse, SentToPartnersDefaultsToFalseAndMustBeABoolean) {
  EXPECT_FALSE(parse()->purpose("follow_up")->sent_to_partners);
  model_["purposes"][0]["sent_to_partners"] = true;
  EXPECT_TRUE(parse()->purpose("follow_up")->sent_to_partners);
  model_["purposes"][0]["sent_to_partners"] = "yes";
  expect_refused("purpose follow_up: 'sent_to_partners' must be true or false");
}

TEST_F(SchemaParse, RefusesAFieldWithoutPersonal) {
  field("name").erase("personal");
  expect_refused("contact.name");
}

TEST_F(SchemaParse, RefusesAFieldWithoutPurposes) {
  field("mood").erase("purposes");
  expect_refused("contact.mood");
}

TEST_F(SchemaParse, RefusesAnUnknownPurpose) {
  field("mood")["purposes"] = {"follow_up", "marketing"};
  expect_refused("marketing");
}

TEST_F(SchemaParse, RefusesAGapInMigrationNumbers) {
  model_["version"] = 3;
  migration_["version"] = 3;  // 2 is missing
  expect_refused("without gaps");
}

TEST_F(SchemaParse, RefusesAVersionWithoutItsMigrations) {
  model_["version"] = 3;
  expect_refused("needs migrations");
}

TEST_F(SchemaParse, RefusesAMigrationStepNamingAnUnknownField) {
  migration_["steps"][0]["add_field"]["field"] = "temper";
  expect_refused("contact.temper");
}

TEST_F(SchemaParse, RefusesAMigrationStepNamingAnUnknownEntity) {
  migration_["steps"][0]["add_field"]["entity"] = "company";
  expect_refused("company");
}

TEST_F(SchemaParse, RefusesAnEnumWithoutValues) {
  field("mood")["values"] = json::array();
  expect_refused("contact.mood");
  field("mood").erase("values");
  expect_refused("contact.mood");
}

TEST_F(SchemaParse, RefusesAnUnknownType) {
  field("mood")["type"] = "colour";
  expect_refused("colour");
}

TEST_F(SchemaParse, RefusesTextThatIsNotJson) {
  auto s = Schema::parse("{\"format\": \"relais-schema\",", {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::schema_invalid);
}

}  // namespace
}  // namespace relais::schema
