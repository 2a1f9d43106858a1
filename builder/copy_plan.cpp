// COPY/ADD planning: resolves sources (wildcards, .dockerignore, --exclude,
// --parents, heredocs, archives, URLs) into items with their walks, and the
// content digest of the selection for the cache key.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <future>
#include <map>
#include <system_error>

#include "builder/chmod.hpp"
#include "builder/copy_internal.hpp"
#include "builder/fs_resolve.hpp"
#include "builder/tree_walk.hpp"
#include "util/sha256.hpp"

namespace mkimage::builder {

namespace fs = std::filesystem;

namespace {

std::string rel_join(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return std::string(a) + "/" + std::string(b);
}

std::string base_name(std::string_view p) {
  std::string c = clean_path(p);
  auto pos = c.rfind('/');
  return pos == std::string::npos ? c : c.substr(pos + 1);
}

// The context directory itself is a 0755 directory without xattrs wherever it
// lives and whatever the umask of its checkout: BuildKit never sends the walk
// root's metadata (fsutil skips it), so neither the key nor the layer sees it.
void mark_context_root(WalkEntry& root) {
  root.context_root = true;
  root.st.st_mode = S_IFDIR | 0755;
}

// An archive that ADD unpacks: only its bytes reach the layer, never the
// archive file's own mode, xattrs or hard links.
SelectedEntry archive_entry(const CopyPlan::Item& item) {
  SelectedEntry e;
  e.path = item.out_name;
  e.type = EntryType::regular;
  e.mode = 0;
  e.host_path = item.host.string();
  return e;
}

// rootfs path "/a/b" → relative "a/b" ("" for "/").
std::string strip_root(const std::string& p) { return p == "/" ? "" : p.substr(1); }

util::Result<std::vector<std::string>> list_dir(const fs::path& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (!d) return util::sys_error("opendir", dir.string());
  errno = 0;
  while (auto* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    names.emplace_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// The selection as written relative to the destination (the cache key's
// input), made one entry at a time in plan order so a large context is never
// held twice: ownership, --chmod, hard links (by plan order) and xattrs.
class EntryMaker {
public:
  explicit EntryMaker(const CopyPlan& plan)
      : m_keep_owner(plan.source.origin == SourceTree::Origin::rootfs && !plan.op.flags.chown) {
    if (plan.op.flags.chmod) m_chmod = *ChmodSpec::parse(*plan.op.flags.chmod);
  }

  // Entries of an item that is not a walked path (heredoc, URL, unpacked archive).
  SelectedEntry whole_item(const CopyPlan::Item& item) const {
    if (item.extract && item.kind == CopyPlan::Item::Kind::path) return archive_entry(item);
    SelectedEntry e;
    e.path = item.out_name;
    e.type = EntryType::regular;
    mode_t base = item.kind == CopyPlan::Item::Kind::url ? 0600 : 0644;
    e.mode = m_chmod ? m_chmod->apply(base, false) : base;
    e.content = item.content_digest;
    return e;
  }

  // Fills `e` for walk entry `w` of a path item (reusing its buffers).
  util::Result<void> walked(const CopyPlan::Item& item, const WalkEntry& w, SelectedEntry& e) {
    if (item.out_name.empty()) e.path = w.rel;
    else e.path = rel_join(item.out_name, w.rel);
    const auto& st = w.st;
    bool dir = S_ISDIR(st.st_mode);
    e.type = dir                        ? EntryType::directory
             : S_ISLNK(st.st_mode)      ? EntryType::symlink
             : S_ISFIFO(st.st_mode)     ? EntryType::fifo
             : S_ISCHR(st.st_mode)      ? EntryType::char_device
             : S_ISBLK(st.st_mode)      ? EntryType::block_device
             : S_ISSOCK(st.st_mode)     ? EntryType::socket
                                        : EntryType::regular;
    e.mode = st.st_mode & 07777;
    if (m_chmod && e.type != EntryType::symlink) e.mode = m_chmod->apply(e.mode, dir);
    e.uid = m_keep_owner ? st.st_uid : 0;
    e.gid = m_keep_owner ? st.st_gid : 0;
    e.link_target = w.link_target;
    e.rdev = st.st_rdev;
    e.host_path.assign(item.host.native());
    if (!w.rel.empty()) {
      if (e.host_path.empty() || e.host_path.back() != '/') e.host_path.push_back('/');
      e.host_path.append(w.rel);
    }
    e.content.reset();
    e.stat.reset();
    if (e.type == EntryType::regular) e.stat = st.key();
    if (e.type == EntryType::regular && st.st_nlink > 1) {
      auto key = std::make_pair(st.st_dev, st.st_ino);
      auto it = m_links.find(key);
      if (it != m_links.end()) {
        e.type = EntryType::hardlink;
        e.link_target = it->second;
      } else {
        m_links.emplace(key, e.path);
      }
    }
    // xattrs are not read by the walk: a regular file's come with its
    // content (FileDigester::resolve_regular, skipped when its stat-cache
    // record proves it still has none); other entries' are read here.
    e.xattrs.clear();
    if (e.type != EntryType::regular && !w.context_root) {
      MKIMAGE_TRY(e.xattrs, read_xattrs(e.host_path));
    }
    return {};
  }

private:
  std::optional<ChmodSpec> m_chmod;
  bool m_keep_owner;
  std::map<std::pair<dev_t, ino_t>, std::string> m_links;
};

struct Planner {
  const CopyOp& op;
  const SourceTree& source;
  const PlanOptions& options;
  std::optional<parser::PatternMatcher> excludes;
  CopyPlan plan;

  bool is_context() const { return source.origin == SourceTree::Origin::context && source.filter; }

  // True when the context filter hides `rel` entirely.
  bool hidden(const std::string& rel, bool is_dir) const {
    if (!is_context() || rel.empty()) return false;
    if (!source.filter->excluded(rel)) return false;
    return !(is_dir && source.filter->may_reinclude_below(rel));
  }

  // Go filepath.Glob inside the source tree: rootfs paths of the matches, sorted per directory.
  util::Result<std::vector<std::string>> glob(const std::string& pattern_path) {
    std::vector<std::string> comps;
    {
      std::string c = pattern_path;
      std::size_t i = 0;
      while (i < c.size()) {
        while (i < c.size() && c[i] == '/') ++i;
        std::size_t j = i;
        while (j < c.size() && c[j] != '/') ++j;
        if (j > i) comps.push_back(c.substr(i, j - i));
        i = j;
      }
    }
    std::vector<std::string> cur{"/"};
    for (const auto& comp : comps) {
      std::vector<std::string> next;
      bool wild = parser::contains_wildcards(comp);
      for (const auto& c : cur) {
        if (!wild) {
          next.push_back(join_path(c, comp));
          continue;
        }
        MKIMAGE_TRY(fs::path host, resolve_in_root(source.root, c, FollowFinal::yes));
        struct stat st;
        if (lstat(host.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        MKIMAGE_TRY(auto names, list_dir(host));
        for (const auto& name : names) {
          auto m = parser::go_path_match(comp, name);
          if (!m.ok()) return util::Error{"invalid source pattern \"" + pattern_path + "\": " + m.error().message};
          if (!*m) continue;
          std::string p = join_path(c, name);
          struct stat cst;
          bool cdir = stat((host / name).c_str(), &cst) == 0 && S_ISDIR(cst.st_mode);
          if (hidden(strip_root(p), cdir)) continue;
          next.push_back(p);
        }
      }
      cur = std::move(next);
    }
    std::vector<std::string> out;
    for (const auto& p : cur) {
      MKIMAGE_TRY(fs::path host, resolve_in_root(source.root, p, FollowFinal::yes));
      struct stat st;
      if (lstat(host.c_str(), &st) == 0) out.push_back(p);
    }
    return out;
  }

  util::Result<void> walk_item(CopyPlan::Item& item, const parser::PatternMatcher* include) {
    WalkEntry root;
    root.rel = "";
    struct stat st;
    if (lstat(item.host.c_str(), &st) != 0) return util::sys_error("lstat", item.host.string());
    root.st = WalkStat(st);
    if (source.origin == SourceTree::Origin::context && item.rel.empty() && S_ISDIR(root.st.st_mode)) {
      mark_context_root(root);
    }
    item.walk.push_back(root);
    if (!item.is_dir) return {};
    WalkFilter f;
    if (is_context()) {
      f.ctx = source.filter;
      f.ctx_prefix = item.rel;
    }
    f.excludes = excludes ? &*excludes : nullptr;
    f.include = include;
    return walk_tree(item.host.string(), f, item.walk);
  }

  // A local source named by `rootfs_path` (already clamped). `name` is the file
  // name it gets under a directory destination.
  util::Result<bool> add_path(const std::string& source_text, const std::string& rootfs_path, bool must_exist) {
    MKIMAGE_TRY(fs::path host, resolve_in_root(source.root, rootfs_path, FollowFinal::yes));
    struct stat st;
    std::string rel = strip_root(rootfs_path_of(source.root, host));
    bool exists = lstat(host.c_str(), &st) == 0;
    if (exists && hidden(rel, S_ISDIR(st.st_mode))) exists = false;
    if (!exists) {
      if (must_exist) return util::Error{"\"" + rootfs_path + "\": not found"};
      return false;
    }
    auto item = std::make_shared<CopyPlan::Item>();
    item->kind = CopyPlan::Item::Kind::path;
    item->source_text = source_text;
    item->host = host;
    item->rel = rel;
    item->is_dir = S_ISDIR(st.st_mode);
    item->out_name = item->is_dir ? "" : base_name(rootfs_path);
    if (!item->is_dir && excludes && excludes->matches_or_parent_matches(item->out_name)) return false;
    if (op.kind == CopyKind::add && !item->is_dir && op.flags.unpack.value_or(true) && S_ISREG(st.st_mode)) {
      item->extract = is_tar_archive(host);
    }
    MKIMAGE_TRY_VOID(walk_item(*item, nullptr));
    plan.items.push_back(std::move(item));
    return true;
  }

  util::Result<void> add_parents(const std::string& src) {
    std::string base = "/";
    std::string rest = src;
    auto marker = src.find("/./");
    if (marker != std::string::npos) {
      base = clean_path("/" + src.substr(0, marker));
      rest = src.substr(marker + 3);
    } else if (src.rfind("./", 0) == 0) {
      rest = src.substr(2);
    }
    rest = strip_root(clean_path("/" + rest));
    // As BuildKit: the part before the pivot is a source that may hold
    // wildcards (each matching directory is copied, filtered by the pattern
    // after the pivot; matching nothing is allowed); a path is required to
    // exist only when neither part has a wildcard.
    const bool base_wild = parser::contains_wildcards(base);
    if (!base_wild && !parser::contains_wildcards(rest)) {
      std::string full = join_path(base, rest);
      MKIMAGE_TRY(fs::path host, resolve_in_root(source.root, full, FollowFinal::yes));
      struct stat st;
      if (lstat(host.c_str(), &st) != 0 || hidden(strip_root(rootfs_path_of(source.root, host)), S_ISDIR(st.st_mode))) {
        return util::Error{"\"" + full + "\": not found"};
      }
    }
    std::optional<parser::PatternMatcher> include;
    if (!rest.empty()) {
      auto p = parser::PatternMatcher::create({rest});
      if (!p.ok()) return util::Error{"invalid source pattern \"" + src + "\": " + p.error().message};
      include = std::move(*p);
    }
    std::vector<std::string> bases{base};
    if (base_wild) {
      MKIMAGE_TRY(auto matches, glob(base));
      bases = std::move(matches);
    }
    for (const auto& b : bases) {
      MKIMAGE_TRY(fs::path host, resolve_in_root(source.root, b, FollowFinal::yes));
      struct stat st;
      if (lstat(host.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (base_wild) continue;
        return util::Error{"\"" + b + "\": not found"};
      }
      MKIMAGE_TRY_VOID(add_parents_base(src, host, include ? &*include : nullptr));
    }
    return {};
  }

  // One directory of a --parents source: its contents the pattern selects.
  util::Result<void> add_parents_base(const std::string& src, const fs::path& host,
                                      const parser::PatternMatcher* include) {
    auto item = std::make_shared<CopyPlan::Item>();
    item->kind = CopyPlan::Item::Kind::path;
    item->source_text = src;
    item->host = host;
    item->rel = strip_root(rootfs_path_of(source.root, host));
    item->is_dir = true;
    item->out_name = "";
    MKIMAGE_TRY_VOID(walk_item(*item, include));
    plan.items.push_back(std::move(item));
    return {};
  }

  util::Result<void> run() {
    plan.op = op;
    plan.source = source;
    plan.scratch_dir = options.scratch_dir;
    bool is_add = op.kind == CopyKind::add;
    const char* verb = is_add ? "ADD" : "COPY";
    if (op.flags.chmod) {
      auto c = ChmodSpec::parse(*op.flags.chmod);
      if (!c.ok()) return c.error();
    }
    if (!op.flags.excludes.empty()) {
      auto p = parser::PatternMatcher::create(op.flags.excludes);
      if (!p.ok()) return util::Error{"invalid --exclude pattern: " + p.error().message};
      excludes = std::move(*p);
    }
    std::size_t url_count = 0;
    for (const auto& s : op.sources) url_count += is_url(s) ? 1 : 0;
    if (op.flags.checksum) {
      if (!is_add) return util::Error{"COPY does not support --checksum"};
      if (op.sources.size() != 1 || url_count != 1) {
        return util::Error{"--checksum can only be used with a single HTTP(S) source"};
      }
      if (op.flags.checksum->rfind("sha256:", 0) != 0 || !store::Digest::parse(*op.flags.checksum).ok()) {
        return util::Error{"invalid checksum \"" + *op.flags.checksum + "\": only sha256:<64 hex> is supported"};
      }
    }
    for (const auto& src : op.sources) {
      if (is_url(src)) {
        if (!is_add) return util::Error{"source can't be a URL for COPY"};
        auto item = std::make_shared<CopyPlan::Item>();
        item->kind = CopyPlan::Item::Kind::url;
        item->source_text = src;
        item->url = src;
        item->out_name = url_file_name(src);
        item->extract = op.flags.unpack.value_or(false);
        if (op.flags.checksum) {
          item->content_digest = *store::Digest::parse(*op.flags.checksum);
        } else {
          if (!options.allow_network) return util::Error{"ADD " + src + ": network access is disabled"};
          if (options.scratch_dir.empty()) return util::Error{"ADD " + src + ": no scratch directory for downloads"};
          MKIMAGE_TRY(auto dl, download_url(src, options.scratch_dir, options.url_cache_dir));
          item->downloaded = dl.file;
          item->content_digest = dl.digest;
          item->mtime_s = dl.mtime_s;
        }
        plan.items.push_back(std::move(item));
        continue;
      }
      if (op.flags.parents) {
        MKIMAGE_TRY_VOID(add_parents(src));
        continue;
      }
      std::string clamped = clean_path("/" + src);
      if (parser::contains_wildcards(clamped)) {
        MKIMAGE_TRY(auto matches, glob(clamped));
        for (const auto& m : matches) MKIMAGE_TRY_VOID(add_path(src, m, false));
      } else {
        MKIMAGE_TRY_VOID(add_path(src, clamped, true));
      }
    }
    for (const auto& h : op.heredocs) {
      auto item = std::make_shared<CopyPlan::Item>();
      item->kind = CopyPlan::Item::Kind::heredoc;
      item->source_text = "<<" + h.name;
      item->out_name = h.name;
      item->content = h.content;
      item->content_digest = store::Digest::sha256_of(h.content);
      plan.items.push_back(std::move(item));
    }
    const std::string& d = op.dest;
    plan.dest_is_dir = d.empty() || d.back() == '/' || d == "." || (d.size() >= 2 && d.substr(d.size() - 2) == "/.") ||
                       op.flags.parents;
    // BuildKit copies every match to the destination in turn: a directory's
    // contents and an unpacked archive land inside it, so only items that would
    // each become the destination file itself (files, links, heredocs, URLs)
    // need a destination ending in '/' when there are several.
    std::size_t as_dest_file = 0;
    for (const auto& item : plan.items) {
      bool into_dir = (item->kind == CopyPlan::Item::Kind::path && item->is_dir) ||
                      (item->extract && (item->kind == CopyPlan::Item::Kind::path ||
                                         (!item->downloaded.empty() && is_tar_archive(item->downloaded))));
      if (!into_dir) ++as_dest_file;
    }
    if (as_dest_file > 1 && !plan.dest_is_dir) {
      return util::Error{std::string("When using ") + verb +
                         " with more than one source file, the destination must be a directory and end with a /"};
    }
    return {};
  }
};

}  // namespace

CopyOp make_copy_op(const parser::CopyInstruction& ins) {
  CopyOp op;
  op.kind = ins.add ? CopyKind::add : CopyKind::copy;
  op.sources = ins.sources;
  for (const auto& f : ins.inline_sources) op.heredocs.push_back(HeredocSource{f.name, f.content});
  op.dest = ins.dest;
  if (!ins.chown.empty()) op.flags.chown = ins.chown;
  if (!ins.chmod.empty()) op.flags.chmod = ins.chmod;
  op.flags.link = ins.link;
  op.flags.parents = ins.parents;
  op.flags.excludes = ins.excludes;
  op.flags.unpack = ins.unpack;
  if (!ins.checksum.empty()) op.flags.checksum = ins.checksum;
  return op;
}

util::Result<CopyPlan> plan_copy(const CopyOp& op, const SourceTree& source, const PlanOptions& options) {
  // The context's stat-cache records are read (one range scan of the index)
  // while the walk stats the files; copy_content_digest then finds them loaded.
  std::future<util::Result<void>> preloaded;
  if (options.preload && source.origin == SourceTree::Origin::context) {
    try {
      preloaded = std::async(std::launch::async, [&] { return options.preload->preload(source.root.string()); });
    } catch (const std::system_error&) {
      // No thread: copy_content_digest preloads.
    }
  }
  Planner p{op, source, options, {}, {}};
  auto ran = p.run();
  if (preloaded.valid()) {
    auto loaded = preloaded.get();
    if (ran.ok() && !loaded.ok()) return loaded.error();
  }
  MKIMAGE_TRY_VOID(ran);
  return std::move(p.plan);
}

util::Result<store::Digest> copy_content_digest(const CopyPlan& plan, StatCache* stat_cache, FileDigester* digester,
                                                FileListing* listing) {
  FileDigester local(stat_cache);
  FileDigester& files = digester ? *digester : local;
  if (stat_cache && plan.source.origin == SourceTree::Origin::context) {
    MKIMAGE_TRY_VOID(stat_cache->preload(plan.source.root.string()));
  }
  // Per item: its kind, where it lands and whether it is unpacked, then its entries.
  util::Sha256 h;
  h.update("mkimage.copy-content.v1\n");
  h.update("origin=" + std::string(plan.source.origin == SourceTree::Origin::context ? "context" : "rootfs") + "\n");
  h.update("chown=" + plan.op.flags.chown.value_or("") + "\n");
  EntryMaker maker(plan);
  SelectedEntry e;
  for (const auto& item : plan.items) {
    bool walked = item->kind == CopyPlan::Item::Kind::path && !item->extract;
    std::size_t count = item->kind == CopyPlan::Item::Kind::path ? item->walk.size() : 1;
    if (item->extract) count = 1;
    const char* kind = item->kind == CopyPlan::Item::Kind::path      ? "path"
                       : item->kind == CopyPlan::Item::Kind::heredoc ? "heredoc"
                                                                     : "url";
    std::string extra = std::string(kind) + "\n" + item->out_name + "\n" + (item->is_dir ? "dir" : "file") +
                        "\n" + (item->extract ? "extract" : "copy");
    SelectionHasher sel(files, extra, count);
    sel.list_into(listing);
    if (walked) {
      for (const auto& w : item->walk) {
        MKIMAGE_TRY_VOID(maker.walked(*item, w, e));
        if (e.type == EntryType::regular) MKIMAGE_TRY_VOID(files.resolve_regular(e));
        MKIMAGE_TRY_VOID(sel.add(e));
      }
    } else {
      MKIMAGE_TRY_VOID(sel.add(maker.whole_item(*item)));
    }
    h.update(sel.finish().str() + "\n");
  }
  // The digests learnt here are written in one transaction (none when nothing changed).
  if (stat_cache) MKIMAGE_TRY_VOID(stat_cache->flush());
  return store::Digest::from_bytes(h.finish());
}

}  // namespace mkimage::builder
