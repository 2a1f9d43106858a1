// The build's one image resolver (builder/build_internal.hpp resolve_source,
// resolve_image): a named context (builder/named_context.cpp) when
// --build-context gave one for the reference, else the store, then the
// registry (registry/pull.hpp).
#include "builder/build_internal.hpp"
#include "registry/config.hpp"
#include "registry/credentials.hpp"
#include "registry/pull.hpp"

namespace mkimage::builder {

namespace {

// Pull progress of a build: a line per finished layer, as the pull step's output.
class PullLines : public registry::TransferEvents {
public:
  explicit PullLines(InternalStep& step) : m_step(step) {}
  void layer(const std::string& id, const std::string& status) override {
    if (status == "Pull complete" || status == "Already exists") m_step.output(id + ": " + status);
  }

private:
  InternalStep& m_step;
};

util::Result<store::Image> pull_image(BuildSession& s, const store::Reference& ref) {
  MKIMAGE_TRY(auto config, registry::RegistryConfig::load(s.store->root().dir()));
  auto creds = registry::CredentialStore::open_default();
  registry::PullOptions opts;
  opts.config = &config;
  opts.credentials = &creds;
  InternalStep step(s, "load metadata for " + ref.str());
  PullLines events(step);
  auto result = step.finish(registry::pull_image(*s.store, ref, opts, events));
  if (!result.ok()) return result.error();
  return result->image;
}

}  // namespace

util::Result<store::Image> resolve_image(BuildSession& s, const std::string& text) {
  std::lock_guard lock(s.base_images_mutex);  // one pull per reference, even from parallel stages
  if (auto it = s.base_images.find(text); it != s.base_images.end()) return it->second;
  if (auto it = s.image_errors.find(text); it != s.image_errors.end()) return it->second;
  auto ref = store::Reference::parse(text);
  // A digest names immutable content: the store's copy is the registry's.
  bool re_resolve = s.request.pull && ref.ok() && !ref->digest();
  util::Result<store::Image> found = util::Error{""};
  if (!re_resolve) {
    // Held by the build's lease until it ends (the new image uses its layers).
    auto local = s.store->resolve_held(text);
    if (local.ok() && *local) found = std::move(**local);
  }
  if (!found.ok() && s.request.dry_run) {
    // A dry run pulls nothing (and writes nothing): the step it would take is reported.
    found = util::Error{re_resolve ? "--pull: a build would resolve " + text + " again at its registry"
                                   : std::string(k_not_in_store_prefix) + text + " (a build would pull it)"};
  } else if (!found.ok()) {
    if (!ref.ok()) {
      found = util::Error{"failed to resolve source metadata for " + text + ": " + ref.error().message};
    } else {
      auto pulled = pull_image(s, *ref);
      found = pulled.ok() ? std::move(pulled)
                          : util::Result<store::Image>(util::Error{"failed to resolve source metadata for " + ref->str() +
                                                                   ": " + pulled.error().message});
    }
  }
  if (!found.ok()) {
    s.image_errors.emplace(text, found.error());
    return found.error();
  }
  s.base_images.emplace(text, *found);
  return found;
}

util::Result<ResolvedSource> resolve_source(BuildSession& s, const std::string& text) {
  if (auto name = find_named_context(s, text)) return load_named_context(s, *name);
  MKIMAGE_TRY(store::Image img, resolve_image(s, text));
  ResolvedSource out;
  out.image = std::move(img);
  return out;
}

}  // namespace mkimage::builder
