// Docker image references (distribution/reference grammar, as `docker tag`
// and `docker pull` accept them):
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [ domain "/" ] path-component ( "/" path-component )*
//   domain     := host [ ":" port ]   (a first component is a domain only if it
//                 contains "." or ":" or is "localhost")
//   path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
// Normalisation: no domain → "docker.io"; docker.io with a single path
// component → "library/<name>"; no tag and no digest → tag "latest".
// Example: "goals" → docker.io/library/goals:latest, shown as "goals:latest".
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

#include "store/digest.hpp"
#include "util/result.hpp"

namespace mkimage::store {

class Reference {
public:
  // Parses and normalises. Errors (message names the input and the reason):
  // empty, upper case in the repository, bad characters, full name longer
  // than 255 ("docker.io/library/" counts, as docker counts it), tag longer
  // than 128 or with bad characters, invalid digest, a 64-hex name (docker
  // refuses those: they look like image IDs).
  static util::Result<Reference> parse(std::string_view text);

  const std::string& domain() const { return m_domain; }   // "docker.io", "localhost:5000"
  const std::string& path() const { return m_path; }       // "library/goals"
  const std::optional<std::string>& tag() const { return m_tag; }
  const std::optional<Digest>& digest() const { return m_digest; }

  // "docker.io/library/goals" (the full repository name).
  std::string repository() const;
  // "goals" for docker.io/library/goals, "me/app" for docker.io/me/app,
  // "localhost:5000/app" otherwise (docker's "familiar" name). Unlike docker,
  // "docker.io/my.org/app" stays whole: "my.org/app" would name registry my.org,
  // and "library/<64 hex digits>" keeps "library/": alone it reads as an image ID.
  std::string familiar_repository() const;
  // Full form: "docker.io/library/goals:latest[@sha256:...]".
  std::string str() const;
  // Familiar form as docker prints it: "goals:latest", "me/app@sha256:...".
  std::string familiar() const;

  // The repository with this reference's digest and no tag:
  // "docker.io/library/node@sha256:…" (a RepoDigest). Requires digest().
  Reference repo_digest() const { Reference r = *this; r.m_tag.reset(); return r; }
  // A copy with the given digest (tag dropped).
  Reference with_digest(Digest d) const { Reference r = *this; r.m_tag.reset(); r.m_digest = std::move(d); return r; }
  // A copy with the given tag (digest dropped).
  Reference with_tag(std::string tag) const;

  bool operator==(const Reference&) const = default;
  auto operator<=>(const Reference&) const = default;

private:
  std::string m_domain;
  std::string m_path;
  std::optional<std::string> m_tag;
  std::optional<Digest> m_digest;
};

}  // namespace mkimage::store
