// Checking and normalising values against the model.
#include "relais/schema/validate.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "replicas.h"

namespace relais::schema {
namespace {

using nlohmann::json;
using testing::code_of;
using testing::describe;

// Looks fields up in the built-in model, so tests read `normalize("person.email", ...)`.
class Validate : public ::testing::Test {
 protected:
  static std::pair<const Entity*, const Field*> lookup(const std::string& path) {
    const auto dot = path.find('.');
    const Entity* e = Schema::builtin().entity(path.substr(0, dot));
    if (e == nullptr || e->field(path.substr(dot + 1)) == nullptr)
      throw std::logic_error("no field " + path);
    return {e, e->field(path.substr(dot + 1))};
  }
  static Result<json> normalize(const std::string& path, const json& value) {
    const auto [e, f] = lookup(path);
    return normalize_value(*e, *f, value);
  }
  static Result<json> parse(const std::string& path, std::string_view text) {
    const auto [e, f] = lookup(path);
    return parse_value_text(*e, *f, text);
  }
  // The normalised value, or a string naming the error (so EXPECT_EQ prints it).
  static json norm(const std::string& path, const json& value) {
    auto r = normalize(path, value);
    return r ? *r : json("error " + describe(r.error()));
  }
};

TEST_F(Validate, NullClearsAnyField) {
  EXPECT_EQ(norm("person.first_name", nullptr), nullptr);
  EXPECT_EQ(norm("task.done", nullptr), nullptr);
}

TEST_F(Validate, ValueOfTheWrongJsonTypeIsRefused) {
  EXPECT_EQ(code_of(normalize("person.first_name", 42)), Errc::wrong_type);
  EXPECT_EQ(code_of(normalize("task.done", "yes")), Errc::wrong_type);
  EXPECT_EQ(code_of(normalize("person.interests", "retail")), Errc::wrong_type);
  EXPECT_EQ(code_of(normalize("person.birth_date", json::array())), Errc::wrong_type);
}

TEST_F(Validate, StringsAreTrimmed) {
  EXPECT_EQ(norm("person.first_name", "  Inès \t"), "Inès");
}

TEST_F(Validate, ControlCharactersAreRefusedOutsideFreeText) {
  EXPECT_EQ(code_of(normalize("person.commune", "Lille\nRoubaix")), Errc::invalid_format);
  EXPECT_EQ(norm("interaction.note", "line one\nline two"), "line one\nline two");
}

TEST_F(Validate, EnumValueOutsideTheAllowedListIsRefused) {
  auto r = normalize("person.situation", "astronaut");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::value_not_allowed);
  EXPECT_NE(r.error().message.find("job_seeker"), std::string::npos) << r.error().message;
  EXPECT_EQ(norm("person.situation", "job_seeker"), "job_seeker");
}

TEST_F(Validate, TooLongIsCountedInCodePointsNotBytes) {
  EXPECT_EQ(code_of(normalize("person.first_name", std::string(81, 'a'))), Errc::value_too_long);
  std::string accented;
  for (int i = 0; i < 80; ++i) accented += "é";  // 160 bytes, 80 code points
  EXPECT_EQ(norm("person.first_name", accented), accented);
}

TEST_F(Validate, ImpossibleDatesAreRefused) {
  for (const char* bad : {"2025-02-30", "2025-13-01", "2025-04-31", "2023-02-29", "1900-02-29",
                          "25-02-01", "2025/02/01", "2025-2-1", "2025-02-1x"})
    EXPECT_EQ(code_of(normalize("person.birth_date", bad)), Errc::invalid_format) << bad;
}

TEST_F(Validate, LeapDaysAreDates) {
  EXPECT_EQ(norm("person.birth_date", "2024-02-29"), "2024-02-29");
  EXPECT_EQ(norm("person.birth_date", "2000-02-29"), "2000-02-29");
  EXPECT_TRUE(is_date("2025-12-31"));
}

TEST_F(Validate, EmailIsLowerCased) {
  EXPECT_EQ(norm("person.email", " Ines.Martin@Example.FR "), "ines.martin@example.fr");
  for (const char* bad : {"ines", "@example.fr", "ines@", "ines@example", "a@b@c.fr", "i s@x.fr"})
    EXPECT_EQ(code_of(normalize("person.email", bad)), Errc::invalid_format) << bad;
}

TEST_F(Validate, PhoneSeparatorsAreRemoved) {
  EXPECT_EQ(norm("person.phone", "06 12.34-56 (78)"), "0612345678");
  EXPECT_EQ(norm("person.phone", "+33 6 12 34 56 78"), "+33612345678");
}

TEST_F(Validate, BadPhoneNumbersAreRefused) {
  for (const char* bad : {"06 12 34", "06 12 34 56 7a", "0612+345678", "++33612345678",
                          "1234567890123456", "06/12/34/56/78"})
    EXPECT_EQ(code_of(normalize("person.phone", bad)), Errc::invalid_format) << bad;
}

TEST_F(Validate, PostalCodeIsFiveDigits) {
  EXPECT_EQ(norm("person.postal_code", "59000"), "59000");
  for (const char* bad : {"5900", "590000", "59 00", "2A004"})
    EXPECT_EQ(code_of(normalize("person.postal_code", bad)), Errc::invalid_format) << bad;
}

TEST_F(Validate, EnumSetIsSortedAndDeduplicated) {
  EXPECT_EQ(norm("person.interests", {"retail", "building", "retail", "care"}),
            json({"building", "care", "retail"}));
  EXPECT_EQ(code_of(normalize("person.interests", {"retail", "astronomy"})),
            Errc::value_not_allowed);
}

TEST_F(Validate, ReferenceMustBeACanonicalUuid) {
  EXPECT_EQ(code_of(normalize("interaction.person", "not-an-id")), Errc::invalid_format);
  const std::string id = "0190a7f2-1c3d-7e4f-8a9b-0c1d2e3f4a5b";
  EXPECT_EQ(norm("interaction.person", id), id);
}

TEST_F(Validate, TextBooleansAcceptFrenchAndEnglish) {
  for (const char* yes : {"oui", "OUI", "true", "yes", "1"}) {
    auto r = parse("task.done", yes);
    ASSERT_TRUE(r.ok()) << yes;
    EXPECT_EQ(*r, true) << yes;
  }
  for (const char* no : {"non", "Non", "false", "no", "0"}) {
    auto r = parse("task.done", no);
    ASSERT_TRUE(r.ok()) << no;
    EXPECT_EQ(*r, false) << no;
  }
  EXPECT_EQ(code_of(parse("task.done", "peut-être")), Errc::wrong_type);
}

TEST_F(Validate, TextIsParsedAndNormalisedLikeJson) {
  EXPECT_EQ(*parse("person.interests", " retail, building ,retail,"), json({"building", "retail"}));
  EXPECT_EQ(*parse("person.email", "A@B.FR"), "a@b.fr");
  EXPECT_EQ(*parse("person.commune", "   "), nullptr);
  EXPECT_EQ(code_of(parse("person.birth_date", "2025-02-30")), Errc::invalid_format);
  EXPECT_EQ(code_of(parse("person.situation", "astronaut")), Errc::value_not_allowed);
}

TEST_F(Validate, CheckRequiredWantsEveryRequiredFieldWithAValue) {
  const Entity& person = *Schema::builtin().entity("person");
  const json full = {{"first_name", "Inès"}, {"last_name", "Martin"}, {"site", "nord"}};

  RELAIS_EXPECT_OK(check_required(person, full));
  for (const char* name : {"first_name", "last_name", "site"}) {
    json missing = full, null_value = full, empty = full;
    missing.erase(name);
    null_value[name] = nullptr;
    empty[name] = "";
    EXPECT_EQ(code_of(check_required(person, missing)), Errc::missing_required) << name;
    EXPECT_EQ(code_of(check_required(person, null_value)), Errc::missing_required) << name;
    EXPECT_EQ(code_of(check_required(person, empty)), Errc::missing_required) << name;
  }
}

TEST_F(Validate, IsUuidAcceptsOnlyTheCanonicalLowerCaseForm) {
  EXPECT_TRUE(is_uuid("0190a7f2-1c3d-7e4f-8a9b-0c1d2e3f4a5b"));
  for (const char* bad :
       {"", "0190A7F2-1C3D-7E4F-8A9B-0C1D2E3F4A5B", "0190a7f21c3d-7e4f-8a9b-0c1d2e3f4a5b-",
        "0190a7f2-1c3d-7e4f-8a9b-0c1d2e3f4a5", "0190a7f2-1c3d-7e4f-8a9b-0c1d2e3f4a5g",
        "{190a7f2-1c3d-7e4f-8a9b-0c1d2e3f4a5}"})
    EXPECT_FALSE(is_uuid(bad)) << bad;
}

}  // namespace
}  // namespace relais::schema
