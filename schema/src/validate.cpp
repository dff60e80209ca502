#include "relais/schema/validate.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <set>
#include <string>

namespace relais::schema {
namespace {

using nlohmann::json;

std::string where(const Entity& e, const Field& f) {
  return e.name + "." + f.name;
}

Error wrong_type(const Entity& e, const Field& f, const json& v) {
  return make_error(Errc::wrong_type, where(e, f) + " expects " + std::string(type_name(f.type)) +
                                          ", got " + std::string(v.type_name()));
}

Error bad_format(const Entity& e, const Field& f, std::string_view what) {
  return make_error(Errc::invalid_format, where(e, f) + ": " + std::string(what));
}

std::string trim(std::string_view s) {
  auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && space(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && space(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool has_control_char(std::string_view s, bool allow_newline) {
  return std::any_of(s.begin(), s.end(), [&](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && !(allow_newline && c == '\n')) || u == 0x7F;
  });
}

bool is_email(std::string_view s) {
  const auto at = s.find('@');
  if (at == 0 || at == std::string_view::npos || s.find('@', at + 1) != std::string_view::npos)
    return false;
  const auto domain = s.substr(at + 1);
  const auto dot = domain.rfind('.');
  return dot != std::string_view::npos && dot > 0 && dot + 2 <= domain.size() &&
         s.find(' ') == std::string_view::npos;
}

// Keeps a leading '+' and the digits; separators people type are dropped,
// and so is the "(0)" of "+33 (0)6 ...": the trunk prefix is not dialled
// after a country code.
Result<std::string> normalize_phone(const Entity& e, const Field& f, std::string_view typed) {
  std::string text(typed);
  if (text.find_first_not_of(' ') != std::string::npos && text[text.find_first_not_of(' ')] == '+')
    for (std::size_t at; (at = text.find("(0)")) != std::string::npos;) text.erase(at, 3);
  const std::string_view s = text;
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (std::isdigit(static_cast<unsigned char>(c)))
      out += c;
    else if (c == '+' && out.empty() && i == s.find_first_not_of(' '))
      out += c;
    else if (c != ' ' && c != '.' && c != '-' && c != '(' && c != ')')
      return bad_format(e, f, "a phone number holds digits, spaces, dots, dashes and a leading +");
  }
  const std::size_t digits = out.size() - (out.starts_with('+') ? 1 : 0);
  if (digits < 8 || digits > 15) return bad_format(e, f, "a phone number has 8 to 15 digits");
  return out;
}

// Well-formed UTF-8 (RFC 3629): no overlong forms, surrogates or values
// past U+10FFFF.
bool is_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  auto cont = [&](const unsigned char* q, unsigned lo, unsigned hi) {
    return q < end && *q >= lo && *q <= hi;
  };
  while (p < end) {
    const unsigned c = *p;
    std::size_t n = 0;
    if (c < 0x80)
      n = 1;
    else if (c >= 0xC2 && c <= 0xDF && cont(p + 1, 0x80, 0xBF))
      n = 2;
    else if (c >= 0xE0 && c <= 0xEF &&
             cont(p + 1, c == 0xE0 ? 0xA0 : 0x80, c == 0xED ? 0x9F : 0xBF) &&
             cont(p + 2, 0x80, 0xBF))
      n = 3;
    else if (c >= 0xF0 && c <= 0xF4 &&
             cont(p + 1, c == 0xF0 ? 0x90 : 0x80, c == 0xF4 ? 0x8F : 0xBF) &&
             cont(p + 2, 0x80, 0xBF) && cont(p + 3, 0x80, 0xBF))
      n = 4;
    if (n == 0) return false;
    p += n;
  }
  return true;
}

// The canonical form of an instant written YYYY-MM-DDTHH:MM:SSZ, also read
// with a lower-case t or z, a space between date and time, or +00:00 for Z
// (what people and other tools write); nullopt for anything else, including
// other offsets: the stored value is UTC so that text order is time order.
std::optional<std::string> normalize_datetime(std::string_view s) {
  if (s.size() == 25 && s.ends_with("+00:00"))
    s.remove_suffix(6);
  else if (s.size() == 20 && (s.back() == 'Z' || s.back() == 'z'))
    s.remove_suffix(1);
  else
    return std::nullopt;
  if (s.size() != 19 || !is_date(s.substr(0, 10))) return std::nullopt;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  if (s[13] != ':' || s[16] != ':') return std::nullopt;
  auto part = [&](std::size_t at, int max) {
    int n = -1;
    auto r = std::from_chars(s.data() + at, s.data() + at + 2, n);
    return r.ec == std::errc() && r.ptr == s.data() + at + 2 && n >= 0 && n <= max;
  };
  if (!part(11, 23) || !part(14, 59) || !part(17, 59)) return std::nullopt;
  std::string out(s);
  out[10] = 'T';
  return out + "Z";
}

Result<json> normalize_string(const Entity& e, const Field& f, const json& v) {
  if (!v.is_string()) return wrong_type(e, f, v);
  if (!is_utf8(v.get_ref<const std::string&>()))
    return bad_format(e, f, "the text is not valid UTF-8");
  std::string s = trim(v.get_ref<const std::string&>());
  if (s.empty()) return json(nullptr);  // an empty text is no value
  if (has_control_char(s, f.type == FieldType::text))
    return bad_format(e, f, "control characters are not allowed");
  switch (f.type) {
    case FieldType::date:
      if (!is_date(s)) return bad_format(e, f, "'" + s + "' is not a date (YYYY-MM-DD)");
      break;
    case FieldType::datetime: {
      auto instant = normalize_datetime(s);
      if (!instant)
        return bad_format(e, f, "'" + s + "' is not a date and time in UTC (YYYY-MM-DDTHH:MM:SSZ)");
      s = std::move(*instant);
      break;
    }
    case FieldType::email:
      std::transform(s.begin(), s.end(), s.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (!is_email(s)) return bad_format(e, f, "'" + s + "' is not an e-mail address");
      break;
    case FieldType::phone: {
      auto phone = normalize_phone(e, f, s);
      if (!phone) return phone.error();
      s = std::move(phone).value();
      break;
    }
    case FieldType::postal_code:
      if (s.size() != 5 ||
          !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return bad_format(e, f, "'" + s + "' is not a postal code (five digits)");
      break;
    case FieldType::enumeration:
      if (!f.allows(s)) {
        std::string allowed;
        for (const auto& a : f.values) allowed += (allowed.empty() ? "" : ", ") + a;
        return make_error(Errc::value_not_allowed,
                          where(e, f) + ": '" + s + "' is not allowed (allowed: " + allowed + ")");
      }
      break;
    case FieldType::reference:
      if (!is_uuid(s)) return bad_format(e, f, "'" + s + "' is not a record id (a UUID)");
      break;
    default:
      break;
  }
  if (f.max_length && code_points(s) > *f.max_length)
    return make_error(Errc::value_too_long, where(e, f) + " is limited to " +
                                                std::to_string(*f.max_length) + " characters");
  return json(std::move(s));
}

Result<json> normalize_set(const Entity& e, const Field& f, const json& v) {
  if (!v.is_array()) return wrong_type(e, f, v);
  std::set<std::string> items;
  Field item = f;
  item.type = f.type == FieldType::enum_set ? FieldType::enumeration : FieldType::reference;
  for (const auto& x : v) {
    auto n = normalize_string(e, item, x);
    if (!n) return n.error();
    if (!n->is_null()) items.insert(n->get<std::string>());
  }
  return json(std::vector<std::string>(items.begin(), items.end()));
}

}  // namespace

bool is_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  int y = 0, m = 0, d = 0;
  auto num = [&](std::size_t at, std::size_t len, int& out) {
    auto r = std::from_chars(s.data() + at, s.data() + at + len, out);
    return r.ec == std::errc() && r.ptr == s.data() + at + len;
  };
  if (!num(0, 4, y) || !num(5, 2, m) || !num(8, 2, d)) return false;
  if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

bool is_datetime(std::string_view s) {
  const auto canonical = normalize_datetime(s);
  return canonical && *canonical == s;
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    if (!dash && std::isupper(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

Result<json> normalize_value(const Entity& e, const Field& f, const json& v) {
  if (v.is_null()) return v;
  switch (f.type) {
    case FieldType::integer:
      if (!v.is_number_integer()) return wrong_type(e, f, v);
      return v;
    case FieldType::boolean:
      if (!v.is_boolean()) return wrong_type(e, f, v);
      return v;
    case FieldType::enum_set:
    case FieldType::reference_set:
      return normalize_set(e, f, v);
    default:
      return normalize_string(e, f, v);
  }
}

Result<json> parse_value_text(const Entity& e, const Field& f, std::string_view text) {
  const std::string t = trim(text);
  if (t.empty()) return json(nullptr);
  switch (f.type) {
    case FieldType::integer: {
      long long n = 0;
      auto r = std::from_chars(t.data(), t.data() + t.size(), n);
      if (r.ec != std::errc() || r.ptr != t.data() + t.size())
        return make_error(Errc::wrong_type, where(e, f) + " expects an integer, got '" + t + "'");
      return json(n);
    }
    case FieldType::boolean: {
      std::string l = t;
      std::transform(l.begin(), l.end(), l.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (l == "true" || l == "yes" || l == "oui" || l == "1") return json(true);
      if (l == "false" || l == "no" || l == "non" || l == "0") return json(false);
      return make_error(Errc::wrong_type,
                        where(e, f) + " expects true or false (oui/non), got '" + t + "'");
    }
    case FieldType::enum_set:
    case FieldType::reference_set: {
      json items = json::array();
      std::size_t start = 0;
      while (start <= t.size()) {
        const auto comma = std::min(t.find(',', start), t.size());
        const std::string item = trim(std::string_view(t).substr(start, comma - start));
        if (!item.empty()) items.push_back(item);
        start = comma + 1;
      }
      return normalize_value(e, f, items);
    }
    default:
      return normalize_value(e, f, json(t));
  }
}

Result<json> normalize_fields(const Entity& entity, const json& fields) {
  if (!fields.is_object())
    return make_error(Errc::wrong_type, entity.name + ": fields must be a JSON object");
  json out = json::object();
  for (const auto& [name, value] : fields.items()) {
    auto field = Schema::find_field(entity, name);
    if (!field) return field.error();
    auto v = normalize_value(entity, **field, value);
    if (!v) return v.error();
    out[name] = std::move(v).value();
  }
  return out;
}

Status check_required(const Entity& e, const json& fields) {
  for (const auto& f : e.fields) {
    if (!f.required) continue;
    auto it = fields.find(f.name);
    if (it == fields.end() || it->is_null() ||
        (it->is_string() && it->get_ref<const std::string&>().empty()))
      return make_error(Errc::missing_required, e.name + "." + f.name + " is required");
  }
  return Status::Ok();
}

}  // namespace relais::schema
