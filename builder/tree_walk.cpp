#include "builder/tree_walk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace mkimage::builder {

namespace {

constexpr unsigned k_max_threads = 4;

struct Node;

// One entry of a directory that the walk keeps: included, or a directory
// entered for what may be re-included below it.
struct Kid {
  WalkEntry entry;
  bool included = false;
  std::shared_ptr<Node> child;  // the directory to descend into, if any
};

// One directory to read. `state`: 0 queued, 1 being read, 2 read.
struct Node {
  std::string host;
  std::string rel;
  std::atomic<int> state{0};
  std::vector<Kid> kids;
  std::optional<util::Error> error;  // met after kids[0, error_at)
  std::size_t error_at = 0;
};

// Reads a directory's names into `names`: NUL-terminated, back to back in
// `buf`, sorted (no allocation per name).
struct NameList {
  std::string buf;
  std::vector<std::pair<std::size_t, std::size_t>> names;  // offset, size in buf
  std::string_view name(const std::pair<std::size_t, std::size_t>& n) const {
    return std::string_view(buf.data() + n.first, n.second);
  }
};

class TreeWalk {
public:
  TreeWalk(const WalkFilter& f, std::deque<WalkEntry>& out) : m_f(f), m_out(out) {}

  ~TreeWalk() {
    {
      std::lock_guard lock(m_mutex);
      m_finished = true;
    }
    m_queue_cv.notify_all();
    for (auto& t : m_helpers) t.join();
  }

  util::Result<void> run(const std::string& host) {
    auto root = std::make_shared<Node>();
    root->host = host;
    return emit(*root);
  }

private:
  // Emits `n`'s entries and, depth first, its subdirectories' (the one-thread
  // walk's order), reading what no helper has read.
  util::Result<void> emit(Node& n) {
    read_or_wait(n);
    for (std::size_t i = 0; i < n.kids.size(); ++i) {
      if (n.error && i == n.error_at) break;
      Kid& k = n.kids[i];
      if (k.included) {
        flush();
        m_out.push_back(std::move(k.entry));
        if (k.child) MKIMAGE_TRY_VOID(emit(*k.child));
      } else {
        std::size_t depth = m_pending.size();
        m_pending.push_back(std::move(k.entry));
        MKIMAGE_TRY_VOID(emit(*k.child));
        if (m_pending.size() > depth) m_pending.pop_back();
      }
      k.child.reset();
    }
    if (n.error) return *n.error;
    std::vector<Kid>().swap(n.kids);
    return {};
  }

  // Emits directories that were entered without being included, now that
  // something below them is (fsutil emits parents of included paths lazily).
  void flush() {
    for (auto& p : m_pending) m_out.push_back(std::move(p));
    m_pending.clear();
  }

  void read_or_wait(Node& n) {
    int queued = 0;
    if (n.state.compare_exchange_strong(queued, 1)) {
      read(n, m_names);
      return;
    }
    std::unique_lock lock(m_mutex);
    m_done_cv.wait(lock, [&] { return n.state.load() == 2; });
  }

  void helper() {
    NameList names;
    std::unique_lock lock(m_mutex);
    while (true) {
      m_queue_cv.wait(lock, [&] {
        // Directories the caller took itself are dropped from the top.
        while (!m_queue.empty() && m_queue.back()->state.load() != 0) m_queue.pop_back();
        return m_finished || !m_queue.empty();
      });
      if (m_finished) return;
      // The top is what the caller will need next: take the one after it
      // when there is one, so both read at once.
      std::size_t at = m_queue.size() - 1;
      if (at > 0 && m_queue[at - 1]->state.load() == 0) --at;
      std::shared_ptr<Node> n = std::move(m_queue[at]);
      m_queue.erase(m_queue.begin() + static_cast<std::ptrdiff_t>(at));
      lock.unlock();
      int queued = 0;
      if (n->state.compare_exchange_strong(queued, 1)) read(*n, names);
      lock.lock();
    }
  }

  // Reads directory `n` (its kids, their filter decisions, symlink targets),
  // marks it read and queues the subdirectories to descend into.
  void read(Node& n, NameList& names) {
    std::vector<std::shared_ptr<Node>> subdirs;
    read_kids(n, names, subdirs);
    {
      std::lock_guard lock(m_mutex);
      n.state.store(2);
      // Pushed last first: the top of the stack is the next directory in pre-order.
      for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) m_queue.push_back(std::move(*it));
      if (m_queue.size() >= 2 && !m_helpers_started) start_helpers();
    }
    m_done_cv.notify_all();
    if (!subdirs.empty() && !m_helpers.empty()) m_queue_cv.notify_all();
  }

  void start_helpers() {
    m_helpers_started = true;
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    unsigned n = std::min(cores, k_max_threads) - 1;
    for (unsigned i = 0; i < n; ++i) {
      try {
        m_helpers.emplace_back([this] { helper(); });
      } catch (const std::system_error&) {
        break;  // no thread: the caller reads everything itself
      }
    }
  }

  void fail(Node& n, util::Error e) {
    n.error = std::move(e);
    n.error_at = n.kids.size();
  }

  void read_kids(Node& n, NameList& l, std::vector<std::shared_ptr<Node>>& subdirs) {
    int fd = ::open(n.host.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail(n, util::sys_error("opendir", n.host));
    DIR* d = fdopendir(fd);
    if (!d) {
      int err = errno;
      ::close(fd);
      return fail(n, util::sys_error("opendir", n.host, err));
    }
    l.buf.clear();
    l.names.clear();
    errno = 0;
    while (auto* e = readdir(d)) {
      std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      l.names.emplace_back(l.buf.size(), name.size());
      l.buf.append(name);
      l.buf.push_back('\0');
    }
    std::sort(l.names.begin(), l.names.end(), [&](const auto& a, const auto& b) { return l.name(a) < l.name(b); });
    // Every entry is lstat'ed before any is filtered: an lstat error is the
    // directory's error, before any of its entries is emitted.
    std::vector<Kid> kids;
    kids.reserve(l.names.size());
    for (const auto& nm : l.names) {
      const char* name = l.buf.data() + nm.first;
      struct stat st;
      if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed while walking
        int err = errno;
        closedir(d);
        return fail(n, util::sys_error("lstat", n.host + "/" + name, err));
      }
      Kid k;
      k.entry.st = WalkStat(st);
      std::string& rel = k.entry.rel;
      rel.reserve(n.rel.size() + 1 + nm.second);
      if (!n.rel.empty()) {
        rel.append(n.rel);
        rel.push_back('/');
      }
      rel.append(l.name(nm));
      kids.push_back(std::move(k));
    }
    // The kids the walk keeps are moved to the front of `kids`, which becomes n.kids.
    std::string crel;
    std::size_t name_at = n.rel.empty() ? 0 : n.rel.size() + 1;
    std::size_t kept = 0;
    auto fail_at = [&](util::Error e) {
      kids.resize(kept);
      n.kids = std::move(kids);
      fail(n, std::move(e));
    };
    for (auto& k : kids) {
      WalkEntry& e = k.entry;
      bool is_dir = S_ISDIR(e.st.st_mode);
      bool included = true;
      bool descend = is_dir;
      if (m_f.ctx) {
        if (!m_f.ctx_prefix.empty()) {
          crel.assign(m_f.ctx_prefix);
          crel.push_back('/');
          crel.append(e.rel);
        }
        const std::string& ctx_rel = m_f.ctx_prefix.empty() ? e.rel : crel;
        if (m_f.ctx->excluded(ctx_rel)) {
          included = false;
          descend = is_dir && m_f.ctx->may_reinclude_below(ctx_rel);
        }
      }
      if ((included || descend) && m_f.excludes && m_f.excludes->matches_or_parent_matches(e.rel)) {
        included = false;
        descend = false;
      }
      if (included && m_f.include && !m_f.include->matches_or_parent_matches(e.rel)) included = false;
      if (!included && !descend) continue;
      const char* name = e.rel.c_str() + name_at;
      if (S_ISLNK(e.st.st_mode)) {
        auto target = read_link(fd, name);
        if (!target) {
          int err = errno;
          closedir(d);
          std::string path = n.host;
          if (path.empty() || path.back() != '/') path.push_back('/');
          return fail_at(util::sys_error("readlink", path.append(name), err));
        }
        e.link_target = std::move(*target);
      }
      k.included = included;
      if (is_dir) {
        k.child = std::make_shared<Node>();
        k.child->host = n.host;
        if (k.child->host.empty() || k.child->host.back() != '/') k.child->host.push_back('/');
        k.child->host.append(name);
        k.child->rel = e.rel;
        subdirs.push_back(k.child);
      }
      if (&kids[kept] != &k) kids[kept] = std::move(k);
      ++kept;
    }
    kids.resize(kept);
    n.kids = std::move(kids);
    closedir(d);
  }

  static std::optional<std::string> read_link(int dirfd, const char* name) {
    std::string buf(256, '\0');
    while (true) {
      ssize_t r = ::readlinkat(dirfd, name, buf.data(), buf.size());
      if (r < 0) return std::nullopt;
      if (static_cast<std::size_t>(r) < buf.size()) {
        buf.resize(static_cast<std::size_t>(r));
        return buf;
      }
      buf.resize(buf.size() * 2);
    }
  }

  const WalkFilter& m_f;
  std::deque<WalkEntry>& m_out;
  std::vector<WalkEntry> m_pending;
  NameList m_names;  // the caller's

  std::mutex m_mutex;  // guards m_queue, m_finished, m_helpers and the read → done transition
  std::condition_variable m_queue_cv;
  std::condition_variable m_done_cv;
  std::vector<std::shared_ptr<Node>> m_queue;  // a stack: its top is the next directory in pre-order
  bool m_finished = false;
  bool m_helpers_started = false;
  std::vector<std::thread> m_helpers;
};

}  // namespace

util::Result<void> walk_tree(const std::string& host, const WalkFilter& filter, std::deque<WalkEntry>& out) {
  TreeWalk w(filter, out);
  return w.run(host);
}

}  // namespace mkimage::builder
