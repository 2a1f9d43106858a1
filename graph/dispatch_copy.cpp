// COPY and ADD (BuildKit dispatchCopy, convert_copy.go): sources, destination
// and flags expanded, heredoc bodies expanded, --chmod and --checksum
// validated, the destination resolved against the working directory, and the
// history string.
#include <algorithm>
#include <cctype>
#include <cstdint>

#include "graph/dispatch.hpp"
#include "parser/text.hpp"

namespace mkimage::graph::detail {

using namespace parser;

namespace {

// BuildKit system.NormalizePath(dir, p, keepSlash=true) for COPY destinations.
std::string resolve_dest(const std::string& workdir, std::string p) {
  bool keep_slash = !p.empty() && (p.back() == '/' || (p.size() >= 2 && p.compare(p.size() - 2, 2, "/.") == 0));
  if (p == "." || p.empty()) {
    p = "./";
    keep_slash = true;
  }
  std::string out = is_abs(p) ? path_clean(p) : path_join(workdir.empty() ? "/" : workdir, p);
  if (!is_abs(out)) out = "/" + out;
  if (keep_slash && out.back() != '/') out += "/";
  return out;
}

bool is_git_source(const std::string& s) {
  std::string base = s.substr(0, s.find('#'));
  if (s.rfind("git://", 0) == 0 || s.rfind("git@", 0) == 0 || s.rfind("ssh://", 0) == 0) return true;
  if (s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0) {
    std::string path = base.substr(0, base.find('?'));
    return path.size() > 4 && path.compare(path.size() - 4, 4, ".git") == 0;
  }
  return false;
}
bool is_http_source(const std::string& s) {
  return (s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0) && !is_git_source(s);
}

// Sources, destination, --chown, --chmod, --checksum and heredoc bodies.
util::Result<void> expand_copy(StepContext& ctx, CopyInstruction& cp, const std::string& kw) {
  for (auto& src : cp.sources) {
    std::string raw = src;
    MKIMAGE_TRY(src, ctx.word(src, raw));
    MKIMAGE_TRY_VOID(ctx.no_nul(kw + " source", src, raw));
  }
  {
    std::string raw = cp.dest;
    MKIMAGE_TRY(cp.dest, ctx.word(cp.dest, raw));
    MKIMAGE_TRY_VOID(ctx.no_nul(kw + " destination", cp.dest, raw));
  }
  if (!cp.chown.empty()) {
    MKIMAGE_TRY(cp.chown, ctx.word(cp.chown, "--chown"));
  }
  if (!cp.chmod.empty()) {
    MKIMAGE_TRY(cp.chmod, ctx.word(cp.chmod, "--chmod"));
  }
  if (!cp.checksum.empty()) {
    MKIMAGE_TRY(cp.checksum, ctx.word(cp.checksum, "--checksum"));
  }
  for (auto& f : cp.inline_sources) {
    if (!f.expand) continue;
    ShellLexerOptions raw_opts;  // BuildKit expands heredoc bodies with '\\' as escape
    auto body = expand_heredoc(f.content, ctx.state.env, raw_opts);
    if (!body.ok()) return ctx.error(body.error().message, "<<");
    f.content = *body;
  }
  return {};
}

// --chmod: octal <= 07777 or symbolic.
util::Result<void> check_chmod(const StepContext& ctx, CopyInstruction& cp) {
  cp.chmod_mode.reset();
  if (cp.chmod.empty()) return {};
  std::string nonoctal = "invalid chmod parameter: '" + cp.chmod + "'. it should be octal string and between 0 and 07777";
  bool octal = std::all_of(cp.chmod.begin(), cp.chmod.end(), [](char ch) { return ch >= '0' && ch <= '7'; });
  bool numeric = std::all_of(cp.chmod.begin(), cp.chmod.end(),
                             [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; });
  if (octal && cp.chmod.size() <= 11) {
    unsigned long v = std::stoul(cp.chmod, nullptr, 8);
    if (v > 07777) return ctx.error(nonoctal, "--chmod");
    cp.chmod_mode = static_cast<std::uint32_t>(v);
  } else if (numeric || !is_symbolic_mode(cp.chmod)) {
    return ctx.error(nonoctal, "--chmod");
  }
  return {};
}

// Source kinds: no git or URL source for COPY; --checksum for one HTTP(S) or Git source.
util::Result<void> check_sources(const StepContext& ctx, const CopyInstruction& cp) {
  for (const auto& src : cp.sources) {
    if (!cp.add && is_git_source(src)) return ctx.error("source can't be a git ref for COPY", src);
    if (!cp.add && is_http_source(src)) return ctx.error("source can't be a URL for COPY", src);
  }
  if (cp.checksum.empty()) return {};
  if (cp.sources.size() + cp.inline_sources.size() != 1) {
    return ctx.error("checksum can't be specified for multiple sources", "--checksum");
  }
  if (cp.sources.empty() || (!is_http_source(cp.sources[0]) && !is_git_source(cp.sources[0]))) {
    return ctx.error("checksum requires HTTP(S) or Git sources", "--checksum");
  }
  if (is_http_source(cp.sources[0])) {
    auto colon = cp.checksum.find(':');
    std::string algo = cp.checksum.substr(0, colon);
    if (colon == std::string::npos) return ctx.error("invalid checksum digest format", "--checksum");
    if (algo != "sha256") return ctx.error("unsupported digest algorithm", "--checksum");
    std::string hex = cp.checksum.substr(colon + 1);
    bool ok = hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char ch) {
                return std::isdigit(static_cast<unsigned char>(ch)) || (ch >= 'a' && ch <= 'f');
              });
    if (!ok) return ctx.error("invalid checksum digest length", "--checksum");
  }
  return {};
}

std::string copy_history(const CopyInstruction& cp, const std::string& kw) {
  std::string msg = kw;
  if (cp.parents) msg += " --parents";
  if (!cp.chown.empty()) msg += " --chown=" + cp.chown;
  if (!cp.chmod.empty()) msg += " --chmod=" + cp.chmod;
  for (const auto& src : cp.sources) msg += " " + src;
  for (const auto& f : cp.inline_sources) msg += " <<" + f.name;
  msg += " " + cp.dest;
  return msg + " # buildkit";
}

}  // namespace

util::Result<void> dispatch_copy(StepContext& ctx, CopyInstruction& cp) {
  const std::string kw = cp.add ? "ADD" : "COPY";
  MKIMAGE_TRY_VOID(expand_copy(ctx, cp, kw));
  MKIMAGE_TRY_VOID(check_chmod(ctx, cp));
  MKIMAGE_TRY_VOID(check_sources(ctx, cp));
  cp.resolved_dest = resolve_dest(ctx.state.workdir, cp.dest);
  // Several listed sources need a directory destination ending in '/'
  // (wildcards are checked by the builder, once matched).
  if (cp.sources.size() + cp.inline_sources.size() > 1 && cp.resolved_dest.back() != '/') {
    return ctx.error("When using " + kw +
                         " with more than one source file, the destination must be a directory and end with a /",
                     cp.dest);
  }
  auto& images = ctx.stage.images_used;
  if (!cp.from_image.empty() && std::find(images.begin(), images.end(), cp.from_image) == images.end()) {
    images.push_back(cp.from_image);
  }
  ctx.step.created_by = copy_history(cp, kw);
  ctx.step.empty_layer = false;
  return {};
}

}  // namespace mkimage::graph::detail
