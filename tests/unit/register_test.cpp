// The register of processing activities generated from the model: it names
// every purpose with its legal basis, every personal field, and marks the
// sensitive ones, so that a change to the model shows in the register.
#include "relais/schema/register.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "relais/schema/schema.h"

namespace relais::schema {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The part of the register about `purpose`: from its heading to the next.
std::string section_of(const std::string& text, const Purpose& purpose) {
  const std::string heading = "### " + purpose.label.en + " (`" + purpose.id + "`)";
  const auto start = text.find(heading);
  if (start == std::string::npos) return "";
  const auto end = text.find("\n### ", start + heading.size());
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The table row of `entity.field` within a purpose's section, or "".
std::string row_of(const std::string& section, const Entity& e, const Field& f) {
  const auto at = section.find("| " + e.name + " | `" + f.name + "` |");
  if (at == std::string::npos) return "";
  return section.substr(at, section.find('\n', at) - at);
}

TEST(Register, NamesEveryPurposeWithItsLegalBasisAndRetention) {
  const Schema& s = Schema::builtin();
  const std::string text = processing_register(s);

  for (const Purpose& p : s.purposes()) {
    const std::string section = section_of(text, p);
    ASSERT_FALSE(section.empty()) << p.id;
    EXPECT_TRUE(contains(section, "Legal basis: ")) << p.id;
    EXPECT_TRUE(contains(section, "`" + p.legal_basis + "`")) << p.id;
    EXPECT_TRUE(contains(section, "(rule `" + p.retention + "`")) << p.id;
  }
  EXPECT_TRUE(contains(section_of(text, *s.purpose("referral")), "art. 6(1)(a)"));
  EXPECT_TRUE(contains(section_of(text, *s.purpose("follow_up")),
                       "36 months, counted from the last contact"));
}

TEST(Register, ListsEveryPersonalFieldUnderEachPurposeItServes) {
  const Schema& s = Schema::builtin();
  const std::string text = processing_register(s);

  for (const Purpose& p : s.purposes()) {
    const std::string section = section_of(text, p);
    for (const Entity& e : s.entities())
      for (const Field& f : e.fields) {
        const bool serves =
            std::find(f.purposes.begin(), f.purposes.end(), p.id) != f.purposes.end();
        EXPECT_EQ(!row_of(section, e, f).empty(), f.personal && serves)
            << p.id << ": " << e.name << "." << f.name;
      }
  }
}

TEST(Register, MarksSensitiveAndFreeTextFieldsAndOnlyThem) {
  const Schema& s = Schema::builtin();
  const std::string text = processing_register(s);
  const std::string follow_up = section_of(text, *s.purpose("follow_up"));

  for (const Entity& e : s.entities())
    for (const Field& f : e.fields) {
      const std::string row = row_of(follow_up, e, f);
      if (row.empty()) continue;
      EXPECT_EQ(contains(row, "**sensitive**"), f.sensitive) << row;
      EXPECT_EQ(contains(row, "**free text**"), f.free_text) << row;
    }
  EXPECT_TRUE(
      contains(row_of(follow_up, *s.entity("person"), *s.entity("person")->field("followed_by")),
               "**sensitive**"));
  const std::string note =
      row_of(follow_up, *s.entity("interaction"), *s.entity("interaction")->field("note"));
  EXPECT_TRUE(contains(note, "**sensitive**"));
  EXPECT_TRUE(contains(note, "at most 280 characters"));
  EXPECT_TRUE(contains(note, "never sent to partners"));
}

TEST(Register, NamesPartnersOnlyForPurposesSentToThemAndNeverTheirExcludedFields) {
  const Schema& s = Schema::builtin();
  const std::string text = processing_register(s);

  for (const Purpose& p : s.purposes())
    EXPECT_EQ(contains(section_of(text, p), "No partner:"), !p.sent_to_partners) << p.id;
  const std::string referral = section_of(text, *s.purpose("referral"));
  const auto partners = referral.find("- The partner or programme");
  ASSERT_NE(partners, std::string::npos);
  const std::string line = referral.substr(partners, referral.find('\n', partners) - partners);
  const auto never = line.find("Never:");
  for (const Entity& e : s.entities())
    for (const Field& f : e.fields) {
      if (!f.personal ||
          std::find(f.purposes.begin(), f.purposes.end(), "referral") == f.purposes.end())
        continue;
      const auto at = line.find("`" + e.name + "." + f.name + "`");
      ASSERT_NE(at, std::string::npos) << e.name << "." << f.name;
      EXPECT_EQ(never != std::string::npos && at > never, !f.share_with_partners) << f.name;
    }
}

TEST(Register, StatesWhatIsNotBuiltAsPlannedAndNamesThePeopleConcerned) {
  const std::string text = processing_register(Schema::builtin());

  EXPECT_TRUE(contains(text, "## Security measures taken by the software"));
  EXPECT_TRUE(contains(text, "### Planned, not built yet"));
  EXPECT_TRUE(contains(text, "not enforced"));
  EXPECT_TRUE(contains(text, "blackout"));
  EXPECT_TRUE(contains(text, "## Support for the impact assessment (DPIA)"));
  EXPECT_TRUE(contains(text, "`person.followed_by`"));
  EXPECT_TRUE(contains(text,
                       "Parents or guardians of young people under 15 who consented with them: "
                       "`consent.guardian_name` and `consent.guardian_relation`"));
  EXPECT_TRUE(contains(text, "as readers of the young people's data in the access log"));
}

TEST(Register, IsTheSameTextForTheSameModel) {
  EXPECT_EQ(processing_register(Schema::builtin()), processing_register(Schema::builtin()));
}

}  // namespace
}  // namespace relais::schema
