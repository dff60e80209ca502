// Duplicate persons: folding of names, Jaro-Winkler, the score of a pair,
// and a labelled set of pairs (typos, accents, spacing, phone formats,
// swapped names; brothers and sisters, homonyms) on a real replica, with
// the detection rate and the false positives printed.
#include "relais/store/duplicates.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "replicas.h"

namespace relais::store {
namespace {

using nlohmann::json;
using testing::must;

TEST(FoldName, RemovesAccentsCaseSpacingAndSpellsOutLigatures) {
  EXPECT_EQ(fold_name("Inès"), "ines");
  EXPECT_EQ(fold_name("LEFÈVRE"), "lefevre");
  EXPECT_EQ(fold_name("Lecœur"), "lecoeur");
  EXPECT_EQ(fold_name("LÆTITIA"), "laetitia");
  EXPECT_EQ(fold_name("  Jean-Baptiste  "), "jean baptiste");
  EXPECT_EQ(fold_name("N'Diaye"), "n diaye");
  EXPECT_EQ(fold_name("Çağla Öztürk"), "cagla ozturk");
  EXPECT_EQ(fold_name("Łukasz Wójcik"), "lukasz wojcik");
  EXPECT_EQ(fold_name("Ma\xc2\xa0Linh"), "ma linh");  // a no-break space
  EXPECT_EQ(fold_name("محمد"), "محمد");               // another script is kept
  EXPECT_EQ(fold_name(" - ' "), "");
  EXPECT_EQ(fold_name("Ine\xcc\x80s"), "ines");  // decomposed: e and a combining grave
  EXPECT_EQ(fold_name("Ștefan Nguyễn"), "stefan nguyen");
}

TEST(JaroWinkler, GivesTheTextbookValues) {
  EXPECT_NEAR(jaro_winkler("martha", "marhta"), 0.961, 0.001);
  EXPECT_NEAR(jaro_winkler("dwayne", "duane"), 0.840, 0.001);
  EXPECT_NEAR(jaro_winkler("dixon", "dicksonx"), 0.813, 0.001);
  EXPECT_DOUBLE_EQ(jaro_winkler("ines", "ines"), 1.0);
  EXPECT_DOUBLE_EQ(jaro_winkler("hugo", "lina"), 0.0);
  EXPECT_DOUBLE_EQ(jaro_winkler("", "lina"), 0.0);
}

PersonKey key(const std::string& id, const json& fields) {
  return person_key(id, fields);
}

TEST(ComparePersons, SwappedNamesWithTheSameBirthDateAreOnePerson) {
  const auto p = compare_persons(
      key("1", {{"first_name", "Inès"}, {"last_name", "Lefèvre"}, {"birth_date", "2008-05-14"}}),
      key("2", {{"first_name", "LEFEVRE"}, {"last_name", "ines"}, {"birth_date", "2008-05-14"}}));
  EXPECT_NEAR(p.score, 0.85, 1e-9);
  EXPECT_EQ(p.reasons,
            (std::vector<std::string>{"same names, first and last swapped", "same birth date"}));
}

TEST(ComparePersons, APhoneWrittenAnotherWayIsTheSamePhone) {
  const auto p = compare_persons(
      key("1", {{"first_name", "Hugo"}, {"last_name", "Martin"}, {"phone", "+33612345678"}}),
      key("2", {{"first_name", "Hugo"}, {"last_name", "Martin"}, {"phone", "0612345678"}}));
  EXPECT_NEAR(p.score, 0.95, 1e-9);
  EXPECT_EQ(p.reasons[1], "same phone");
}

TEST(ComparePersons, BrothersAndSistersSharingAPhoneAndABirthDateAreNot) {
  const auto p = compare_persons(key("1", {{"first_name", "Hugo"},
                                           {"last_name", "Martin"},
                                           {"phone", "0612345678"},
                                           {"birth_date", "2008-05-14"}}),
                                 key("2", {{"first_name", "Lina"},
                                           {"last_name", "Martin"},
                                           {"phone", "0612345678"},
                                           {"birth_date", "2008-05-14"}}));
  EXPECT_LE(p.score, 0.6);
  EXPECT_EQ(p.reasons.back(), "a name differs");
}

TEST(ComparePersons, HomonymsBornOnOtherDaysAreNot) {
  const auto p = compare_persons(
      key("1", {{"first_name", "Mohamed"}, {"last_name", "Benali"}, {"birth_date", "2007-01-02"}}),
      key("2", {{"first_name", "Mohamed"}, {"last_name", "Benali"}, {"birth_date", "2009-11-30"}}));
  EXPECT_NEAR(p.score, 0.25, 1e-9);
}

// One young person as a counsellor may have written them.
struct Someone {
  std::string first, last, birth_date, phone, email;
  json fields() const {
    json f{{"first_name", first}, {"last_name", last}};
    if (!birth_date.empty()) f["birth_date"] = birth_date;
    if (!phone.empty()) f["phone"] = phone;
    if (!email.empty()) f["email"] = email;
    return f;
  }
};

// Pairs of records of one person, written differently at two events.
const std::vector<std::pair<Someone, Someone>> kSamePerson = {
    // accents and case
    {{"Inès", "Lefèvre", "2008-05-14", "", ""}, {"INES", "LEFEVRE", "2008-05-14", "", ""}},
    {{"Chloé", "Bénard", "", "06 11 22 33 44", ""}, {"chloe", "benard", "", "0611223344", ""}},
    {{"Noémie", "Lecœur", "2007-03-02", "", ""}, {"Noemie", "Lecoeur", "2007-03-02", "", ""}},
    // spacing and hyphens
    {{"Jean-Baptiste", "Dupont", "2006-12-24", "", ""},
     {"Jean Baptiste", "Dupont", "2006-12-24", "", ""}},
    {{"Ma Linh", "Nguyen", "", "", "malinh.n@exemple.fr"},
     {"Ma-Linh", "Nguyen", "", "", "MaLinh.N@exemple.fr"}},
    {{"Fatou", "N'Diaye", "2008-08-08", "", ""}, {"Fatou", "Ndiaye", "2008-08-08", "", ""}},
    // phone formats
    {{"Hugo", "Martin", "", "+33 6 12 34 56 78", ""}, {"Hugo", "Martin", "", "06.12.34.56.78", ""}},
    {{"Yanis", "Haddad", "", "07-98-76-54-32", ""}, {"Yanis", "Hadad", "", "0798765432", ""}},
    {{"Léa", "Roux", "", "+33 (0)6 55 44 33 22", ""},
     {"Lea", "Roux", "2009-02-01", "0655443322", ""}},
    // small typos
    {{"Mohamed", "Benali", "", "0622334455", ""}, {"Mohamd", "Benali", "", "0622334455", ""}},
    {{"Inès", "Lefèvre", "2008-06-01", "", ""}, {"Iens", "Lefevre", "2008-06-01", "", ""}},
    {{"Théo", "Lefebvre", "2007-10-10", "", ""}, {"Theo", "Lefebre", "2007-10-10", "", ""}},
    {{"Kylian", "Moreau", "2008-01-15", "", ""}, {"Kilian", "Moreau", "2008-01-15", "", ""}},
    {{"Amandine", "Giraud", "", "", "a.giraud@exemple.fr"},
     {"Amandine", "Girard", "", "", "a.giraud@exemple.fr"}},
    {{"Sofiane", "Belkacem", "2006-04-04", "", ""}, {"Sofiane", "Belkacen", "2006-04-04", "", ""}},
    // first and last names swapped
    {{"Camille", "Petit", "", "0633445566", ""}, {"Petit", "Camille", "", "0633445566", ""}},
    {{"Aïcha", "Traoré", "2008-09-09", "", ""}, {"TRAORE", "Aicha", "2008-09-09", "", ""}},
};

// Pairs of two young people who share something.
const std::vector<std::pair<Someone, Someone>> kTwoPersons = {
    // brothers and sisters: the family phone, sometimes the birth date
    {{"Hugo", "Garnier", "2008-05-14", "0644556677", ""},
     {"Lina", "Garnier", "2010-02-20", "0644556677", ""}},
    {{"Adam", "Ziani", "2007-07-07", "0655667788", ""},
     {"Sarah", "Ziani", "2007-07-07", "0655667788", ""}},
    {{"Ilyes", "Mansour", "", "", "famille.mansour@exemple.fr"},
     {"Nour", "Mansour", "", "", "famille.mansour@exemple.fr"}},
    // homonyms born on other days
    {{"Mohamed", "Diallo", "2006-01-01", "", ""}, {"Mohamed", "Diallo", "2008-12-31", "", ""}},
    {{"Lucas", "Bernard", "2007-05-05", "0611111111", ""},
     {"Lucas", "Bernard", "2009-09-09", "0622222222", ""}},
    // born on the same day, nothing else in common
    {{"Emma", "Laurent", "2008-03-03", "", ""}, {"Enzo", "Lambert", "2008-03-03", "", ""}},
    {{"Jade", "Simon", "2007-11-11", "", ""}, {"Jules", "Simonet", "2007-11-11", "", ""}},
    // similar names, different persons
    {{"Louis", "Martin", "", "", ""}, {"Louise", "Martine", "", "", ""}},
};

TEST(FindDuplicates, FindsEveryLabelledPairAndNoOther) {
  testing::TempDir dir;
  auto r =
      must(Replica::create(dir.file("central.db"), "lyon", "central", schema::Schema::builtin()));
  std::set<std::pair<std::string, std::string>> same;
  auto add_pair = [&](const Someone& x, const Someone& y) -> std::pair<std::string, std::string> {
    const std::string a = must(r->create_record("person", x.fields()));
    const std::string b = must(r->create_record("person", y.fields()));
    return a < b ? std::pair{a, b} : std::pair{b, a};
  };
  for (const auto& [x, y] : kSamePerson) same.insert(add_pair(x, y));
  for (const auto& [x, y] : kTwoPersons) add_pair(x, y);

  // Down to 0.5, to see how far below the threshold the others stay.
  const auto all = must(find_duplicates(*r, {0.5, 1000}));
  std::vector<DuplicatePair> found;
  for (const auto& p : all) {
    const bool labelled = same.count({p.a, p.b}) > 0;
    if (p.score >= DuplicateOptions{}.min_score) found.push_back(p);
    std::printf("  %.2f %s %s\n", p.score, labelled ? "same person " : "two persons ",
                p.reasons.empty() ? "" : p.reasons[0].c_str());
  }

  std::size_t detected = 0, false_positives = 0;
  for (const auto& p : found) {
    if (same.count({p.a, p.b}))
      ++detected;
    else
      ++false_positives;
  }
  std::printf(
      "duplicates: %zu of %zu labelled pairs detected, %zu false positives of %zu "
      "pairs of different persons\n",
      detected, same.size(), false_positives, kTwoPersons.size());
  EXPECT_EQ(detected, same.size());
  EXPECT_EQ(false_positives, 0u);
  for (std::size_t i = 1; i < found.size(); ++i) EXPECT_GE(found[i - 1].score, found[i].score);
}

TEST(FindDuplicates, ALineToImportIsMatchedWithThePersonHeld) {
  testing::TempDir dir;
  auto r = must(Replica::create(dir.file("r.db"), "lyon", "samia", schema::Schema::builtin()));
  const std::string ines = must(r->create_record(
      "person", {{"first_name", "Inès"}, {"last_name", "Lefèvre"}, {"phone", "0612345678"}}));
  must(r->create_record("person", {{"first_name", "Hugo"}, {"last_name", "Martin"}}));

  const auto matches = must(duplicates_of(
      *r, {{"first_name", "INES"}, {"last_name", "lefevre"}, {"phone", "+33612345678"}}));

  ASSERT_EQ(matches.size(), 1u);
  EXPECT_EQ(matches[0].b, ines);
  EXPECT_TRUE(matches[0].a.empty());
  EXPECT_TRUE(must(duplicates_of(*r, {{"first_name", "Zoé"}, {"last_name", "Perrin"}})).empty());
}

TEST(FindDuplicates, ADeletedPersonIsNotListed) {
  testing::TempDir dir;
  auto r = must(Replica::create(dir.file("r.db"), "lyon", "samia", schema::Schema::builtin()));
  const json ines{{"first_name", "Inès"}, {"last_name", "Lefèvre"}, {"phone", "0612345678"}};
  must(r->create_record("person", ines));
  const std::string twin = must(r->create_record("person", ines));
  ASSERT_EQ(must(find_duplicates(*r)).size(), 1u);

  must(r->delete_record("person", twin));

  EXPECT_TRUE(must(find_duplicates(*r)).empty());
}

}  // namespace
}  // namespace relais::store
