// Duplicate persons: normalisation, scoring, and blocks of candidates.
#include "relais/store/duplicates.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <set>
#include <unordered_map>

namespace relais::store {
namespace {

using nlohmann::json;

// Blocks larger than this say little (everyone born on one day at a big
// site, a very common name): their pairs are not all compared.
constexpr std::size_t kMaxBlock = 200;
// Below this Jaro-Winkler similarity two first (or last) names are not the
// same name mistyped: "Hugo" and "Lina" are 0, "Inès" and "Iens" 0.93.
constexpr double kNameClearlyDiffers = 0.75;

// The ASCII spelling of a Latin letter with a diacritic or a ligature, for
// the code points of Latin-1 and Latin Extended-A (U+00C0 to U+017F); ""
// for one that is not a letter (×, ÷).
std::string_view ascii_of(char32_t c) {
  static constexpr std::string_view kLatin1[] = {
      // U+00C0 to U+00FF
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y"};
  static constexpr std::string_view kExtendedA[] = {
      // U+0100 to U+017F
      "a", "a", "a",  "a",  "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",
      "d", "d", "e",  "e",  "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",
      "g", "g", "g",  "g",  "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",
      "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",
      "l", "l", "l",  "n",  "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",
      "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",
      "s", "s", "t",  "t",  "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
      "u", "u", "u",  "u",  "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s"};
  static_assert(std::size(kLatin1) == 0x40 && std::size(kExtendedA) == 0x80);
  if (c >= 0xC0 && c <= 0xFF) return kLatin1[c - 0xC0];
  if (c >= 0x100 && c <= 0x17F) return kExtendedA[c - 0x100];
  // Latin Extended-B: the Romanian comma letters, Vietnamese horned o and u.
  if (c == 0x218 || c == 0x219) return "s";
  if (c == 0x21A || c == 0x21B) return "t";
  if (c == 0x1A0 || c == 0x1A1) return "o";
  if (c == 0x1AF || c == 0x1B0) return "u";
  // Latin Extended Additional: the Vietnamese vowels with two marks.
  if (c >= 0x1EA0 && c <= 0x1EB7) return "a";
  if (c >= 0x1EB8 && c <= 0x1EC7) return "e";
  if (c >= 0x1EC8 && c <= 0x1ECB) return "i";
  if (c >= 0x1ECC && c <= 0x1EE3) return "o";
  if (c >= 0x1EE4 && c <= 0x1EF1) return "u";
  if (c >= 0x1EF2 && c <= 0x1EF9) return "y";
  return "";
}

// Decodes one UTF-8 sequence at `i` (advancing it); U+FFFD for a bad one.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b = static_cast<unsigned char>(s[i++]);
  if (b < 0x80) return b;
  const int extra = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : -1;
  if (extra < 0) return 0xFFFD;
  char32_t c = b & (0x3F >> extra);
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) return 0xFFFD;
    c = (c << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
  }
  return c;
}

// A phone in the form a French counsellor dials: "+33 6 12..." and
// "0033 6 12..." become "0612...". Other countries keep their + form.
std::string national_phone(const std::string& stored) {
  std::string digits;
  for (char c : stored)
    if ((c >= '0' && c <= '9') || (c == '+' && digits.empty())) digits += c;
  if (digits.starts_with("+33")) return "0" + digits.substr(3);
  if (digits.starts_with("0033")) return "0" + digits.substr(4);
  return digits;
}

std::string text_field(const json& fields, const char* name) {
  auto it = fields.find(name);
  return it != fields.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A rough sound of a folded name, for blocks: French spellings of one sound
// written alike, vowels after the first letter dropped, letters not doubled,
// at most four kept ("lefevre", "lefebvre": "lfvr").
std::string sound_of(const std::string& folded) {
  std::string s;
  for (char c : folded)
    if (c != ' ') s += c;
  std::string out;
  for (std::size_t i = 0; i < s.size() && out.size() < 4; ++i) {
    const char c = s[i];
    const char next = i + 1 < s.size() ? s[i + 1] : '\0';
    std::string sound(1, c);
    if (c == 'p' && next == 'h') {
      sound = "f";
      ++i;
    } else if (c == 'q' || (c == 'c' && next != 'e' && next != 'i' && next != 'y')) {
      sound = "k";
      if (next == 'u' || next == 'k') ++i;
    } else if (c == 'c' || c == 'z') {
      sound = "s";
    } else if (c == 'w') {
      sound = "v";
    } else if (c == 'b' && next == 'v') {
      sound = "v";
      ++i;
    } else if (c == 'h') {
      sound = "";
    } else if (std::string_view("aeiouy").find(c) != std::string_view::npos) {
      sound = out.empty() && i == 0 ? std::string(1, c) : "";
    }
    if (!sound.empty() && (out.empty() || out.back() != sound[0])) out += sound;
  }
  return out;
}

struct NamesAlike {
  double first = 0;  // similarity of the first names, and of the last names,
  double last = 0;   // in the better order
  bool swapped = false;
  // The last name weighs more: first names are shared by many.
  double overall() const { return 0.4 * first + 0.6 * last; }
};

// The two names of two persons compared as written, or with first and last
// names swapped, whichever is closer.
NamesAlike names_alike(const PersonKey& a, const PersonKey& b) {
  if (a.first.empty() || a.last.empty() || b.first.empty() || b.last.empty()) return {};
  const NamesAlike straight{jaro_winkler(a.first, b.first), jaro_winkler(a.last, b.last), false};
  const NamesAlike crossed{jaro_winkler(a.first, b.last), jaro_winkler(a.last, b.first), true};
  return crossed.overall() > straight.overall() + 1e-9 ? crossed : straight;
}

std::string percent(double v) {
  return std::to_string(static_cast<int>(v * 100 + 0.5)) + "%";
}

// The keys of the blocks `k` belongs to.
std::vector<std::string> blocks_of(const PersonKey& k) {
  std::vector<std::string> out;
  if (!k.phone.empty()) out.push_back("p:" + k.phone);
  if (!k.email.empty()) out.push_back("e:" + k.email);
  if (!k.birth_date.empty()) out.push_back("b:" + k.birth_date);
  if (!k.last.empty() && !k.first.empty()) {
    out.push_back("n:" + sound_of(k.last) + k.first.substr(0, 1));
    out.push_back("n:" + sound_of(k.first) + k.last.substr(0, 1));  // swapped
  }
  return out;
}

Result<std::vector<PersonKey>> live_persons(Replica& replica) {
  auto persons = replica.list("person", SIZE_MAX);
  if (!persons) return persons.error();
  std::vector<PersonKey> keys;
  keys.reserve(persons->size());
  for (const auto& p : *persons) keys.push_back(person_key(p.id, p.fields));
  return keys;
}

void best_first(std::vector<DuplicatePair>& pairs, std::size_t limit) {
  std::stable_sort(pairs.begin(), pairs.end(), [](const auto& x, const auto& y) {
    return std::tie(y.score, x.a, x.b) < std::tie(x.score, y.a, y.b);
  });
  if (pairs.size() > limit) pairs.resize(limit);
}

}  // namespace

std::string fold_name(std::string_view name) {
  std::string out;
  bool gap = false;
  for (std::size_t i = 0; i < name.size();) {
    const std::size_t start = i;
    const char32_t c = next_code_point(name, i);
    std::string_view letters;
    char ascii[2] = {0, 0};
    if (c >= 0x300 && c <= 0x36F) continue;  // a combining accent (decomposed text)
    if (!ascii_of(c).empty()) {
      letters = ascii_of(c);
    } else if (c > 0x17F && c != 0xFFFD && !(c >= 0x2000 && c <= 0x206F)) {
      letters = name.substr(start, i - start);  // another script: kept as written
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      ascii[0] = static_cast<char>(c);
      letters = ascii;
    } else if (c >= 'A' && c <= 'Z') {
      ascii[0] = static_cast<char>(c - 'A' + 'a');
      letters = ascii;
    } else {
      letters = ascii_of(c);
    }
    if (letters.empty()) {
      gap = !out.empty();
      continue;
    }
    if (gap) out += ' ';
    gap = false;
    out += letters;
  }
  return out;
}

double jaro_winkler(std::string_view a, std::string_view b) {
  if (a.empty() && b.empty()) return 1.0;
  if (a.empty() || b.empty()) return 0.0;
  if (a == b) return 1.0;
  const std::size_t window = std::max<std::size_t>(std::max(a.size(), b.size()) / 2, 1) - 1;
  std::vector<bool> used_a(a.size()), used_b(b.size());
  std::size_t matches = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::size_t from = i > window ? i - window : 0;
    const std::size_t to = std::min(b.size(), i + window + 1);
    for (std::size_t j = from; j < to; ++j)
      if (!used_b[j] && a[i] == b[j]) {
        used_a[i] = used_b[j] = true;
        ++matches;
        break;
      }
  }
  if (matches == 0) return 0.0;
  std::size_t transpositions = 0;
  for (std::size_t i = 0, j = 0; i < a.size(); ++i) {
    if (!used_a[i]) continue;
    while (!used_b[j]) ++j;
    if (a[i] != b[j]) ++transpositions;
    ++j;
  }
  const double m = static_cast<double>(matches);
  const double jaro = (m / static_cast<double>(a.size()) + m / static_cast<double>(b.size()) +
                       (m - static_cast<double>(transpositions) / 2) / m) /
                      3;
  std::size_t prefix = 0;
  while (prefix < 4 && prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  return jaro + static_cast<double>(prefix) * 0.1 * (1 - jaro);
}

PersonKey person_key(const std::string& id, const json& fields) {
  PersonKey k;
  k.id = id;
  k.site = text_field(fields, "site");
  k.first = fold_name(text_field(fields, "first_name"));
  k.last = fold_name(text_field(fields, "last_name"));
  k.birth_date = text_field(fields, "birth_date");
  k.phone = national_phone(text_field(fields, "phone"));
  k.email = text_field(fields, "email");
  for (auto& c : k.email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return k;
}

DuplicatePair compare_persons(const PersonKey& a, const PersonKey& b) {
  DuplicatePair out;
  out.a = std::min(a.id, b.id);
  out.b = std::max(a.id, b.id);
  const NamesAlike alike = names_alike(a, b);
  const double names = alike.overall();
  double score = 0.6 * names;
  if (names >= 0.999)
    out.reasons.push_back(alike.swapped ? "same names, first and last swapped" : "same names");
  else if (names > 0)
    out.reasons.push_back(std::string("names alike") + (alike.swapped ? ", swapped" : "") + " (" +
                          percent(names) + ")");
  const bool same_phone = !a.phone.empty() && a.phone == b.phone;
  const bool same_email = !a.email.empty() && a.email == b.email;
  if (same_phone) out.reasons.push_back("same phone");
  if (same_email) out.reasons.push_back("same e-mail");
  if (same_phone || same_email) score += 0.35;
  if (!a.birth_date.empty() && !b.birth_date.empty()) {
    if (a.birth_date == b.birth_date) {
      score += 0.25;
      out.reasons.push_back("same birth date");
    } else {
      score -= 0.35;
      out.reasons.push_back("different birth dates");
    }
  }
  // One of the names clearly differs (brothers and sisters, twins, who share
  // a phone, a last name, even a birth date): not the same person, whatever
  // else they share.
  if (alike.first < kNameClearlyDiffers || alike.last < kNameClearlyDiffers) {
    score = std::min(score, 0.6);
    if (names > 0) out.reasons.push_back("a name differs");
  }
  out.score = std::clamp(score, 0.0, 1.0);
  return out;
}

PersonIndex::PersonIndex(const std::vector<PersonKey>& keys) {
  for (std::size_t i = 0; i < keys.size(); ++i)
    for (auto& block : blocks_of(keys[i])) blocks_[std::move(block)].push_back(i);
}

std::vector<std::size_t> PersonIndex::near(const PersonKey& key) const {
  std::set<std::size_t> out;
  for (const auto& block : blocks_of(key)) {
    auto it = blocks_.find(block);
    if (it == blocks_.end() || it->second.size() > kMaxBlock) continue;
    out.insert(it->second.begin(), it->second.end());
  }
  return {out.begin(), out.end()};
}

void PersonIndex::each_pair(const std::function<void(std::size_t, std::size_t)>& pair) const {
  for (const auto& [block, members] : blocks_) {
    if (members.size() < 2 || members.size() > kMaxBlock) continue;
    for (std::size_t x = 0; x < members.size(); ++x)
      for (std::size_t y = x + 1; y < members.size(); ++y) {
        const auto [i, j] = std::minmax(members[x], members[y]);
        if (i != j) pair(i, j);
      }
  }
}

std::vector<std::pair<std::size_t, std::size_t>> duplicates_among(
    const std::vector<PersonKey>& keys, double min_score) {
  std::map<std::pair<std::size_t, std::size_t>, double> found;
  PersonIndex(keys).each_pair([&](std::size_t i, std::size_t j) {
    if (found.count({i, j})) return;
    const double score = compare_persons(keys[i], keys[j]).score;
    if (score >= min_score) found[{i, j}] = score;
  });
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (const auto& [pair, score] : found) out.push_back(pair);
  std::stable_sort(out.begin(), out.end(),
                   [&](const auto& x, const auto& y) { return found[x] > found[y]; });
  return out;
}

Result<std::vector<DuplicatePair>> find_duplicates(Replica& replica,
                                                   const DuplicateOptions& options) {
  auto keys = live_persons(replica);
  if (!keys) return keys.error();
  std::vector<DuplicatePair> out;
  for (const auto& [i, j] : duplicates_among(*keys, options.min_score))
    out.push_back(compare_persons((*keys)[i], (*keys)[j]));
  best_first(out, options.limit);
  return out;
}

Result<std::vector<DuplicatePair>> duplicates_of(Replica& replica, const json& fields,
                                                 const DuplicateOptions& options) {
  auto keys = live_persons(replica);
  if (!keys) return keys.error();
  const PersonIndex index(*keys);
  const PersonKey candidate = person_key("", fields);
  std::vector<DuplicatePair> out;
  for (std::size_t i : index.near(candidate)) {
    DuplicatePair p = compare_persons(candidate, (*keys)[i]);
    p.a.clear();
    p.b = (*keys)[i].id;
    if (p.score >= options.min_score) out.push_back(std::move(p));
  }
  best_first(out, options.limit);
  return out;
}

}  // namespace relais::store
