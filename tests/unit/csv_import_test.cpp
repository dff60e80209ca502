// Import of contact spreadsheets: RFC 4180 parsing, UTF-8 and Windows-1252,
// separators, column mapping, the checks made before anything is written,
// duplicates within the file and against the persons held, and an import
// of 100,000 lines in one transaction.
#include "relais/exchange/csv_import.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "replicas.h"

namespace relais::exchange {
namespace {

using nlohmann::json;
using testing::code_of;
using testing::must;

using Rows = std::vector<std::vector<std::string>>;

TEST(ParseCsv, ReadsQuotedCellsWithSeparatorsQuotesAndLineEnds) {
  const auto t = must(
      parse_csv("first_name,last_name,note\r\n\"Ines\",\"Le, Fevre\",\"dit \"\"bonjour\"\"\"\r\n"
                "Hugo,Martin,\"deux\r\nlignes\"\r\n\r\nLina,Benali,\n"));
  EXPECT_EQ(t.header, (std::vector<std::string>{"first_name", "last_name", "note"}));
  EXPECT_EQ(t.rows, (Rows{{"Ines", "Le, Fevre", "dit \"bonjour\""},
                          {"Hugo", "Martin", "deux\r\nlignes"},
                          {"Lina", "Benali", ""}}));
  EXPECT_EQ(t.row_lines, (std::vector<std::size_t>{2, 3, 6}));
  EXPECT_EQ(t.separator, ',');
}

TEST(ParseCsv, TakesTheSeparatorTheHeaderUsesAndSkipsAByteOrderMark) {
  const auto t =
      must(parse_csv("\xEF\xBB\xBF"
                     "Prénom;Nom;Ville, quartier\nInès;Lefèvre;Lyon, 8e\n"));
  EXPECT_EQ(t.separator, ';');
  EXPECT_EQ(t.header[0], "Prénom");
  EXPECT_EQ(t.rows, (Rows{{"Inès", "Lefèvre", "Lyon, 8e"}}));
  EXPECT_EQ(must(parse_csv("a;b\n1;2\n", {',', CsvEncoding::automatic})).rows, (Rows{{"1;2"}}));
}

TEST(ParseCsv, ReadsWindows1252WhenTheFileIsNotUtf8) {
  const auto t = must(parse_csv("Nom;Pr\xe9nom\nLec\x9cur;No\xebl \x80\n"));
  EXPECT_EQ(t.encoding, "Windows-1252");
  EXPECT_EQ(t.rows, (Rows{{"Lecœur", "Noël €"}}));
  EXPECT_EQ(must(parse_csv("Nom\nLefèvre\n")).encoding, "UTF-8");
}

TEST(ParseCsv, NamesTheLineOfEachMalformedFile) {
  auto fails = [](std::string_view bytes, CsvOptions o = {}) {
    auto r = parse_csv(bytes, o);
    return r ? std::string("parsed")
             : std::string(errc_name(r.error().code)) + ": " + r.error().message;
  };
  EXPECT_EQ(fails(""), "csv_malformed: the file is empty: no header line");
  EXPECT_EQ(fails("a,b\n1,2\n\"3,4\n"),
            "csv_malformed: line 3: a quote opened here is never closed");
  EXPECT_EQ(fails("a,b\n1,2\nx\"y,4\n"),
            "csv_malformed: line 3: a quote inside a cell that does not start with one (quote the "
            "whole cell, and double the quotes inside it)");
  EXPECT_EQ(fails("a,b\n\"1\"x,2\n"),
            "csv_malformed: line 2: text after the closing quote of a cell");
  EXPECT_EQ(fails("a,b\n1,2\n3\n"),
            "csv_malformed: line 3: 1 cells where the header has 2 (separator ',')");
  EXPECT_EQ(fails("a,a\n1,2\n"), "csv_malformed: line 1: two columns are named 'a'");
  EXPECT_EQ(fails("a,\n1,2\n"), "csv_malformed: line 1: a column has no name");
  EXPECT_EQ(fails("a\n\xe9t\xe9\n", {0, CsvEncoding::utf8}),
            "invalid_encoding: line 2: the file is not UTF-8 (save it as UTF-8, or give "
            "--encoding windows-1252)");
  EXPECT_EQ(fails("a\nx\x81y\n"),
            "invalid_encoding: line 2: byte 0x81 is not a character in Windows-1252");
}

TEST(WriteCsv, IsReadBackCellForCell) {
  const std::vector<std::string> header = {"first_name", "last_name", "note"};
  const Rows rows = {{"Inès", "Le; Fèvre", "dit \"bonjour\""},
                     {"Hugo", " Martin", "deux\r\nlignes"},
                     {"", "Ben,Ali", ""}};
  for (char sep : {';', ','}) {
    const std::string bytes = write_csv(header, rows, sep);
    EXPECT_EQ(bytes.rfind("\xEF\xBB\xBF"
                          "first_name",
                          0),
              0u);
    const auto back = must(parse_csv(bytes));
    EXPECT_EQ(back.separator, sep);
    EXPECT_EQ(back.encoding, "UTF-8");
    EXPECT_EQ(back.header, header);
    EXPECT_EQ(back.rows, rows);
  }
}

TEST(ParseCsv, ReadsOldMacLineEndsAndSkipsRowsOfEmptyCells) {
  const auto t = must(parse_csv("a;b\rInes;Lefevre\r;\r\n;;\rHugo;\"Mar\rtin\"\r"));
  EXPECT_EQ(t.rows, (Rows{{"Ines", "Lefevre"}, {"Hugo", "Mar\rtin"}}));
  EXPECT_EQ(t.row_lines, (std::vector<std::size_t>{2, 5}));
}

TEST(ParseCsv, FindsTheHeaderAfterBlankLines) {
  const auto t = must(parse_csv("\n;;\nNom;Prénom\nLefèvre;Inès\n"));
  EXPECT_EQ(t.header, (std::vector<std::string>{"Nom", "Prénom"}));
  EXPECT_EQ(t.rows, (Rows{{"Lefèvre", "Inès"}}));
  EXPECT_EQ(t.row_lines, (std::vector<std::size_t>{4}));
  auto twice = parse_csv("\nNom;Nom\n");
  EXPECT_EQ(twice.error().message, "line 2: two columns are named 'Nom'");
}

TEST(ParseCsv, RefusesAFileThatIsUtf8OnlyInPart) {
  auto r = parse_csv("Nom\nLefèvre\nB\xe9nard\n");
  EXPECT_EQ(code_of(r), Errc::invalid_encoding);
  EXPECT_EQ(r.error().message,
            "line 3: the file is UTF-8 before this line and not on it: save the whole file again "
            "as UTF-8");
}

TEST(WriteCsv, GuardsFormulasAndKeepsAnEmptySoleCell) {
  const Rows rows = {{"=HYPERLINK(\"x\")"}, {""}, {"@SUM(A1)"}, {"+33612345678"}};
  const std::string bytes = write_csv({"note"}, rows);
  EXPECT_NE(bytes.find("\"'=HYPERLINK(\"\"x\"\")\""), std::string::npos) << bytes;
  EXPECT_NE(bytes.find("\r\n'@SUM(A1)\r\n"), std::string::npos) << bytes;
  EXPECT_EQ(must(parse_csv(bytes)).rows, rows);
}

class Import : public testing::ReplicaTest {
 protected:
  void SetUp() override { r_ = make("r", "samia"); }
  ImportPlan plan(std::string_view csv, const std::map<std::string, std::string>& map = {}) {
    return must(plan_import(*r_, must(parse_csv(csv)), "person", map));
  }
  std::unique_ptr<store::Replica> r_;
};

TEST_F(Import, MapsColumnsByFieldNameOrLabelAndImportsTheLines) {
  const std::string csv =
      "Prénom;NOM;telephone;Date de naissance;Courriel;Remarque\n"
      "Inès;Lefèvre;06 12 34 56 78;14/05/2008;Ines.L@Exemple.fr;vue au forum\n"
      "Hugo;Martin;;2007-01-02;;\n";
  const ImportPlan p = plan(csv);
  EXPECT_EQ(p.mapping,
            (std::vector<std::pair<std::string, std::string>>{{"Prénom", "first_name"},
                                                              {"NOM", "last_name"},
                                                              {"telephone", "phone"},
                                                              {"Date de naissance", "birth_date"},
                                                              {"Courriel", "email"}}));
  EXPECT_EQ(p.ignored_columns, (std::vector<std::string>{"Remarque"}));
  EXPECT_TRUE(p.problems.empty());

  const auto ids = must(run_import(*r_, p));

  ASSERT_EQ(ids.size(), 2u);
  const auto ines = must(r_->get("person", ids[0]));
  EXPECT_EQ(ines.fields.at("first_name"), "Inès");
  EXPECT_EQ(ines.fields.at("phone"), "0612345678");
  EXPECT_EQ(ines.fields.at("birth_date"), "2008-05-14");
  EXPECT_EQ(ines.fields.at("email"), "ines.l@exemple.fr");
  EXPECT_EQ(ines.fields.at("site"), r_->info().site);
  EXPECT_EQ(must(r_->get("person", ids[1])).fields.at("last_name"), "Martin");
  EXPECT_EQ(must(r_->history(std::nullopt, 10)).size(), 2u);  // ordinary edits, which sync
}

TEST_F(Import, AMapRenamesOrIgnoresColumns) {
  const ImportPlan p = plan("Nom de famille,Prénom,Prénom usuel\nLefèvre,Inès,Ines\n",
                            {{"Nom de famille", "last_name"}, {"Prénom usuel", ""}});
  EXPECT_TRUE(p.problems.empty());
  EXPECT_EQ(p.records.at(0), (json{{"first_name", "Inès"}, {"last_name", "Lefèvre"}}));
  EXPECT_EQ(p.ignored_columns, (std::vector<std::string>{"Prénom usuel"}));
}

TEST_F(Import, RefusesAFileWithoutARequiredColumnOrWithAColumnTwice) {
  const auto table = must(parse_csv("Prénom,Ville\nInès,Lyon\n"));
  auto r = plan_import(*r_, table, "person");
  EXPECT_EQ(code_of(r), Errc::missing_required);
  EXPECT_EQ(r.error().message,
            "no column for person.last_name, which is required: name a column 'last_name' or "
            "'Nom', or --map one to it");
  EXPECT_EQ(code_of(plan_import(*r_, must(parse_csv("Nom,last_name,Prénom\na,b,c\n")), "person")),
            Errc::invalid_argument);
  EXPECT_EQ(code_of(plan_import(*r_, table, "person", {{"Ville", "town"}})), Errc::unknown_field);
  EXPECT_EQ(code_of(plan_import(*r_, table, "person", {{"Pays", ""}})), Errc::invalid_argument);
  EXPECT_EQ(code_of(plan_import(*r_, table, "persn")), Errc::unknown_entity);
}

TEST_F(Import, NamesTheLineAndColumnOfEachBadValueAndKeepsTheOthers) {
  const ImportPlan p = plan(
      "Prénom,Nom,Téléphone,Date de naissance\n"
      "Inès,Lefèvre,0612345678,\n"
      "Hugo,Martin,06/12,\n"
      "Lina,,,\n"
      "Zoé,Perrin,,2007-02-30\n");
  ASSERT_EQ(p.problems.size(), 3u);
  EXPECT_EQ(p.problems[0].line, 3u);
  EXPECT_EQ(p.problems[0].column, "Téléphone");
  EXPECT_EQ(p.problems[1].line, 4u);
  EXPECT_EQ(p.problems[1].message, "person.last_name is required");
  EXPECT_EQ(p.problems[2].line, 5u);
  EXPECT_EQ(p.problems[2].column, "Date de naissance");
  EXPECT_EQ(p.invalid_lines, 3u);
  EXPECT_EQ(p.records.size(), 1u);  // what --valid-only would import
  EXPECT_EQ(p.record_lines, (std::vector<std::size_t>{2}));
}

TEST_F(Import, ALineLikeAnEarlierOneIsRefusedAndOneLikeAPersonHeldIsFlagged) {
  const std::string held = must(r_->create_record(
      "person", {{"first_name", "Hugo"}, {"last_name", "Martin"}, {"phone", "0611223344"}}));
  const ImportPlan p = plan(
      "Prénom;Nom;Téléphone\n"
      "Inès;Lefèvre;06 12 34 56 78\n"
      "HUGO;martin;+33 6 11 22 33 44\n"
      "Ines;Lefevre;0612345678\n");
  ASSERT_EQ(p.problems.size(), 2u);
  EXPECT_EQ(p.problems[0].line, 3u);
  EXPECT_FALSE(p.problems[0].blocking);
  EXPECT_NE(p.problems[0].message.find(held), std::string::npos) << p.problems[0].message;
  EXPECT_EQ(p.problems[1].line, 4u);
  EXPECT_TRUE(p.problems[1].blocking);
  EXPECT_EQ(p.problems[1].message.rfind("looks like line 2", 0), 0u) << p.problems[1].message;
  EXPECT_EQ(p.records.size(), 2u);
}

TEST_F(Import, TheSiteIsThisReplicasWhateverAColumnSays) {
  const ImportPlan p = plan("Prénom;Nom;Site\nInès;Lefèvre;marseille\n");
  EXPECT_EQ(p.ignored_columns, (std::vector<std::string>{"Site"}));
  EXPECT_EQ(p.records.at(0).count("site"), 0u);
  const ImportPlan mapped =
      plan("Prénom;Nom;Site\nInès;Lefèvre;marseille\nHugo;Martin;" + r_->info().site + "\n",
           {{"Site", "site"}});
  ASSERT_EQ(mapped.problems.size(), 1u);
  EXPECT_EQ(mapped.problems[0].line, 2u);
  EXPECT_EQ(mapped.records.size(), 1u);
}

TEST_F(Import, EveryLineLikeAnEarlierOneIsRefusedWhateverTheOrderOfTheScores) {
  const ImportPlan p = plan(
      "Prénom;Nom;Téléphone;Date de naissance\n"
      "Inès;Lefèvre;0612345678;2008-05-14\n"
      "Ines;Lefevre;0612345678;2008-05-14\n"
      "Iness;Lefevre;;2008-05-14\n");
  std::vector<std::size_t> refused;
  for (const auto& problem : p.problems)
    if (problem.blocking) refused.push_back(problem.line);
  EXPECT_EQ(refused, (std::vector<std::size_t>{3, 4}));
  EXPECT_EQ(p.records.size(), 1u);
}

TEST_F(Import, WhatOnlyWritingWouldRefuseIsFoundBeforeAnythingIsWritten) {
  const std::string before = must(r_->digest());
  const ImportPlan p = plan(
      "Prénom;Nom;met_at\n"
      "Inès;Lefèvre;\n"
      "Hugo;Martin;01a23cbd-02c1-763f-9432-c41314acf8d9\n");
  ASSERT_EQ(p.problems.size(), 1u);
  EXPECT_EQ(p.problems[0].line, 3u);
  EXPECT_NE(p.problems[0].message.find("no event with id"), std::string::npos)
      << p.problems[0].message;
  EXPECT_EQ(p.records.size(), 1u);
  EXPECT_EQ(must(r_->digest()), before);  // the trial left nothing
  EXPECT_EQ(must(run_import(*r_, p)).size(), 1u);

  // A referral needs the person's consent; consent records are not imported.
  const std::string ines = must(r_->list("person", 10)).at(0).id;
  const auto referrals = must(
      plan_import(*r_, must(parse_csv("person;stage\n" + ines + ";identified\n")), "referral"));
  ASSERT_EQ(referrals.problems.size(), 1u);
  EXPECT_NE(referrals.problems[0].message.find("consent"), std::string::npos);
  EXPECT_EQ(code_of(plan_import(*r_, must(parse_csv("person;purpose\nx;referral\n")), "consent")),
            Errc::append_only);
}

TEST_F(Import, AFailureHalfWayImportsNothing) {
  ImportPlan p = plan("Prénom,Nom\nInès,Lefèvre\nHugo,Martin\n");
  p.records[1]["met_at"] = "01a23cbd-02c1-763f-9432-c41314acf8d9";  // no such event
  const std::string before = must(r_->digest());

  auto r = run_import(*r_, p);

  EXPECT_EQ(code_of(r), Errc::unknown_record);
  EXPECT_EQ(r.error().message.rfind("line 3: ", 0), 0u) << r.error().message;
  EXPECT_EQ(must(r_->digest()), before);
}

TEST_F(Import, OneHundredThousandLinesGoInOneTransaction) {
  std::string csv = "Prénom;Nom;Téléphone\n";
  for (int i = 0; i < 100000; ++i)
    csv += "P" + std::to_string(i) + ";Nom" + std::to_string(i * 7919 % 100003) + ";06" +
           std::to_string(10000000 + i) + "\n";
  const ImportPlan p = plan(csv);
  EXPECT_EQ(p.lines, 100000u);
  EXPECT_EQ(p.invalid_lines, 0u);

  const auto ids = must(run_import(*r_, p));

  EXPECT_EQ(ids.size(), 100000u);
  EXPECT_EQ(must(r_->counts()).at("person"), 100000);
}

}  // namespace
}  // namespace relais::exchange
