// Full-text search of a replica (Replica::search): word prefixes of the
// searchable fields, accents and case ignored, phones by their digits; the
// index follows local edits, merges and erasures, survives FTS5 syntax in
// what people type, and is rebuilt when a file comes without it.
#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "relais/store/replica.h"
#include "relais/store/sqlite.h"
#include "replicas.h"

namespace relais::store {
namespace {

using nlohmann::json;
using testing::code_of;
using testing::file_holds;
using testing::must;
using testing::person;

using Ids = std::vector<std::string>;

class Search : public testing::ReplicaTest {
 protected:
  void SetUp() override { r_ = make("r"); }

  std::string add(const json& fields) { return must(r_->create_record("person", fields)); }
  // Inès Lefèvre, with a phone and an e-mail.
  std::string add_ines() {
    return add({{"first_name", "Inès"},
                {"last_name", "Lefèvre"},
                {"phone", "06 12 34 56 78"},
                {"email", "ines.lefevre@exemple-mail.fr"}});
  }

  // The ids of the persons `r` finds for `typed`, best first.
  static Ids found_in(Replica& r, std::string_view typed, std::size_t limit = 20) {
    Ids ids;
    for (const auto& rec : must(r.search("person", typed, limit))) ids.push_back(rec.id);
    return ids;
  }
  Ids found(std::string_view typed, std::size_t limit = 20) { return found_in(*r_, typed, limit); }
  std::set<std::string> found_set(std::string_view typed) {
    const Ids ids = found(typed);
    return {ids.begin(), ids.end()};
  }

  std::unique_ptr<Replica> r_;
};

TEST_F(Search, FindsAPersonByAPrefixOfTheFirstOrLastName) {
  const std::string ines = add_ines();
  add(person("Hugo", "Martin"));

  EXPECT_EQ(found("In"), Ids{ines});
  EXPECT_EQ(found("Inès"), Ids{ines});
  EXPECT_EQ(found("Lef"), Ids{ines});
}

TEST_F(Search, ReturnsTheRecordWithItsFields) {
  const std::string ines = add_ines();

  const auto records = must(r_->search("person", "lefevre", 10));

  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].entity, "person");
  EXPECT_EQ(records[0].id, ines);
  EXPECT_FALSE(records[0].deleted);
  EXPECT_EQ(records[0].fields["first_name"], "Inès");
}

TEST_F(Search, MatchesWordPrefixesOnly) {
  add_ines();

  EXPECT_TRUE(found("fèvre").empty());
  EXPECT_TRUE(found("nès").empty());
}

TEST_F(Search, IgnoresAccentsAndCase) {
  const std::string ines = add_ines();

  EXPECT_EQ(found("ines lefevre"), Ids{ines});
  EXPECT_EQ(found("INÈS LEFÈVRE"), Ids{ines});
  EXPECT_EQ(found("iNeS lEfÉvRe"), Ids{ines});
}

TEST_F(Search, FindsALigatureSpeltOutAndTypedAsSuch) {
  const std::string lecoeur = add(person("Lætitia", "Lecœur"));

  EXPECT_EQ(found("laetitia lecoeur"), Ids{lecoeur});
  EXPECT_EQ(found("Lætitia LECŒUR"), Ids{lecoeur});
  EXPECT_EQ(found("lecœ"), Ids{lecoeur});
  EXPECT_EQ(found("Lecoeur"), Ids{lecoeur});
}

TEST_F(Search, RequiresEveryWordToMatch) {
  const std::string ines = add_ines();
  const std::string ines_martin = add(person("Inès", "Martin"));

  EXPECT_EQ(found_set("ines"), (std::set<std::string>{ines, ines_martin}));
  EXPECT_EQ(found("ines mar"), Ids{ines_martin});
  EXPECT_TRUE(found("ines dupont").empty());
}

TEST_F(Search, FindsAPhoneByARunOfItsDigitsWhateverItsSpacing) {
  const std::string ines = add_ines();

  for (const char* typed : {"0612", "0612345678", "06.12.34", "06-12-34-56-78", "(06)12"})
    EXPECT_EQ(found(typed), Ids{ines}) << typed;
  EXPECT_TRUE(found("0699").empty());
}

TEST_F(Search, FindsAPhoneTypedInGroupsAsItIsWritten) {
  const std::string ines = add_ines();

  EXPECT_EQ(found("06 12 34"), Ids{ines});
  EXPECT_EQ(found("06 12 34 56 78"), Ids{ines});
}

TEST_F(Search, FindsAnInternationalFrenchNumberByItsNationalForm) {
  const std::string ines =
      add({{"first_name", "Inès"}, {"last_name", "Lefèvre"}, {"phone", "+33 6 12 34 56 78"}});

  EXPECT_EQ(found("0612"), Ids{ines});
  EXPECT_EQ(found("+33612"), Ids{ines});
  EXPECT_EQ(found("33612345678"), Ids{ines});
}

TEST_F(Search, FindsAPersonByEmail) {
  const std::string ines = add_ines();
  add({{"first_name", "Hugo"}, {"last_name", "Martin"}, {"email", "hugo@autre.org"}});

  EXPECT_EQ(found("ines.lefevre@exemple-mail.fr"), Ids{ines});
  EXPECT_EQ(found("exemple-mail"), Ids{ines});
}

TEST_F(Search, FindsAnEditedNameByItsNewValueOnly) {
  const std::string ines = add(person("Inès", "Lefèvre"));

  must(r_->update_record("person", ines, {{"last_name", "Dupont"}}));

  EXPECT_EQ(found("dupont"), Ids{ines});
  EXPECT_TRUE(found("lefevre").empty());
  EXPECT_EQ(found("ines dupont"), Ids{ines});
}

TEST_F(Search, AClearedFieldIsNoLongerFound) {
  const std::string ines = add_ines();

  must(r_->update_record("person", ines, {{"phone", nullptr}}));

  EXPECT_TRUE(found("0612").empty());
  EXPECT_EQ(found("ines"), Ids{ines});
}

TEST_F(Search, DoesNotFindADeletedRecord) {
  const std::string ines = add_ines();
  const std::string hugo = add(person("Hugo", "Martin"));

  must(r_->delete_record("person", ines));

  EXPECT_TRUE(found("ines").empty());
  EXPECT_TRUE(found("0612").empty());
  EXPECT_EQ(found("hugo"), Ids{hugo});
}

TEST_F(Search, FindsRecordsReceivedFromAnotherReplica) {
  auto other = make("other", "bruno");
  const std::string zoe = must(other->create_record("person", person("Zoé", "Dupont")));

  testing::send(*other, *r_);
  EXPECT_EQ(found("zoe"), Ids{zoe});

  must(other->update_record("person", zoe, {{"last_name", "Moreau"}}));
  testing::sync(*other, *r_);
  EXPECT_EQ(found("zoe moreau"), Ids{zoe});
  EXPECT_TRUE(found("dupont").empty());
}

TEST_F(Search, DoesNotFindARecordDeletedOnAnotherReplica) {
  auto other = make("other", "bruno");
  const std::string ines = add_ines();
  testing::sync(*r_, *other);

  must(other->delete_record("person", ines));
  testing::send(*other, *r_);

  EXPECT_TRUE(found("ines").empty());
}

TEST_F(Search, ReturnsAtMostLimitRecords) {
  for (const char* first : {"Anna", "Bruno", "Chloé", "Driss", "Emma"})
    add(person(first, "Martin"));

  EXPECT_EQ(found("martin", 3).size(), 3u);
  EXPECT_EQ(found("martin", 1).size(), 1u);
  EXPECT_EQ(found("martin", 0).size(), 0u);
  EXPECT_EQ(found("martin", 100).size(), 5u);
}

TEST_F(Search, RefusesAnEntityWithoutSearchableFields) {
  EXPECT_EQ(code_of(r_->search("event", "forum", 10)), Errc::invalid_argument);
  EXPECT_EQ(code_of(r_->search("task", "rappeler", 10)), Errc::invalid_argument);
  EXPECT_EQ(code_of(r_->search("nothing", "x", 10)), Errc::unknown_entity);
}

TEST_F(Search, FindsNothingForBlankOrPunctuationOnlyText) {
  add_ines();

  for (const char* typed : {"", "   ", "*", "-", ":", "\"", "\"\"", "( )", "- * :"})
    EXPECT_TRUE(found(typed).empty()) << typed;
}

TEST_F(Search, TextWithFtsSyntaxNeitherFailsNorMatchesEverything) {
  add_ines();
  add(person("Hugo", "Martin"));
  add(person("Zoé", "Dupont"));

  for (const char* typed : {"\"ines",
                            "ines\"",
                            "in\"es",
                            "ine*",
                            "*ines",
                            "NEAR(ines hugo)",
                            "NEAR(",
                            "ines -hugo",
                            "-hugo ines",
                            "NOT hugo",
                            "ines OR hugo",
                            "hugo AND",
                            "first_name:ines",
                            "last_name:",
                            "{first_name}: hugo",
                            "^ines",
                            "ines + hugo",
                            "hugo)",
                            "(zoe",
                            "'; DROP TABLE person; --"}) {
    auto result = r_->search("person", typed, 10);
    ASSERT_TRUE(result.ok()) << typed << ": " << testing::describe(result.error());
    EXPECT_LT(result->size(), 2u) << typed;
  }
  EXPECT_EQ(must(r_->counts()).at("person"), 3);
}

TEST_F(Search, TakesQuotesAndOperatorsAsPlainText) {
  const std::string ines = add_ines();
  add(person("Hugo", "Martin"));

  EXPECT_EQ(found("\"ines\""), Ids{ines});
  EXPECT_EQ(found("-lefevre"), Ids{ines});
  EXPECT_TRUE(found("ines OR hugo").empty());
}

TEST_F(Search, RebuildsTheIndexWhenTheFileHasNone) {
  const std::string ines = add_ines();
  r_.reset();
  {
    auto db = must(Database::open(path("r"), false));
    must(db.exec("DROP TABLE _search_person; DROP TABLE _search_key_person;"));
  }

  r_ = reopen("r");

  EXPECT_EQ(found("ines lefevre"), Ids{ines});
  EXPECT_EQ(found("0612"), Ids{ines});
  const std::string hugo = add(person("Hugo", "Martin"));
  EXPECT_EQ(found("hugo"), Ids{hugo});
}

TEST_F(Search, RebuildsTheIndexWhenItsKeyTableIsMissing) {
  const std::string ines = add_ines();
  r_.reset();
  {
    auto db = must(Database::open(path("r"), false));
    must(db.exec("DROP TABLE _search_key_person;"));
  }

  r_ = reopen("r");

  RELAIS_EXPECT_OK(r_->create_record("person", person("Hugo", "Martin")));
  const auto result = r_->search("person", "ines", 10);
  RELAIS_EXPECT_OK(result);
  if (result.ok()) {
    EXPECT_EQ(result->size(), 1u);
  }
}

TEST_F(Search, RebuildsAnIndexBuiltAnotherWay) {
  // As an earlier version indexed names: as they are, ligatures kept.
  const std::string lecoeur = add(person("Lætitia", "Lecœur"));
  r_.reset();
  {
    auto db = must(Database::open(path("r"), false));
    must(
        db.exec("DROP TRIGGER _search_person_ai;"
                "CREATE TRIGGER _search_person_ai AFTER INSERT ON person BEGIN SELECT 1; END;"
                "DELETE FROM _search_person;"
                "INSERT INTO _search_person(rowid, first_name, last_name) "
                "SELECT k.k, r.first_name, r.last_name FROM person r JOIN _search_key_person k "
                "ON k.id = r.id;"));
  }

  r_ = reopen("r");

  EXPECT_EQ(found("lecoeur"), Ids{lecoeur});
  const std::string hugo = add(person("Hugo", "Cœurderoy"));
  EXPECT_EQ(found("coeurderoy"), Ids{hugo});
}

TEST_F(Search, AnErasedPersonIsNotFoundAndLeavesNoIndexedWordAfterCompact) {
  const json zephyrine_fields = {
      {"first_name", "Zéphyrine"}, {"last_name", "Quarantaine"}, {"phone", "07 98 76 54 32"}};
  const std::string zephyrine = add(zephyrine_fields);
  const std::string hugo = add(person("Hugo", "Lefebvre"));
  // The index holds its words lower case and without accents.
  ASSERT_TRUE(file_holds(path("r"), "zephyrine"));
  ASSERT_TRUE(file_holds(path("r"), "quarantaine"));

  must(r_->erase_person("erasure-1", zephyrine));
  EXPECT_TRUE(found("zephyrine").empty());
  EXPECT_TRUE(found("0798").empty());
  must(r_->compact());

  for (const char* word : {"zephyrine", "Zéphyrine", "quarantaine", "Quarantaine", "0798765432"})
    EXPECT_FALSE(file_holds(path("r"), word)) << word;
  EXPECT_EQ(found("hugo"), Ids{hugo});
}

}  // namespace
}  // namespace relais::store
