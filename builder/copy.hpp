// The COPY and ADD operations (issue 4 "Execution"; the Dockerfile reference,
// "COPY" and "ADD"). Three phases, so a cache key can be
// computed before anything is written:
//
//   CopyOp op{...};                                  // from the typed instruction
//   MKIMAGE_TRY(auto plan, plan_copy(op, source, {.scratch_dir = tmp}));
//   MKIMAGE_TRY(auto digest, copy_content_digest(plan, &stat_cache));  // → cache key
//   // on a miss, with the step's rootfs mounted (overlay upperdir = the new layer):
//   MKIMAGE_TRY_VOID(execute_copy(plan, DestTree{.rootfs = merged, .workdir = "/app"}));
//
// Semantics (BuildKit's):
// - Sources are resolved inside the source tree (context with .dockerignore, or
//   a stage/image rootfs for --from); a leading "/" and ".." are clamped to its
//   root; a symlink named as a source is followed inside the tree; symlinks
//   inside copied directories are copied as links, byte-exact, dangling ones too.
// - Wildcards: Go filepath.Match per path component; a wildcard matching nothing
//   is allowed; a path without wildcards must exist ("… not found").
// - A directory source copies its contents. Several sources that would each
//   become the destination file (after wildcard expansion: files, links,
//   heredocs, URLs; not directories, whose contents go inside, nor unpacked
//   archives) need a destination ending in "/" (or "."): "When using COPY with
//   more than one source file, the destination must be a directory and end
//   with a /" (several matching directories or archives merge into it, as in
//   BuildKit). One source into a destination without "/": the destination is
//   the file name, unless it is an existing directory.
// - The destination is relative to the WORKDIR, resolved inside the rootfs
//   (never escaping through its symlinks), missing directories created 0755
//   owned by the --chown owner (else 0:0).
// - Ownership: --chown (names resolved in the destination rootfs); without it,
//   build-context files become 0:0 and --from files keep their uid/gid. Modes
//   and mtimes are kept; --chmod replaces or edits the permission bits of every
//   copied entry. Hard links inside one copy stay hard links.
// - --parents keeps the parent directories of each source relative to the root
//   or to a "/./" marker in the source; `**` matches any number of directories.
// - --exclude patterns (filepath.Match + `**`, not expanded) are matched against
//   the path of each entry relative to the source it was found under.
// - --link is executed as a normal copy onto the step's rootfs (same files; the
//   layer is the upperdir diff, so it holds the same entries BuildKit's
//   independent layer would, unless the copy overwrites files of lower layers).
// - Heredoc sources become files named after the delimiter, mode 0644 (then
//   --chmod), with the already-expanded body as content.
// - ADD: a local tar archive (plain, gzip, bzip2, xz, zstd) is extracted into
//   the destination directory unless --unpack=false; an http(s) URL is
//   downloaded with libcurl (file name from the URL path or `__unnamed__`, mode
//   0600, mtime from Last-Modified), --checksum=sha256:<hex> is verified, and a
//   URL is extracted only with --unpack=true.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builder/content_hash.hpp"
#include "builder/context.hpp"
#include "parser/instructions.hpp"
#include "store/digest.hpp"
#include "util/result.hpp"

namespace mkimage::builder {

enum class CopyKind { copy, add };

// A COPY/ADD heredoc source: `COPY <<EOF /dest`.
struct HeredocSource {
  std::string name;     // the delimiter, e.g. "EOF": the file name
  std::string content;  // the body, already expanded when the delimiter was unquoted
};

// Flags of COPY/ADD, after ARG/ENV expansion where the instruction expands them.
struct CopyFlags {
  std::optional<std::string> chown;  // "user[:group]", names or ids
  std::optional<std::string> chmod;  // octal ≤ 07777 or symbolic (builder/chmod.hpp)
  bool link = false;
  bool parents = false;              // COPY only
  std::vector<std::string> excludes; // not expanded
  std::optional<bool> unpack;        // ADD only; nullopt = true for local files, false for URLs
  std::optional<std::string> checksum;  // ADD only: "sha256:<64 hex>" for one URL source
};

// One COPY or ADD instruction, expanded.
struct CopyOp {
  CopyKind kind = CopyKind::copy;
  std::vector<std::string> sources;     // paths/wildcards (ADD: also http(s) URLs), in order
  std::vector<HeredocSource> heredocs;  // after `sources` in the source order of the instruction
  std::string dest;                     // as written (relative = against DestTree::workdir)
  CopyFlags flags;
};

// Where the sources are read from.
struct SourceTree {
  enum class Origin {
    context,  // the build context: .dockerignore applies, files become 0:0 without --chown
    rootfs,   // a stage's or image's rootfs (COPY --from): ownership kept
  };
  std::filesystem::path root;           // host directory
  Origin origin = Origin::context;
  const PathFilter* filter = nullptr;   // context only; null = nothing excluded
};

// Where the copy writes.
struct DestTree {
  std::filesystem::path rootfs;  // host directory: the step's rootfs (e.g. the mounted overlay)
  std::string workdir = "/";     // the image's WORKDIR at this instruction
  // The rootfs whose /etc/passwd and /etc/group resolve --chown names; empty = `rootfs`.
  std::filesystem::path user_rootfs;
  // A throwaway view that nothing writes through (RUN --mount=type=bind of the
  // context: a read-only bind, or the lower of a discarded overlay): a regular
  // file whose owner and mode already are what the copy would give it is
  // hard-linked to its source instead of copied (same bytes, times and
  // xattrs; nothing is changed on the source). Falls back to a copy when the
  // link fails (another filesystem).
  bool link_equal_files = false;
};

struct PlanOptions {
  // Directory for downloads (ADD URLs); must exist. Files there belong to the plan.
  std::filesystem::path scratch_dir;
  // For tests and offline builds: refuse URL sources ("network disabled").
  bool allow_network = true;
  // Kept URL downloads revalidated by ETag (builder/url_cache.hpp); "" = none.
  std::filesystem::path url_cache_dir;
  // The stat cache copy_content_digest will use: for a context source, its
  // records of the context are read (StatCache::preload) on another thread
  // while the sources are walked. null = none.
  StatCache* preload = nullptr;
};

// A resolved COPY/ADD: every source found, with the entries it will write.
// Movable; holds downloaded files in PlanOptions::scratch_dir.
struct CopyPlan {
  struct Item;  // one resolved source (internal layout: builder/copy_internal.hpp)
  CopyOp op;
  SourceTree source;
  std::vector<std::shared_ptr<Item>> items;
  bool dest_is_dir = false;  // destination must be a directory (trailing "/", several sources, …)
  std::filesystem::path scratch_dir;  // PlanOptions::scratch_dir (downloads)
  // The selection's entries (SelectedEntry) are made from the items' walks one
  // at a time by copy_content_digest, never held all at once.
};

// Resolves the sources of `op` in `source` (wildcards, .dockerignore,
// --exclude, --parents, heredocs, archives, URLs). Downloads URL sources that
// have no --checksum (their digest is part of the key); with --checksum the
// download happens in execute_copy. Errors: a non-wildcard source not found
// (`"/x.txt": not found`), several sources into a destination without "/",
// bad --chmod, a URL or --checksum in COPY, download failures.
util::Result<CopyPlan> plan_copy(const CopyOp& op, const SourceTree& source, const PlanOptions& options = {});

// The content digest of the plan's selection (builder/content_hash.hpp) for the
// cache key: each entry's output path, type, mode after --chmod, owner (with
// --chown: the --chown text, whose resolution the parent key fixes), symlink
// target, xattrs and bytes; a URL with --checksum contributes the checksum.
// File bytes go through `stat_cache` (may be null), which is asked to preload
// the context directory's records and flushed at the end. `listing`, when
// given, gets every entry hashed (builder/file_listing.hpp), for miss reasons.
util::Result<store::Digest> copy_content_digest(const CopyPlan& plan, StatCache* stat_cache,
                                                FileDigester* digester = nullptr, FileListing* listing = nullptr);

struct CopyStats {
  std::uint64_t files = 0;        // regular files written
  std::uint64_t dirs = 0;         // directories created or updated
  std::uint64_t symlinks = 0;
  std::uint64_t bytes = 0;        // regular-file bytes written
};

// Writes the plan into `dest`. Errors: --chown names not found in the
// destination rootfs ("unable to find user NAME"), checksum mismatch, I/O errors
// naming the path and errno, a file where a directory is needed.
util::Result<CopyStats> execute_copy(const CopyPlan& plan, const DestTree& dest);

// The CopyOp of a planned COPY/ADD instruction: sources, heredoc bodies and
// flags as the parser's planner expanded them ("" flags mean absent). The
// destination stays as written (relative to DestTree::workdir; a trailing "/"
// or "." keeps its meaning).
CopyOp make_copy_op(const parser::CopyInstruction& ins);

// Convenience: plan_copy + execute_copy.
util::Result<CopyStats> run_copy(const CopyOp& op, const SourceTree& source, const DestTree& dest,
                                 const PlanOptions& options = {});

}  // namespace mkimage::builder
