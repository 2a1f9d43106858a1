#include "store/reference.hpp"

#include <algorithm>
#include <cctype>

#include "util/hex.hpp"

namespace mkimage::store {

namespace {

constexpr std::string_view k_default_domain = "docker.io";
constexpr std::string_view k_official_prefix = "library/";

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
bool valid_path_component(std::string_view s) {
  if (s.empty() || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  std::size_t i = 0;
  while (i < s.size()) {
    if (is_lower_alnum(s[i])) { ++i; continue; }
    std::size_t j = i;
    while (j < s.size() && !is_lower_alnum(s[j])) ++j;
    std::string_view sep = s.substr(i, j - i);
    bool ok = sep == "." || sep == "_" || sep == "__" ||
              std::all_of(sep.begin(), sep.end(), [](char c) { return c == '-'; });
    if (!ok) return false;
    i = j;
  }
  return true;
}

// domain := label ("." label)* [":" port]; label := [A-Za-z0-9] ([A-Za-z0-9-]* [A-Za-z0-9])?
bool valid_domain(std::string_view s) {
  std::string_view host = s;
  auto colon = s.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view port = s.substr(colon + 1);
    if (port.empty() || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    host = s.substr(0, colon);
  }
  if (host.empty()) return false;
  std::size_t start = 0;
  while (true) {
    auto dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

// tag := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return is_alnum(c) || c == '_'; };
  if (!word(t.front())) return false;
  return std::all_of(t.begin(), t.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

bool is_64_hex(std::string_view s) { return s.size() == 64 && util::is_lower_hex(s); }

}  // namespace

util::Result<Reference> Reference::parse(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return util::Error{"invalid reference \"" + std::string(text) + "\": " + why};
  };
  if (text.empty()) return bad("empty");
  Reference r;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    auto d = Digest::parse(rest.substr(at + 1));
    if (!d.ok()) return bad(d.error().message);
    r.m_digest = *d;
    rest = rest.substr(0, at);
  }
  auto last_slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!valid_tag(tag)) return bad("invalid tag \"" + std::string(tag) + "\"");
    r.m_tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("missing repository name");
  if (rest.size() > 255) return bad("repository name longer than 255 characters");
  if (is_64_hex(rest)) return bad("repository name cannot be a 64-character hexadecimal string");

  std::string_view remote = rest;
  auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, slash);
    bool lower = std::none_of(first.begin(), first.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" || !lower) {
      if (!valid_domain(first)) return bad("invalid domain \"" + std::string(first) + "\"");
      r.m_domain = std::string(first);
      remote = rest.substr(slash + 1);
    }
  }
  if (r.m_domain.empty() || r.m_domain == "index.docker.io") r.m_domain = std::string(k_default_domain);
  if (remote.empty()) return bad("missing repository name");
  std::size_t start = 0;
  while (true) {
    auto s = remote.find('/', start);
    std::string_view comp = remote.substr(start, s == std::string_view::npos ? std::string_view::npos : s - start);
    if (!valid_path_component(comp)) {
      if (std::any_of(comp.begin(), comp.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
        return bad("repository name must be lowercase");
      return bad("invalid repository name component \"" + std::string(comp) + "\"");
    }
    if (s == std::string_view::npos) break;
    start = s + 1;
  }
  r.m_path = std::string(remote);
  if (r.m_domain == k_default_domain && r.m_path.find('/') == std::string::npos) {
    r.m_path = std::string(k_official_prefix) + r.m_path;
  }
  // the limit is on the full name, as docker checks it after normalising:
  // 250 characters of "a" are fine, but not as "docker.io/library/" + them
  if (r.repository().size() > 255) return bad("repository name longer than 255 characters");
  if (!r.m_tag && !r.m_digest) r.m_tag = "latest";
  return r;
}

std::string Reference::repository() const { return m_domain + "/" + m_path; }

std::string Reference::familiar_repository() const {
  if (m_domain != k_default_domain) return repository();
  std::string_view p = m_path;
  // "library/<64 hex>" keeps its prefix: the short form would read as an
  // image ID, which parse() refuses as a repository name.
  if (p.starts_with(k_official_prefix) && p.find('/', k_official_prefix.size()) == std::string_view::npos &&
      !is_64_hex(p.substr(k_official_prefix.size())))
    return std::string(p.substr(k_official_prefix.size()));
  // A first component that reads as a domain ("docker.io/my.org/app") would name
  // another registry once printed short: such names keep their domain.
  if (auto slash = p.find('/'); slash != std::string_view::npos) {
    std::string_view first = p.substr(0, slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost") return repository();
  }
  return m_path;
}

static std::string with_suffix(std::string name, const std::optional<std::string>& tag,
                               const std::optional<Digest>& digest) {
  if (tag) name += ":" + *tag;
  if (digest) name += "@" + digest->str();
  return name;
}

std::string Reference::str() const { return with_suffix(repository(), m_tag, m_digest); }
std::string Reference::familiar() const { return with_suffix(familiar_repository(), m_tag, m_digest); }

Reference Reference::with_tag(std::string tag) const {
  Reference r = *this;
  r.m_tag = std::move(tag);
  r.m_digest.reset();
  return r;
}

}  // namespace mkimage::store
