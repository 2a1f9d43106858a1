#include "mkimage/output_format.hpp"

#include "mkimage/cli.hpp"
#include "util/json_text.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace mkimage::cli {

std::string human_size(std::int64_t bytes) {
  static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double size = static_cast<double>(bytes);
  int i = 0;
  while (size >= 1000.0 && i < 6) {
    size /= 1000.0;
    ++i;
  }
  // %.3g like Go's 'g' with precision 3 (no exponent for these magnitudes).
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g%s", size, units[i]);
  return buf;
}

std::string human_duration(std::int64_t seconds) {
  auto n = [](std::int64_t v, const char* unit) { return std::to_string(v) + " " + unit; };
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return n(seconds, "seconds");
  std::int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return n(minutes, "minutes");
  std::int64_t hours = static_cast<std::int64_t>(std::llround(static_cast<double>(seconds) / 3600.0));
  if (hours == 1) return "About an hour";
  if (hours < 48) return n(hours, "hours");
  if (hours < 24 * 7 * 2) return n(hours / 24, "days");
  if (hours < 24 * 30 * 2) return n(hours / 24 / 7, "weeks");
  if (hours < 24 * 365 * 2) return n(hours / 24 / 30, "months");
  return n(hours / 24 / 365, "years");
}

std::string time_since(std::int64_t unix_seconds) {
  std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  return human_duration(std::max<std::int64_t>(0, now - unix_seconds));
}

std::string time_ago(std::int64_t unix_seconds) {
  if (unix_seconds <= 0) return "N/A";
  return time_since(unix_seconds) + " ago";
}

std::string rfc3339_utc(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

std::string go_print(const nlohmann::json& v) {
  if (v.is_null()) return "<no value>";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return util::json_text(v);
  if (v.is_array()) {
    std::string out = "[";
    bool first = true;
    for (const auto& e : v) {
      if (!first) out += " ";
      first = false;
      out += go_print(e);
    }
    return out + "]";
  }
  std::string out = "map[";
  bool first = true;
  for (auto& [k, e] : v.items()) {
    if (!first) out += " ";
    first = false;
    out += k + ":" + go_print(e);
  }
  return out + "]";
}

bool lookup(const nlohmann::json& root, std::string_view path, nlohmann::json& out) {
  if (path == ".") {
    out = root;
    return true;
  }
  if (path.empty() || path[0] != '.') return false;
  const nlohmann::json* cur = &root;
  static const nlohmann::json null_value;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    auto next = path.find('.', pos);
    std::string key(path.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
    if (key.empty()) return false;
    if (cur->is_object() && cur->contains(key)) {
      cur = &(*cur)[key];
    } else {
      cur = &null_value;
    }
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  out = *cur;
  return true;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

bool apply_go_template(std::string_view format, const nlohmann::json& value, std::string& out, std::string& error) {
  out.clear();
  std::size_t i = 0;
  while (i < format.size()) {
    if (format.compare(i, 2, "{{") == 0) {
      auto end = format.find("}}", i + 2);
      if (end == std::string_view::npos) {
        error = "template: unterminated action in \"" + std::string(format) + "\"";
        return false;
      }
      std::string action = trim(format.substr(i + 2, end - i - 2));
      std::string fn;
      std::string path = action;
      if (auto sp = action.find(' '); sp != std::string::npos) {
        fn = action.substr(0, sp);
        path = trim(std::string_view(action).substr(sp + 1));
      }
      nlohmann::json v;
      if (!lookup(value, path, v)) {
        error = "template: unsupported action \"{{" + action + "}}\"";
        return false;
      }
      if (fn.empty()) {
        out += go_print(v);
      } else if (fn == "json") {
        out += util::json_text(v);
      } else if (fn == "upper" || fn == "lower") {
        std::string s = go_print(v);
        for (char& c : s) c = static_cast<char>(fn == "upper" ? std::toupper(static_cast<unsigned char>(c))
                                                              : std::tolower(static_cast<unsigned char>(c)));
        out += s;
      } else if (fn == "len") {
        out += std::to_string(v.is_array() || v.is_object() ? v.size() : v.is_string() ? v.get<std::string>().size() : 0);
      } else {
        error = "template: function \"" + fn + "\" not defined";
        return false;
      }
      i = end + 2;
    } else if (format[i] == '\\' && i + 1 < format.size() && (format[i + 1] == 'n' || format[i + 1] == 't')) {
      out += format[i + 1] == 'n' ? '\n' : '\t';
      i += 2;
    } else {
      out += format[i++];
    }
  }
  return true;
}

namespace {
std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;  // count UTF-8 lead bytes
  return n;
}
}  // namespace

void print_table(const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], display_width(r[i]));
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - display_width(r[i]) + 3, ' ');
    }
    std::cout << line << '\n';
  }
}

std::string format_template(std::string_view format, const nlohmann::json& value) {
  std::string out, error;
  if (!apply_go_template(format, value, out, error)) throw CliExit{k_exit_usage, "mkimage: " + error};
  return out;
}

std::string format_value(std::string_view format, const nlohmann::json& value) {
  if (format == "json") return util::json_text(value);
  return format_template(format, value);
}

}  // namespace mkimage::cli
