// The texts are listed in docs/cache.md "Why a step ran"; keep the two in step.
#include "builder/miss_reason.hpp"

#include <map>

#include "parser/checks/secret_names.hpp"

namespace mkimage::builder {

namespace {

constexpr std::size_t k_names_shown = 3;    // file names listed before "and N more"
constexpr std::size_t k_value_shown = 60;   // longer ARG/ENV values are cut with "…"

std::string field(const KeyLink& l, std::string_view tag) {
  for (const auto& [t, v] : l.fields)
    if (t == tag) return v;
  return {};
}

bool has_field(const KeyLink& l, std::string_view tag) {
  for (const auto& f : l.fields)
    if (f.first == tag) return true;
  return false;
}

std::string keyword(const KeyLink& l) {
  std::string k = field(l, "instruction");
  if (!k.empty()) return k;
  auto sp = l.instruction.find(' ');
  return l.instruction.substr(0, sp);
}

std::string shown_value(const std::string& v) {
  if (v.size() <= k_value_shown) return v;
  return v.substr(0, k_value_shown) + "…";
}

// "sha256:0123456789ab…" (12 hex digits), for digests in a reason.
std::string short_digest(const std::string& d) {
  auto colon = d.find(':');
  if (colon == std::string::npos || d.size() < colon + 13) return d;
  return d.substr(0, colon + 13) + "…";
}

// "NAME changed: old → new", values hidden for a secret-looking name.
std::string value_change(const std::string& what, const std::string& name, const std::string* old_value,
                         const std::string* new_value) {
  std::string s = what + " " + name + " changed";
  if (parser::checks::secret_looking_name(name)) return s;
  auto show = [](const std::string* v) { return v ? shown_value(*v) : std::string("(unset)"); };
  return s + ": " + show(old_value) + " → " + show(new_value);
}

// NAME=VALUE (or NAME alone: an ARG without a value).
std::pair<std::string, std::optional<std::string>> split_assignment(const std::string& a) {
  auto eq = a.find('=');
  if (eq == std::string::npos) return {a, std::nullopt};
  return {a.substr(0, eq), a.substr(eq + 1)};
}

// The fields with `tag`, in order.
std::vector<std::string> values_of(const KeyLink& l, std::string_view tag) {
  std::vector<std::string> out;
  for (const auto& [t, v] : l.fields)
    if (t == tag) out.push_back(v);
  return out;
}

// ARG / ENV lists "NAME=VALUE": the first name whose value differs, was added or removed.
std::optional<std::string> assignment_difference(const std::string& what, const std::vector<std::string>& now,
                                                 const std::vector<std::string>& before) {
  std::map<std::string, std::optional<std::string>> a, b;
  std::vector<std::string> order;
  for (const auto& s : now) {
    auto [n, v] = split_assignment(s);
    if (!a.count(n)) order.push_back(n);
    a[n] = v;
  }
  for (const auto& s : before) {
    auto [n, v] = split_assignment(s);
    if (!b.count(n) && !a.count(n)) order.push_back(n);
    b[n] = v;
  }
  for (const auto& n : order) {
    auto ia = a.find(n), ib = b.find(n);
    if (ia != a.end() && ib != b.end() && ia->second == ib->second) continue;
    const std::string* nv = ia != a.end() && ia->second ? &*ia->second : nullptr;
    const std::string* ov = ib != b.end() && ib->second ? &*ib->second : nullptr;
    return value_change(what, n, ov, nv);
  }
  return std::nullopt;
}

// "alpine:3.19" of "FROM alpine:3.19 AS build".
std::string from_reference(const KeyLink& l) {
  std::string ref = l.instruction.rfind("FROM ", 0) == 0 ? l.instruction.substr(5) : l.instruction;
  while (ref.rfind("--", 0) == 0) {  // --platform=…
    auto sp = ref.find(' ');
    ref = sp == std::string::npos ? "" : ref.substr(sp + 1);
  }
  auto sp = ref.find(' ');
  return sp == std::string::npos ? ref : ref.substr(0, sp);
}

// FROM links: the base, the platform, SOURCE_DATE_EPOCH.
std::string from_difference(const KeyLink& now, const KeyLink& before) {
  std::string a = field(now, "base"), b = field(before, "base");
  if (a != b) {
    if (a.rfind("stage:", 0) == 0 && b.rfind("stage:", 0) == 0) return "base stage changed";
    auto show = [](const std::string& v) {
      return v.rfind("stage:", 0) == 0 ? std::string("a stage") : short_digest(v);
    };
    std::string ra = from_reference(now), rb = from_reference(before);
    if (ra == rb) return "base image changed: " + ra + " " + show(b) + " → " + show(a);
    return "base image changed: " + rb + " " + show(b) + " → " + ra + " " + show(a);
  }
  std::string ea = field(now, "source-date-epoch"), eb = field(before, "source-date-epoch");
  if (ea != eb) {
    return "SOURCE_DATE_EPOCH changed: " + (eb.empty() ? "(unset)" : eb) + " → " + (ea.empty() ? "(unset)" : ea);
  }
  if (field(now, "platform") != field(before, "platform")) return "platform changed";
  return "base image changed";
}

// Two metadata links (ENV, ARG, LABEL, …, or a WORKDIR of "/").
std::string metadata_difference(const KeyLink& now, const KeyLink& before) {
  std::string ka = keyword(now), kb = keyword(before);
  if (ka != kb) return "instruction changed";
  if (ka == "ARG" || ka == "ENV") {
    auto d = assignment_difference(ka, values_of(now, "arg"), values_of(before, "arg"));
    if (d) return *d;
  }
  return ka + " changed";
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string display_path(const std::string& p) { return p.empty() ? "." : p; }

std::string name_list(const std::vector<std::string>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size() && i < k_names_shown; ++i) {
    if (i) s += ", ";
    s += display_path(names[i]);
  }
  if (names.size() > k_names_shown) s += " and " + std::to_string(names.size() - k_names_shown) + " more";
  return s;
}

// A mount option list without the content digests it carries ("from=stage-content:…",
// "digest=…"), to tell an edited --mount from mounted files that changed.
std::string mount_shape(const std::string& m) {
  std::string out;
  std::size_t i = 0;
  while (i <= m.size()) {
    auto comma = m.find(',', i);
    if (comma == std::string::npos) comma = m.size();
    std::string part = m.substr(i, comma - i);
    if (part.find("sha256:") == std::string::npos) out += part + ",";
    i = comma + 1;
  }
  return out;
}

// The step's own fields after `parent`, in key order.
std::string own_difference(const StepInputs& current, const StepInputs& earlier) {
  const KeyLink& now = current.chain.back();
  const KeyLink& before = earlier.chain.back();
  const auto& a = now.fields;
  const auto& b = before.fields;
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    const std::string& tag = a[i].first;
    if (tag != b[i].first) break;  // the instruction gained or lost an input
    if (tag == "key-version") return "cache key format changed";
    if (tag == "sources-digest") {
      if (current.has_files && earlier.has_files) {
        std::string d = file_list_difference(current.files, earlier.files);
        if (!d.empty()) return d;
      }
      return "source files changed";
    }
    if (tag == "from") {
      const std::string &x = a[i].second, &y = b[i].second;
      if (x.rfind("stage:", 0) == 0 && y.rfind("stage:", 0) == 0) return "source stage changed";
      if (x.rfind("image:", 0) == 0 && y.rfind("image:", 0) == 0)
        return "source image changed: " + short_digest(y.substr(6)) + " → " + short_digest(x.substr(6));
      return "instruction changed";
    }
    if (tag == "env") {
      auto d = assignment_difference("ENV", values_of(now, "env"), values_of(before, "env"));
      return d ? *d : "instruction changed";
    }
    if (tag == "network") return "network changed: " + b[i].second + " → " + a[i].second;
    if (tag == "user") return "USER changed";
    if (tag == "workdir") return "WORKDIR changed";
    if (tag == "checksum") return "downloaded file changed";
    if (tag == "mount" && mount_shape(a[i].second) == mount_shape(b[i].second)) return "mounted files changed";
    return "instruction changed";
  }
  if (a.size() != b.size()) return "instruction changed";
  return {};
}

// The links above the step's own key differ (its `parent` does): which one?
std::string chain_difference(const StepInputs& current, const StepInputs& earlier, bool parent_ran) {
  if (parent_ran) return "parent step ran";
  const auto& ca = current.chain;
  const auto& cb = earlier.chain;
  bool from_a = field(ca.front(), "op") == "from";
  bool from_b = field(cb.front(), "op") == "from";
  if (from_a != from_b) return "instruction changed";  // a filesystem step was added or removed above
  std::size_t ia = 0, ib = 0;
  if (from_a) {
    if (ca.front().fields != cb.front().fields) return from_difference(ca.front(), cb.front());
    ia = ib = 1;
  } else if (field(ca.front(), "parent") != field(cb.front(), "parent")) {
    return "parent step changed";  // the previous filesystem step has another key, from the cache
  }
  // The metadata links between the top and the step's own key.
  std::size_t ea = ca.size() - 1, eb = cb.size() - 1;
  for (; ia < ea && ib < eb; ++ia, ++ib) {
    KeyLink a = ca[ia], b = cb[ib];
    // Compare without `parent` (it follows from the links above).
    std::erase_if(a.fields, [](const auto& f) { return f.first == "parent"; });
    std::erase_if(b.fields, [](const auto& f) { return f.first == "parent"; });
    if (a.fields == b.fields) continue;
    if (keyword(a) != keyword(b) && ea - ia != eb - ib) {
      return ea - ia > eb - ib ? keyword(a) + " added" : keyword(b) + " removed";
    }
    return metadata_difference(a, b);
  }
  if (ia < ea) return keyword(ca[ia]) + " added";
  if (ib < eb) return keyword(cb[ib]) + " removed";
  return "parent step changed";
}

}  // namespace

std::string file_list_difference(const FileListing& current, const FileListing& earlier) {
  std::map<std::string, const FileDigestEntry*> before;
  for (const auto& e : earlier) before[e.path] = &e;
  std::vector<std::string> changed, added, removed, mode;
  std::map<std::string, bool> seen;
  for (const auto& e : current) {
    seen[e.path] = true;
    auto it = before.find(e.path);
    if (it == before.end()) {
      added.push_back(e.path);
    } else if (it->second->content != e.content) {
      changed.push_back(e.path);
    } else if (it->second->mode != e.mode) {
      mode.push_back(e.path);
    }
  }
  for (const auto& e : earlier)
    if (!seen.count(e.path)) removed.push_back(e.path);
  std::vector<std::string> parts;
  if (changed.size() == 1) parts.push_back(display_path(changed[0]) + " changed");
  else if (!changed.empty()) parts.push_back(plural(changed.size(), "file", "files") + " changed: " + name_list(changed));
  if (!added.empty()) parts.push_back(plural(added.size(), "file", "files") + " added: " + name_list(added));
  if (!removed.empty()) parts.push_back(plural(removed.size(), "file", "files") + " removed: " + name_list(removed));
  if (mode.size() == 1) parts.push_back("mode of " + display_path(mode[0]) + " changed");
  else if (!mode.empty()) parts.push_back("mode of " + plural(mode.size(), "file", "files") + " changed: " + name_list(mode));
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : "; ") + p;
  return s;
}

std::string miss_reason(const StepInputs& current, const std::optional<StepInputs>& earlier, const MissFlags& flags) {
  if (flags.no_cache) return "--no-cache";
  if (flags.no_cache_filter) return "--no-cache-filter";
  if (flags.layer_gone) return "cached layer was removed";
  if (current.chain.empty()) return "no earlier build of this step";
  if (!earlier || earlier->chain.empty()) return "no earlier build of this step";
  const KeyLink& now = current.chain.back();
  const KeyLink& before = earlier->chain.back();
  if (field(now, "key-version") != field(before, "key-version")) return "cache key format changed";
  if (field(now, "op") != field(before, "op")) return "instruction changed";
  if (has_field(now, "parent") && field(now, "parent") != field(before, "parent")) {
    return chain_difference(current, *earlier, flags.parent_ran);
  }
  std::string d = own_difference(current, *earlier);
  if (!d.empty()) return d;
  return "cache key changed";
}

}  // namespace mkimage::builder
