// Search benchmark: how long a person search takes through the JSON API of
// `relais serve` on a replica of 100,000 persons, in-process and over HTTP on
// 127.0.0.1, compared with plain SQLite FTS5 answering the same queries on
// the same rows in the same process. docs/performance.md explains the
// figures and how to run it.
//
// Output: one "key: value" line per figure; lines starting with '#' are
// comments. Exit status 0 unless something failed (a missed goal included:
// it is reported, not treated as a failure).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench_support.h"
#include "http_client.h"
#include "relais/exchange/outbox.h"
#include "relais/schema/schema.h"
#include "relais/schema/validate.h"
#include "relais/serve/api.h"
#include "relais/serve/http.h"
#include "relais/store/change.h"
#include "relais/store/hlc.h"
#include "relais/store/ids.h"
#include "relais/store/replica.h"
#include "relais/sync/accounts.h"
#include "relais/sync/client.h"

namespace {

using relais::bench::check;
using relais::bench::die;

namespace fs = std::filesystem;
using nlohmann::json;
using relais::store::Change;
using relais::store::FieldOp;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kSite = "site-nord";
constexpr std::string_view kUser = "samia";
constexpr std::string_view kPassword = "correct horse battery";
constexpr double kGoalP99Ms = 20.0;   // a search through the API, 99th percentile
constexpr std::size_t kLimit = 20;    // results asked per search, as the web app does
constexpr std::size_t kWarmUp = 100;  // untimed searches before each phase

fs::path g_dir;  // the temporary directory, removed on every exit

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// CPU time of the whole process (user + system), in seconds.
double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU time of the calling thread, in milliseconds.
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

struct Options {
  std::size_t persons = 100000;
  std::size_t searches = 2000;  // timed searches per phase
  bool no_http = false;         // in-process phases only (for a profiler)
  bool keep = false;            // keep the database files (for inspection)
};

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--persons") {
      o.persons = relais::bench::count_option(argc, argv, i);
    } else if (arg == "--searches") {
      o.searches = relais::bench::count_option(argc, argv, i);
    } else if (arg == "--no-http") {
      o.no_http = true;
    } else if (arg == "--keep") {
      o.keep = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << "usage: relais_bench_search [--persons N] [--searches N] [--no-http] [--keep]\n"
                   "  --persons N   persons in the replica (default 100000)\n"
                   "  --searches N  timed searches per phase (default 2000)\n"
                   "  --no-http     skip the phases over HTTP (for a profiler)\n"
                   "  --keep        keep the database files and print where they are\n";
      std::exit(0);
    } else {
      die("unknown option " + std::string(arg) + " (try --help)");
    }
  }
  return o;
}

// --- Realistic persons, generated deterministically.

// Names as written, accents included; plain() gives them as typed without.
// Laid out by hand: accents make some lines wider in bytes than in columns.
// clang-format off
constexpr const char* kFirstNames[] = {
    "Léa", "Emma", "Chloé", "Inès", "Manon", "Jade", "Sarah", "Camille", "Yasmine", "Aïcha",
    "Zoé", "Louise", "Anaïs", "Maëlys", "Océane", "Héloïse", "Mélissa", "Clémence",
    "Noémie", "Fatoumata", "Maïwenn", "Éloïse", "Marie-Ève", "Lucas", "Hugo", "Nathan",
    "Théo", "Mohamed", "Enzo", "Rayan", "Louis", "Mathis", "Kylian", "Noé", "Adam", "Maël",
    "Jérémy", "Timothée", "Anthony", "Bilal", "Sofiane", "Gaël", "Loïc", "Jean-Baptiste",
    "Mehdi", "Quentin", "Aurélien", "Amadou", "Youssef", "Élias", "Maxime", "Kévin",
    "Ismaël", "Benoît", "Raphaël", "Dylan"};
// clang-format on

constexpr const char* kLastNames[] = {
    "Martin",   "Bernard",  "Dubois",   "Thomas",    "Robert",     "Richard",   "Petit",
    "Durand",   "Leroy",    "Moreau",   "Simon",     "Laurent",    "Lefèvre",   "Michel",
    "Garcia",   "David",    "Bertrand", "Roux",      "Vincent",    "Fournier",  "Morel",
    "Girard",   "André",    "Lefebvre", "Mercier",   "Dupont",     "Lambert",   "Bonnet",
    "François", "Martinez", "Legrand",  "Garnier",   "Faure",      "Rousseau",  "Blanc",
    "Guérin",   "Muller",   "Henry",    "Roussel",   "Perrin",     "Morin",     "Mathieu",
    "Clément",  "Gauthier", "Dumont",   "Lopez",     "Fontaine",   "Chevalier", "Masson",
    "Sanchez",  "Gérard",   "Nguyen",   "Boyer",     "Lemaire",    "Duval",     "Joly",
    "Benali",   "Diallo",   "Traoré",   "Da Silva",  "Le Goff",    "N'Diaye",   "Hébert",
    "Dufrêne",  "Caron",    "Lemoine",  "Deschamps", "Carpentier", "Bénard",    "Kaddour",
    "Haddad",   "Saïdi",    "Ferreira", "Coulibaly", "Lecœur",     "Delattre",  "Vandenbussche",
    "Lefranc"};

// The accented letters of the names above and what people type instead.
constexpr std::pair<std::string_view, std::string_view> kUnaccented[] = {
    {"à", "a"}, {"â", "a"}, {"ç", "c"}, {"é", "e"},  {"è", "e"}, {"ê", "e"}, {"ë", "e"},
    {"î", "i"}, {"ï", "i"}, {"ô", "o"}, {"û", "u"},  {"É", "E"}, {"È", "E"}, {"Ê", "E"},
    {"Ë", "E"}, {"Î", "I"}, {"Ô", "O"}, {"œ", "oe"}, {"Œ", "Oe"}};

std::string plain(std::string_view name) {
  std::string out(name);
  for (const auto& [accented, bare] : kUnaccented)
    for (auto at = out.find(accented); at != std::string::npos; at = out.find(accented, at))
      out.replace(at, accented.size(), bare);
  return out;
}

struct Place {
  const char* postal_code;
  const char* commune;
};

constexpr Place kPlaces[] = {
    {"59000", "Lille"},
    {"59100", "Roubaix"},
    {"59200", "Tourcoing"},
    {"59300", "Valenciennes"},
    {"59400", "Cambrai"},
    {"59140", "Dunkerque"},
    {"62000", "Arras"},
    {"62300", "Lens"},
    {"62100", "Calais"},
    {"62200", "Boulogne-sur-Mer"},
    {"59650", "Villeneuve-d'Ascq"},
    {"59500", "Douai"},
};

constexpr const char* kSituations[] = {"neet",        "school_leaver", "job_seeker",
                                       "in_training", "employed",      "other"};
constexpr const char* kChannels[] = {"event",        "street_outreach", "partner", "word_of_mouth",
                                     "social_media", "school",          "other"};
constexpr const char* kMailDomains[] = {"gmail.com", "orange.fr",  "hotmail.fr", "laposte.net",
                                        "free.fr",   "outlook.fr", "sfr.fr",     "yahoo.fr"};

template <class T, std::size_t N>
std::size_t pick_index(std::mt19937_64& rng, const T (&)[N]) {
  return std::uniform_int_distribution<std::size_t>(0, N - 1)(rng);
}

template <class T, std::size_t N>
const T& pick(std::mt19937_64& rng, const T (&pool)[N]) {
  return pool[pick_index(rng, pool)];
}

int between(std::mt19937_64& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

std::string two_digits(int n) {
  return (n < 10 ? "0" : "") + std::to_string(n);
}

// "Da Silva" -> "dasilva", "N'Diaye" -> "ndiaye": the part of an address.
std::string mail_part(std::string_view plain) {
  std::string out;
  for (char c : plain)
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// One person as generated; the record's values are made from it.
struct Person {
  std::string id;
  std::size_t first = 0;  // into kFirstNames
  std::size_t last = 0;   // into kLastNames
  std::string phone;      // as typed: "06 12 34 56 78"
  std::string email;
  std::string birth_date;
};

Person make_person(std::mt19937_64& rng) {
  Person p;
  p.id = relais::store::new_uuid();
  p.first = pick_index(rng, kFirstNames);
  p.last = pick_index(rng, kLastNames);
  p.phone = "06";
  for (int i = 0; i < 4; ++i) p.phone += " " + two_digits(between(rng, 0, 99));
  const int year = between(rng, 1996, 2010);
  p.birth_date = std::to_string(year) + "-" + two_digits(between(rng, 1, 12)) + "-" +
                 two_digits(between(rng, 1, 28));
  const std::string first = mail_part(plain(kFirstNames[p.first]));
  const std::string last = mail_part(plain(kLastNames[p.last]));
  switch (between(rng, 0, 3)) {
    case 0:
      p.email = first + "." + last;
      break;
    case 1:
      p.email = first + "." + last + std::to_string(between(rng, 1, 99));
      break;
    case 2:
      p.email = first.substr(0, 1) + last + two_digits(year % 100);
      break;
    default:
      p.email = first + "_" + last + std::to_string(year);
      break;
  }
  p.email += "@" + std::string(pick(rng, kMailDomains));
  return p;
}

std::vector<Person> make_people(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Person> people;
  people.reserve(count);
  for (std::size_t i = 0; i < count; ++i) people.push_back(make_person(rng));
  return people;
}

// The persons as changes from one fake remote replica, one change each with
// ten fields normalised as the schema does. Applied in batches, they load a
// replica several times faster than one create_record per person (3 s
// against 27 s for 100,000 in docs/performance.md).
std::vector<Change> person_changes(const std::vector<Person>& people,
                                   const relais::schema::Schema& schema) {
  const auto& entity = *schema.entity("person");
  auto normalized = [&](const char* name, const json& value) {
    return check(relais::schema::normalize_value(entity, *entity.field(name), value),
                 std::string("value for ") + name);
  };
  std::mt19937_64 rng(7);
  const std::string origin = relais::store::new_uuid();
  const std::uint64_t hlc0 = relais::store::HybridClock::pack(
      relais::store::HybridClock::system_wall_ms() - 3600 * 1000, 0);
  std::vector<Change> changes;
  changes.reserve(people.size());
  std::uint64_t counter = 1;
  for (std::size_t i = 0; i < people.size(); ++i) {
    const Person& p = people[i];
    const Place& place = pick(rng, kPlaces);
    const std::pair<const char*, json> values[] = {
        {"first_name", kFirstNames[p.first]},
        {"last_name", kLastNames[p.last]},
        {"birth_date", p.birth_date},
        {"phone", p.phone},
        {"email", p.email},
        {"postal_code", place.postal_code},
        {"commune", place.commune},
        {"situation", pick(rng, kSituations)},
        {"channel", pick(rng, kChannels)},
        {"site", kSite},
    };
    Change c;
    c.origin = origin;
    c.first = counter;
    c.hlc = hlc0 + i;
    c.author = "counsellor-17";
    c.entity = "person";
    c.record = p.id;
    c.kind = relais::store::ChangeKind::edit;
    for (const auto& [name, value] : values) c.ops.push_back({name, normalized(name, value), {}});
    counter += c.ops.size();
    changes.push_back(std::move(c));
  }
  return changes;
}

// --- The queries: the same list, in the same order, for every phase.

enum class Kind { prefix3, full_name, no_accents, phone_digits, email_prefix, no_match };
constexpr Kind kKinds[] = {Kind::prefix3,      Kind::full_name,    Kind::no_accents,
                           Kind::phone_digits, Kind::email_prefix, Kind::no_match};

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::prefix3:
      return "prefix3";
    case Kind::full_name:
      return "full_name";
    case Kind::no_accents:
      return "no_accents";
    case Kind::phone_digits:
      return "phone_digits";
    case Kind::email_prefix:
      return "email_prefix";
    case Kind::no_match:
      return "no_match";
  }
  return "?";
}

struct Query {
  Kind kind;
  std::string text;
};

bool has_accent(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// The first `n` characters of UTF-8 text.
std::string utf8_prefix(std::string_view s, std::size_t n) {
  std::size_t end = 0;
  for (std::size_t chars = 0; end < s.size() && chars < n; ++chars) do
      ++end;
    while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80);
  return std::string(s.substr(0, end));
}

std::string digits_of(std::string_view s) {
  std::string out;
  for (char c : s)
    if (std::isdigit(static_cast<unsigned char>(c))) out += c;
  return out;
}

// Names that no generated person has, not even as a prefix of a word.
constexpr const char* kAbsent[] = {"Kowalczyk", "Zygmunt", "Wojcik Ursula", "Yilmaz",
                                   "Quispe",    "Xhaferi", "Oyelaran"};

Query make_query(std::mt19937_64& rng, Kind kind, const std::vector<Person>& people) {
  auto someone = [&]() -> const Person& {
    return people[std::uniform_int_distribution<std::size_t>(0, people.size() - 1)(rng)];
  };
  switch (kind) {
    case Kind::prefix3:
      return {kind, utf8_prefix(kLastNames[someone().last], 3)};
    case Kind::full_name: {
      const Person& p = someone();
      return {kind, std::string(kFirstNames[p.first]) + " " + kLastNames[p.last]};
    }
    case Kind::no_accents: {
      // An accented last name typed without its accents ("lefevre").
      // Not "Lecœur": the baseline's tokenizer keeps the ligature, which the
      // replica's index spells out (see the probes).
      std::size_t last = 0;
      do last = pick_index(rng, kLastNames);
      while (!has_accent(kLastNames[last]) || plain(kLastNames[last]) == "Lecoeur");
      std::string text = plain(kLastNames[last]);
      for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return {kind, text};
    }
    case Kind::phone_digits:
      return {kind,
              digits_of(someone().phone).substr(0, static_cast<std::size_t>(between(rng, 4, 6)))};
    case Kind::email_prefix: {
      const std::string& email = someone().email;
      const auto n = static_cast<std::size_t>(between(rng, 5, 9));
      return {kind, email.substr(0, std::min(n, email.find('@')))};
    }
    case Kind::no_match:
      return {kind, pick(rng, kAbsent)};
  }
  return {kind, ""};
}

std::vector<Query> make_queries(const std::vector<Person>& people, std::size_t count,
                                std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Query> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i)
    out.push_back(make_query(rng, kKinds[i % std::size(kKinds)], people));
  return out;
}

// --- Measures.

// One phase: per search, its wall time and the number of persons it found.
struct Samples {
  std::vector<double> ms;
  std::vector<std::size_t> found;
  std::vector<double> cpu_ms;  // this thread's CPU time, in-process phases only
};

using SearchFn = std::function<std::size_t(const std::string& q)>;

// Runs the first kWarmUp queries untimed, then every query timed.
Samples run_phase(const std::vector<Query>& queries, const SearchFn& search,
                  bool thread_cpu = false) {
  for (std::size_t i = 0; i < std::min(kWarmUp, queries.size()); ++i) search(queries[i].text);
  Samples s;
  for (const auto& q : queries) {
    const double cpu0 = thread_cpu ? thread_cpu_ms() : 0;
    const auto start = Clock::now();
    s.found.push_back(search(q.text));
    s.ms.push_back(ms_since(start));
    if (thread_cpu) s.cpu_ms.push_back(thread_cpu_ms() - cpu0);
  }
  return s;
}

double percentile(std::vector<double> v, double p) {
  // Nearest rank: the smallest value with at least p of the samples at or below it.
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return v[rank - 1];
}

void line(const std::string& key, double value, int decimals, const std::string& note = "") {
  std::printf("%s: %.*f%s%s\n", key.c_str(), decimals, value, note.empty() ? "" : "  ",
              note.c_str());
}

void line(const std::string& key, std::size_t value) {
  std::printf("%s: %zu\n", key.c_str(), value);
}

struct Summary {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

Summary report(const std::string& phase, const Samples& s, const std::vector<Query>& queries) {
  const Summary all{percentile(s.ms, 0.50), percentile(s.ms, 0.90), percentile(s.ms, 0.99),
                    percentile(s.ms, 1.0)};
  line(phase + ".searches", s.ms.size());
  line(phase + ".p50_ms", all.p50, 3);
  line(phase + ".p90_ms", all.p90, 3);
  line(phase + ".p99_ms", all.p99, 3);
  line(phase + ".max_ms", all.max, 3);
  if (!s.cpu_ms.empty()) {
    line(phase + ".cpu_p50_ms", percentile(s.cpu_ms, 0.50), 3);
    line(phase + ".cpu_p99_ms", percentile(s.cpu_ms, 0.99), 3);
  }
  for (Kind k : kKinds) {
    std::vector<double> of_kind;
    for (std::size_t i = 0; i < queries.size(); ++i)
      if (queries[i].kind == k) of_kind.push_back(s.ms[i]);
    const std::string key = phase + "." + kind_name(k);
    line(key + "_p50_ms", percentile(of_kind, 0.50), 3);
    line(key + "_p99_ms", percentile(of_kind, 0.99), 3);
  }
  return all;
}

// How many searches found another number of persons than the baseline.
std::size_t mismatches(const Samples& a, const Samples& baseline) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.found.size(); ++i) n += a.found[i] != baseline.found[i];
  return n;
}

std::string verdict(bool met, const std::string& goal) {
  return "(goal: " + goal + ") " + (met ? "MET" : "MISSED");
}

// --- Plain SQLite FTS5 baseline, through the C API directly.

class PlainFts {
 public:
  explicit PlainFts(const fs::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK)
      die("plain sqlite: cannot open " + path.string());
    // The replica's own pragmas (client-core/src/replica.cpp, set_pragmas).
    exec(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;"
        "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16000;");
    exec(
        "CREATE VIRTUAL TABLE person USING fts5(first_name, last_name, phone, email, "
        "tokenize = 'unicode61 remove_diacritics 2')");
  }
  ~PlainFts() {
    sqlite3_finalize(search_);
    sqlite3_close_v2(db_);
  }
  PlainFts(const PlainFts&) = delete;
  PlainFts& operator=(const PlainFts&) = delete;

  // The four searchable values of each change, 500 rows per transaction like
  // the replica's batches, so that both indexes are built in as many steps.
  void load(const std::vector<Change>& changes) {
    sqlite3_stmt* ins = prepare("INSERT INTO person VALUES(?, ?, ?, ?)");
    for (std::size_t i = 0; i < changes.size(); ++i) {
      if (i % 500 == 0) exec(i == 0 ? "BEGIN" : "COMMIT; BEGIN");
      const auto value = [&](std::string_view field) -> std::string {
        for (const auto& op : changes[i].ops)
          if (op.field == field) return op.value.get<std::string>();
        return "";
      };
      const std::string texts[] = {value("first_name"), value("last_name"),
                                   indexed_phone(value("phone")), value("email")};
      for (int k = 0; k < 4; ++k)
        sqlite3_bind_text(ins, k + 1, texts[k].data(), static_cast<int>(texts[k].size()),
                          SQLITE_TRANSIENT);
      if (sqlite3_step(ins) != SQLITE_DONE)
        die("plain sqlite: " + std::string(sqlite3_errmsg(db_)));
      sqlite3_reset(ins);
    }
    exec("COMMIT");
    sqlite3_finalize(ins);
    search_ = prepare(
        "SELECT rowid, first_name, last_name, phone, email FROM person WHERE person MATCH ? "
        "ORDER BY rank LIMIT ?");
  }

  // The persons matching `typed`, each word a prefix; their values are read
  // as a caller showing them would.
  std::size_t search(const std::string& typed) {
    const std::string match = match_expression(typed);
    sqlite3_bind_text(search_, 1, match.data(), static_cast<int>(match.size()), SQLITE_STATIC);
    sqlite3_bind_int64(search_, 2, static_cast<sqlite3_int64>(kLimit));
    std::size_t n = 0;
    int rc = 0;
    while ((rc = sqlite3_step(search_)) == SQLITE_ROW) {
      ++n;
      for (int k = 1; k <= 4; ++k)
        bytes_read_ += static_cast<std::size_t>(sqlite3_column_bytes(search_, k));
    }
    if (rc != SQLITE_DONE) die("plain sqlite: " + std::string(sqlite3_errmsg(db_)));
    sqlite3_reset(search_);
    return n;
  }

 private:
  // What the replica indexes for a phone (client-core/src/search.cpp,
  // indexed_text): its digits, and a French number also in national form.
  static std::string indexed_phone(const std::string& phone) {
    std::string out = digits_of(phone);
    if (phone.rfind("+33", 0) == 0) out += " 0" + phone.substr(3);
    return out;
  }

  // Each word as a quoted prefix: the expression Replica::search builds for
  // the words of these queries (no quotes, no phone separators in them).
  static std::string match_expression(const std::string& typed) {
    std::string out, word;
    auto flush = [&] {
      if (word.empty()) return;
      out += (out.empty() ? "\"" : " \"") + word + "\"*";
      word.clear();
    };
    for (char c : typed) {
      if (c == ' ')
        flush();
      else
        word += c;
    }
    flush();
    return out;
  }

  void exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      const std::string m = message ? message : "?";
      sqlite3_free(message);
      die("plain sqlite: " + m);
    }
  }

  sqlite3_stmt* prepare(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      die("plain sqlite: " + std::string(sqlite3_errmsg(db_)));
    return s;
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* search_ = nullptr;
  std::size_t bytes_read_ = 0;  // the values read, so that reading them is not skipped
};

// --- The API, in-process and over HTTP.

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string search_query(const std::string& typed) {
  return "q=" + percent_encode(typed) + "&limit=" + std::to_string(kLimit);
}

std::size_t persons_in(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.contains("persons")) die("search: unexpected reply " + body);
  return j["persons"].size();
}

// A browser's calls into Api::handle(), with no socket in between.
class InProcessClient {
 public:
  explicit InProcessClient(relais::serve::Api& api) : api_(api) {}

  void login() {
    relais::serve::HttpRequest req;
    req.method = "POST";
    req.path = "/api/login";
    req.body = json{{"user", kUser}, {"password", kPassword}}.dump();
    req.peer = "127.0.0.1";
    const auto res = api_.handle(req);
    if (res.status != 200) die("login: " + std::to_string(res.status) + " " + res.body);
    for (const auto& [name, value] : res.headers)
      if (name == "Set-Cookie") cookie_ = value.substr(0, value.find(';'));
    if (cookie_.empty()) die("login: no session cookie");
  }

  std::size_t search(const std::string& typed) {
    relais::serve::HttpRequest req;
    req.method = "GET";
    req.path = "/api/search";
    req.query = search_query(typed);
    req.headers = {{"host", "127.0.0.1"}, {"cookie", cookie_}};
    req.peer = "127.0.0.1";
    const auto res = api_.handle(req);
    if (res.status != 200) die("search: " + std::to_string(res.status) + " " + res.body);
    return persons_in(res.body);
  }

 private:
  relais::serve::Api& api_;
  std::string cookie_;
};

// Requests over one kept-alive connection, as a browser sends them: plain
// POSIX sockets, Content-Length bodies only (what the server sends).
class KeepAliveClient {
 public:
  KeepAliveClient(std::uint16_t port, std::string cookie)
      : port_(port), cookie_(std::move(cookie)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) die("socket failed");
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      die("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  ~KeepAliveClient() { ::close(fd_); }
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  // The body of a 200 reply to GET `target`.
  std::string get(const std::string& target) {
    const std::string req = "GET " + target +
                            " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                            "\r\nCookie: " + cookie_ + "\r\n\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      die("send failed");
    std::string raw;
    std::size_t head_end = std::string::npos;
    while ((head_end = raw.find("\r\n\r\n")) == std::string::npos) receive(raw);
    if (raw.rfind("HTTP/1.1 200", 0) != 0) die("search over HTTP: " + raw.substr(0, 80));
    const std::size_t length = content_length(raw.substr(0, head_end));
    while (raw.size() < head_end + 4 + length) receive(raw);
    return raw.substr(head_end + 4, length);
  }

 private:
  void receive(std::string& raw) {
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) die("connection closed by the server");
    raw.append(buf, static_cast<std::size_t>(n));
  }

  static std::size_t content_length(std::string head) {
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto at = head.find("\r\ncontent-length:");
    if (at == std::string::npos) die("a reply without Content-Length");
    return std::strtoull(head.c_str() + at + 17, nullptr, 10);
  }

  std::uint16_t port_;
  std::string cookie_;
  int fd_ = -1;
};

// Creates the replica with its account and loads the persons; returns the
// seconds the load took.
double create_replica(const std::string& path, const std::vector<Change>& changes,
                      const relais::schema::Schema& schema) {
  auto replica =
      check(relais::store::Replica::create(path, std::string(kSite), "bench-user", schema),
            "create replica");
  auto accounts = check(relais::sync::Accounts::open(*replica), "accounts");
  const auto verifier = check(relais::sync::make_password_verifier(kPassword, 1000), "verifier");
  check(accounts.put_local({std::string(kUser), "counsellor", std::string(kSite), verifier, false}),
        "add account");
  const auto start = Clock::now();
  const double cpu0 = process_cpu_s();
  const auto stats = check(relais::exchange::apply_in_batches(*replica, changes), "load persons");
  const double seconds = ms_since(start) / 1000;
  if (stats.applied != changes.size()) die("load: not every person was applied");
  line("load.s", seconds, 2);
  line("load.cpu_s", process_cpu_s() - cpu0, 2);
  line("load.persons_per_s", static_cast<double>(changes.size()) / seconds, 0);
  return seconds;
}

// Removes the temporary directory, or says where it is with --keep.
int finish(const Options& opt) {
  if (opt.keep) {
    std::printf("# files kept in %s\n", g_dir.c_str());
    return 0;
  }
  std::error_code ec;
  fs::remove_all(g_dir, ec);
  if (ec) die("cannot remove " + g_dir.string() + ": " + ec.message());
  return 0;
}

// Phases over HTTP on 127.0.0.1 around the same Api: first one connection per
// request (tests/support/http_client.h), then one kept-alive connection.
void http_phases(relais::serve::Api& api, const std::vector<Query>& queries,
                 const Samples& baseline, double baseline_p99) {
  relais::serve::HttpOptions options;
  options.port = 0;
  auto server =
      check(relais::serve::HttpServer::start(
                options, [&api](const relais::serve::HttpRequest& r) { return api.handle(r); }),
            "start HTTP server");
  std::printf("# http: HttpServer on 127.0.0.1:%u, %u threads\n",
              static_cast<unsigned>(server->port()), options.threads);
  relais::testing::HttpSession session(server->port());
  if (const auto r = session.login(std::string(kUser), std::string(kPassword)); r.status != 200)
    die("login over HTTP: " + r.body);

  std::printf("# http: a new connection per request (Connection: close)\n");
  const Samples close = run_phase(queries, [&](const std::string& q) {
    const auto r = session.get("/api/search?" + search_query(q));
    if (r.status != 200) die("search over HTTP: " + r.body);
    return persons_in(r.body);
  });
  const Summary http = report("http", close, queries);
  line("http.result_mismatches", mismatches(close, baseline));
  line("ratio.http_vs_baseline_p99", http.p99 / baseline_p99, 1);
  line("goal.http_p99_ms", http.p99, 3, verdict(http.p99 < kGoalP99Ms, "< 20 ms"));

  std::printf("# http_keepalive: one connection for every request, TCP_NODELAY\n");
  KeepAliveClient keep(server->port(), session.cookie());
  const Samples kept = run_phase(queries, [&](const std::string& q) {
    return persons_in(keep.get("/api/search?" + search_query(q)));
  });
  const Summary ka = report("http_keepalive", kept, queries);
  line("http_keepalive.result_mismatches", mismatches(kept, baseline));
  line("goal.http_keepalive_p99_ms", ka.p99, 3, verdict(ka.p99 < kGoalP99Ms, "< 20 ms"));
  server->stop();
}

// The API's two steps timed apart, on a second connection to the file: the
// replica's search, then the access log entries that the API writes for what
// it shows (sync::record_reads). What remains of an API call is the request's
// parsing, the session and the JSON of the reply.
void part_phases(const std::string& path, const std::vector<Query>& queries,
                 const relais::schema::Schema& schema) {
  auto replica = check(relais::store::Replica::open(path, schema), "open replica");
  replica->set_user(std::string(kUser));
  const Samples search = run_phase(queries, [&](const std::string& q) {
    return check(replica->search("person", q, kLimit), "search").size();
  });
  std::vector<std::vector<relais::store::Record>> found;
  for (const auto& q : queries)
    found.push_back(check(replica->search("person", q.text, kLimit), "search"));
  report("part.replica_search", search, queries);

  std::vector<double> log_ms, log_cpu_ms;
  for (const auto& records : found) {
    const double cpu0 = thread_cpu_ms();
    const auto start = Clock::now();
    check(relais::sync::record_reads(*replica, records, "search"), "access log");
    log_ms.push_back(ms_since(start));
    log_cpu_ms.push_back(thread_cpu_ms() - cpu0);
  }
  line("part.access_log_p50_ms", percentile(log_ms, 0.50), 3);
  line("part.access_log_p90_ms", percentile(log_ms, 0.90), 3);
  line("part.access_log_p99_ms", percentile(log_ms, 0.99), 3);
  line("part.access_log_max_ms", percentile(log_ms, 1.0), 3);
  line("part.access_log_cpu_p50_ms", percentile(log_cpu_ms, 0.50), 3);
  line("part.access_log_cpu_p99_ms", percentile(log_cpu_ms, 0.99), 3);
}

// Checks of what a counsellor may type, on a sample of persons: is the person
// among the results? Reported, not timed.
void probes(const std::string& path, const std::vector<Person>& people,
            const relais::schema::Schema& schema) {
  auto replica = check(relais::store::Replica::open(path, schema), "open replica");
  constexpr std::size_t kSample = 50;
  auto found = [&](const Person& p, const std::string& typed) {
    const auto r = check(replica->search("person", typed, 100), "search");
    return std::any_of(r.begin(), r.end(), [&](const auto& rec) { return rec.id == p.id; });
  };
  std::size_t contiguous = 0, spaced = 0, last_digits = 0, ligature = 0, ligature_of = 0;
  for (std::size_t k = 0; k < kSample; ++k) {
    const Person& p = people[k * (people.size() / kSample)];
    const std::string digits = digits_of(p.phone);
    contiguous += found(p, digits.substr(0, 8));
    spaced += found(p, p.phone.substr(0, 11));  // "06 12 34 56"
    last_digits += found(p, digits.substr(6));
  }
  for (const Person& p : people)
    if (plain(kLastNames[p.last]) == "Lecoeur" && ligature_of < kSample) {
      ++ligature_of;
      ligature += found(p, plain(kFirstNames[p.first]) + " lecoeur");
    }
  std::printf("# probe: the person is among the first 100 results, of %zu persons each\n", kSample);
  line("probe.phone_8_digits_found", contiguous);
  line("probe.phone_8_digits_spaced_found", spaced);
  line("probe.phone_last_4_digits_found", last_digits);
  // clang-format off
  std::printf("# probe: \"<first> lecoeur\" for persons named Lecœur (%zu of them)\n",
              ligature_of);
  // clang-format on
  line("probe.oe_ligature_found", ligature);
}

}  // namespace

int main(int argc, char** argv) {
  relais::bench::g_name = "relais_bench_search";
  relais::bench::g_cleanup = [] {
    std::error_code ec;
    if (!g_dir.empty()) fs::remove_all(g_dir, ec);
  };
  const Options opt = parse_options(argc, argv);
  const auto& schema = relais::schema::Schema::builtin();

  std::random_device rd;
  g_dir = fs::temp_directory_path() /
          ("relais-bench-search-" + std::to_string(rd()) + std::to_string(rd()));
  fs::create_directories(g_dir);
  const std::string replica_path = (g_dir / "replica.db").string();

  std::printf("# relais_bench_search: SQLite %s, persons=%zu, searches=%zu, limit=%zu\n",
              sqlite3_libversion(), opt.persons, opt.searches, kLimit);
  // Other processes competing for the CPU or the disk change the figures.
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    char load[128] = {};
    if (std::fgets(load, sizeof load, f)) std::printf("# /proc/loadavg at start: %s", load);
    std::fclose(f);
  }

  // --- Data: the replica, and the same rows in a plain FTS5 table.
  const std::vector<Person> people = make_people(opt.persons, 1);
  const std::vector<Change> changes = person_changes(people, schema);
  line("load.persons", people.size());
  create_replica(replica_path, changes, schema);
  PlainFts baseline_db(g_dir / "plain.db");
  {
    const auto start = Clock::now();
    baseline_db.load(changes);
    line("baseline.load_s", ms_since(start) / 1000, 2);
  }
  const std::vector<Query> queries = make_queries(people, opt.searches, 2);
  std::printf(
      "# queries: %zu, kinds in turn: prefix3, full_name, no_accents, phone_digits, "
      "email_prefix, no_match; %zu untimed first in each phase\n",
      queries.size(), kWarmUp);

  // --- Baseline: plain SQLite FTS5, one prepared statement.
  const Samples baseline = run_phase(
      queries, [&](const std::string& q) { return baseline_db.search(q); }, true);
  const Summary base = report("baseline", baseline, queries);

  // --- The API in-process: Api::handle() called directly.
  std::printf(
      "# api: Api::handle() in this thread, no socket: request parsing, session, replica "
      "search, access log write, JSON reply\n");
  relais::serve::ApiOptions api_options;
  api_options.replica = replica_path;
  auto api = check(relais::serve::Api::open(api_options, schema, nullptr), "open API");
  InProcessClient client(*api);
  client.login();
  const Samples in_process = run_phase(
      queries, [&](const std::string& q) { return client.search(q); }, true);
  const Summary a = report("api", in_process, queries);
  line("api.result_mismatches", mismatches(in_process, baseline));
  line("ratio.api_vs_baseline_p50", a.p50 / base.p50, 1);
  line("ratio.api_vs_baseline_p99", a.p99 / base.p99, 1);
  line("goal.api_p99_ms", a.p99, 3, verdict(a.p99 < kGoalP99Ms, "< 20 ms"));

  // --- Over HTTP, then the API's parts timed apart, then checks.
  if (!opt.no_http) {
    try {
      http_phases(*api, queries, baseline, base.p99);
    } catch (const std::exception& e) {
      die(std::string("HTTP: ") + e.what());
    }
  }
  api.reset();
  part_phases(replica_path, queries, schema);
  probes(replica_path, people, schema);
  return finish(opt);
}
