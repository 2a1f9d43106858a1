// Named build contexts (`--build-context NAME=VALUE`, include/mkimage/build.hpp
// NamedContext): parsing the flag, finding the context a reference names, and
// loading it once per build — a directory with its own .dockerignore, an image
// through the build's image resolver, or an image of an OCI image layout
// directory imported into the store. image_resolver.cpp resolve_source() is the
// one place references reach this file.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "builder/build_internal.hpp"
#include "store/archive.hpp"
#include "parser/text.hpp"
#include "store/reference.hpp"

namespace mkimage {

namespace {

// BuildKit's lookup name of a reference: its familiar form without ":latest".
util::Result<std::string> context_name_of(std::string_view text) {
  auto ref = store::Reference::parse(text);
  if (!ref.ok()) return ref.error();
  std::string name = ref->familiar();
  const std::string latest = ":latest";
  if (!ref->digest() && name.size() > latest.size() && name.compare(name.size() - latest.size(), latest.size(), latest) == 0)
    name.resize(name.size() - latest.size());
  return name;
}

// `PATH[:TAG][@DIGEST]` of oci-layout://.
util::Result<void> parse_oci_layout(std::string_view spec, NamedContext& nc) {
  std::string rest(spec);
  if (auto at = rest.find('@'); at != std::string::npos) {
    nc.digest = rest.substr(at + 1);
    rest.resize(at);
    auto d = store::Digest::parse(nc.digest);
    if (!d.ok()) return util::Error{"invalid oci-layout digest \"" + nc.digest + "\": " + d.error().message};
  }
  if (auto colon = rest.find(':'); colon != std::string::npos) {
    nc.tag = rest.substr(colon + 1);
    rest.resize(colon);
    if (nc.tag.empty()) return util::Error{"oci-layout reference \"" + std::string(spec) + "\" has an empty tag"};
  }
  if (rest.empty()) return util::Error{"oci-layout reference \"" + std::string(spec) + "\" has no path"};
  nc.path = rest;
  return {};
}

}  // namespace

util::Result<NamedContext> parse_build_context(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos) {
    return util::Error{"invalid context value: " + std::string(text) + ", expected key=value"};
  }
  NamedContext nc;
  std::string key(text.substr(0, eq)), value(text.substr(eq + 1));
  auto name = context_name_of(key);
  if (!name.ok()) return util::Error{"invalid context name " + key + ": " + name.error().message};
  nc.name = *name;
  if (value.empty()) return util::Error{"invalid context value: " + std::string(text) + ", the value is empty"};
  if (value.starts_with("docker-image://")) {
    nc.kind = NamedContext::Kind::image;
    nc.reference = value.substr(15);
    if (nc.reference.empty()) return util::Error{"invalid context value: " + std::string(text) + ", no image reference"};
    if (nc.reference != "scratch") {
      auto ref = store::Reference::parse(nc.reference);
      if (!ref.ok()) return util::Error{"invalid context " + key + ": " + ref.error().message};
    }
  } else if (value.starts_with("oci-layout://")) {
    nc.kind = NamedContext::Kind::oci_layout;
    MKIMAGE_TRY_VOID(parse_oci_layout(std::string_view(value).substr(13), nc));
  } else if (value.starts_with("http://") || value.starts_with("https://") || value.starts_with("git@") ||
             value.starts_with("git://") || value.starts_with("target:") || value.starts_with("input:")) {
    return util::Error{"unsupported context source " + value + " for " + key +
                       " (mkimage takes a directory, docker-image:// or oci-layout://)"};
  } else {
    nc.kind = NamedContext::Kind::directory;
    nc.path = value;
  }
  return nc;
}

}  // namespace mkimage

namespace mkimage::builder {

namespace {

util::Result<ResolvedSource> load_directory(BuildSession& s, const NamedContext& nc) {
  InternalStep step(s, "load .dockerignore", "[context " + nc.name + "]");
  auto ctx = step.finish(BuildContext::open_directory(nc.path));
  if (!ctx.ok()) return util::Error{"failed to load build context " + nc.name + ": " + ctx.error().message};
  auto owned = std::make_unique<BuildContext>(std::move(*ctx));
  ResolvedSource out;
  out.kind = ResolvedSource::Kind::directory;
  out.directory = owned.get();
  s.named_dirs[nc.name] = std::move(owned);
  return out;
}

util::Result<ResolvedSource> load_oci_layout(BuildSession& s, const NamedContext& nc) {
  std::string where = nc.path.string() + (nc.tag.empty() ? "" : ":" + nc.tag) + (nc.digest.empty() ? "" : "@" + nc.digest);
  InternalStep step(s, "load metadata for oci-layout://" + where, "[context " + nc.name + "]");
  auto img = step.finish(store::load_layout_image(*s.store, nc.path, nc.tag, nc.digest));
  if (!img.ok()) return img.error();
  MKIMAGE_TRY_VOID(s.store->hold(store::Store::image_content(*img)));
  ResolvedSource out;
  out.image = std::move(*img);
  return out;
}

util::Result<ResolvedSource> load_one(BuildSession& s, const NamedContext& nc) {
  ResolvedSource out;
  switch (nc.kind) {
    case NamedContext::Kind::directory: {
      MKIMAGE_TRY(out, load_directory(s, nc));
      break;
    }
    case NamedContext::Kind::oci_layout: {
      // Loading imports the layout's image into the store: a dry run writes nothing.
      if (s.request.dry_run)
        return util::Error{std::string(k_not_in_store_prefix) + "oci-layout context " + nc.name +
                           " (a build would import it)"};
      MKIMAGE_TRY(out, load_oci_layout(s, nc));
      break;
    }
    case NamedContext::Kind::image: {
      if (nc.reference == "scratch") {
        out.kind = ResolvedSource::Kind::scratch;
      } else {
        MKIMAGE_TRY(store::Image img, resolve_image(s, nc.reference));
        out.image = std::move(img);
      }
      break;
    }
  }
  out.context = nc.name;
  return out;
}

}  // namespace

std::optional<std::string> find_named_context(const BuildSession& s, const std::string& reference) {
  if (s.named_contexts.empty()) return std::nullopt;
  std::string lower = parser::ascii_lower(reference);
  if (lower == "scratch" || lower == "context") return std::nullopt;
  auto name = context_name_of(reference);
  if (!name.ok() || !s.named_contexts.count(*name)) return std::nullopt;
  return *name;
}

util::Result<ResolvedSource> load_named_context(BuildSession& s, const std::string& name) {
  std::lock_guard lock(s.named_mutex);
  if (auto it = s.named_loaded.find(name); it != s.named_loaded.end()) return it->second;
  auto it = s.named_contexts.find(name);
  if (it == s.named_contexts.end()) return util::Error{"no build context named " + name};
  auto r = load_one(s, it->second);
  s.named_loaded.emplace(name, r);
  return r;
}

util::Result<void> check_named_directories(BuildSession& s) {
  for (const auto& [name, nc] : s.named_contexts) {
    if (nc.kind != NamedContext::Kind::directory) continue;
    struct stat st;
    if (::stat(nc.path.c_str(), &st) != 0) {
      return util::Error{"failed to get build context " + name + ": stat " + nc.path.string() + ": " +
                         std::strerror(errno)};
    }
    if (!S_ISDIR(st.st_mode)) {
      return util::Error{"failed to get build context path " + nc.path.string() + ": not a directory"};
    }
  }
  return {};
}

}  // namespace mkimage::builder
