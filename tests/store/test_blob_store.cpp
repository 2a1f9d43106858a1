#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>

#include "store/blob_store.hpp"
#include "store/owner.hpp"
#include "temp_dir.hpp"

using namespace mkimage;
using namespace mkimage::store;
namespace fs = std::filesystem;

namespace {
std::size_t count_files(const fs::path& dir) {
  std::size_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) (void)e, ++n;
  return n;
}
}  // namespace

TEST_CASE("BlobStore put, read, verify; existing blobs are not rewritten") {
  test::TempDir tmp;
  auto root = Root::open(tmp.path());
  REQUIRE(root.ok());
  BlobStore blobs(*root);
  auto info = blobs.put("hello");
  REQUIRE(info.ok());
  CHECK(info->digest == Digest::sha256_of("hello"));
  CHECK(info->size == 5);
  CHECK_FALSE(info->existed);
  CHECK(blobs.exists(info->digest));
  CHECK(blobs.read(info->digest).value() == "hello");
  CHECK(blobs.size(info->digest).value() == 5);
  CHECK(blobs.verify(info->digest).value());
  struct stat st;
  REQUIRE(::stat(blobs.path(info->digest).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0444);
  ino_t ino = st.st_ino;

  auto again = blobs.put("hello");
  REQUIRE(again.ok());
  CHECK(again->existed);
  REQUIRE(::stat(blobs.path(info->digest).c_str(), &st) == 0);
  CHECK(st.st_ino == ino);  // not replaced
  CHECK(count_files(root->tmp_dir()) == 0);
  CHECK(blobs.list().value() == std::vector<Digest>{info->digest});
}

TEST_CASE("BlobWriter streams, hashes and verifies before it commits") {
  test::TempDir tmp;
  auto root = Root::open(tmp.path());
  REQUIRE(root.ok());
  BlobStore blobs(*root);

  std::string big(3 * 1024 * 1024 + 17, 'x');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 % 251);
  {
    auto w = blobs.writer();
    REQUIRE(w.ok());
    // Mixed write sizes exercise the buffer and the direct-write path.
    std::size_t off = 0;
    for (std::size_t n : {1u, 100u, 2u * 1024 * 1024, 5u}) {
      REQUIRE(w->write(big.data() + off, n).ok());
      off += n;
    }
    REQUIRE(w->write(big.data() + off, big.size() - off).ok());
    CHECK(w->size() == static_cast<std::int64_t>(big.size()));
    CHECK(count_files(root->blobs_dir()) == 0);  // nothing visible before commit
    auto info = w->commit(Digest::sha256_of(big), static_cast<std::int64_t>(big.size()));
    REQUIRE(info.ok());
    CHECK(blobs.read(info->digest).value() == big);
  }
  {
    auto w = blobs.writer();
    REQUIRE(w.ok());
    REQUIRE(w->write("abc").ok());
    auto bad = w->commit(Digest::sha256_of("abd"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("digest mismatch") != std::string::npos);
    CHECK_FALSE(blobs.exists(Digest::sha256_of("abc")));
  }
  {
    auto w = blobs.writer();
    REQUIRE(w.ok());
    REQUIRE(w->write("abc").ok());
    auto bad = w->commit(std::nullopt, 4);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("size mismatch") != std::string::npos);
    CHECK_FALSE(blobs.exists(Digest::sha256_of("abc")));
  }
  {
    auto w = blobs.writer();
    REQUIRE(w.ok());
    REQUIRE(w->write("abandoned").ok());
  }  // destructor aborts
  CHECK(count_files(root->tmp_dir()) == 0);
  CHECK_FALSE(blobs.exists(Digest::sha256_of("abandoned")));
  CHECK_FALSE(blobs.put("x", Digest::sha256_of("y")).ok());
}

TEST_CASE("A caller-hashed BlobWriter takes its digest from the caller and requires it") {
  test::TempDir tmp;
  auto root = Root::open(tmp.path());
  REQUIRE(root.ok());
  BlobStore blobs(*root);
  {
    auto w = blobs.writer(BlobHashing::caller);
    REQUIRE(w.ok());
    REQUIRE(w->write("layer bytes").ok());
    auto no_digest = w->commit();
    REQUIRE_FALSE(no_digest.ok());
    CHECK(no_digest.error().message.find("without its digest") != std::string::npos);
    CHECK(count_files(tmp.path() / "tmp") == 0);  // the temp file is gone
  }
  auto w = blobs.writer(BlobHashing::caller);
  REQUIRE(w.ok());
  REQUIRE(w->write("layer ").ok());
  REQUIRE(w->write("bytes").ok());
  auto info = w->commit(Digest::sha256_of("layer bytes"));
  REQUIRE(info.ok());
  CHECK(info->size == 11);
  CHECK(blobs.read(info->digest).value() == "layer bytes");
  CHECK(blobs.verify(info->digest).value());
}

TEST_CASE("BlobStore put_file, corruption detection and remove") {
  test::TempDir tmp;
  auto root = Root::open(tmp.path() / "root");
  REQUIRE(root.ok());
  BlobStore blobs(*root);
  {
    std::ofstream f(tmp.path() / "in.bin", std::ios::binary);
    f << "file content";
  }
  auto info = blobs.put_file(tmp.path() / "in.bin");
  REQUIRE(info.ok());
  CHECK(info->digest == Digest::sha256_of("file content"));
  CHECK(hash_file(tmp.path() / "in.bin").value().digest == info->digest);
  CHECK_FALSE(blobs.put_file(tmp.path() / "nope").ok());

  // Corrupt the blob behind the store's back.
  fs::permissions(blobs.path(info->digest), fs::perms::owner_write, fs::perm_options::add);
  {
    std::ofstream f(blobs.path(info->digest), std::ios::binary | std::ios::trunc);
    f << "file c0ntent";
  }
  CHECK_FALSE(blobs.verify(info->digest).value());
  auto r = blobs.read(info->digest);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("corrupt") != std::string::npos);
  CHECK(blobs.read(info->digest, false).ok());
  REQUIRE(blobs.remove(info->digest).ok());
  CHECK_FALSE(blobs.exists(info->digest));
  CHECK(blobs.remove(info->digest).ok());  // missing is fine
  CHECK_FALSE(blobs.verify(info->digest).ok());
}

TEST_CASE("Two processes committing the same blob leave one intact file") {
  test::TempDir tmp;
  auto root = Root::open(tmp.path());
  REQUIRE(root.ok());
  BlobStore blobs(*root);
  std::string data(512 * 1024, 'q');
  pid_t pids[2];
  for (pid_t& pid : pids) {
    pid = ::fork();
    if (pid == 0) {
      int rc = 0;
      for (int i = 0; i < 20; ++i) {
        auto r = blobs.put(data + std::to_string(i % 3));
        if (!r.ok()) rc = 1;
      }
      ::_exit(rc);
    }
  }
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  CHECK(blobs.list().value().size() == 3);
  auto listed = blobs.list().value();
  for (const auto& d : listed) CHECK(blobs.verify(d).value());
  CHECK(count_files(root->tmp_dir()) == 0);
}

TEST_CASE("BlobSink streams into a BlobWriter") {
  test::TempDir tmp;
  auto root = Root::open(tmp.path());
  REQUIRE(root.ok());
  BlobStore blobs(*root);
  auto w = blobs.writer();
  REQUIRE(w.ok());
  BlobSink sink(*w);
  ByteSink& as_sink = sink;
  REQUIRE(as_sink.write("hel", 3).ok());
  REQUIRE(as_sink.write("lo", 2).ok());
  CHECK(w->size() == 5);
  auto info = w->commit(Digest::sha256_of("hello"), 5);
  REQUIRE(info.ok());
  CHECK(blobs.read(info->digest).value() == "hello");
}

TEST_CASE("make_temp_dir makes ROOT/tmp/<prefix>-<pid>-<start>-XXXXXX; TempPath removes it") {
  test::TempDir tmp;
  auto root = Root::open(tmp.path());
  REQUIRE(root.ok());
  fs::path made;
  {
    auto dir = make_temp_dir(*root, "load");
    REQUIRE(dir.ok());
    made = *dir;
    CHECK(made.parent_path() == root->tmp_dir());
    std::string owner = owner_tag();  // <pid>-<start> (store/owner.hpp)
    CHECK(made.filename().string().rfind("load-" + owner + "-", 0) == 0);
    CHECK(made.filename().string().size() == 5 + owner.size() + 1 + 6);
    CHECK(fs::is_directory(made));
    TempPath guard(made);
    fs::create_directories(made / "a" / "b");
    std::ofstream(made / "a" / "b" / "f") << "x";
    ::chmod((made / "a").c_str(), 0500);  // read-only directories are emptied too
  }
  CHECK_FALSE(fs::exists(made));
  TempPath empty;  // an empty path is left alone
  CHECK(empty.path.empty());
}

TEST_CASE("sweep_stale_tmp removes what dead processes left in ROOT/tmp, nothing else") {
  test::TempDir tmp;
  auto root = Root::open(tmp.path());
  REQUIRE(root.ok());
  BlobStore blobs(*root);
  // A process that has exited: its pid is free (reaped).
  pid_t dead = ::fork();
  REQUIRE(dead >= 0);
  if (dead == 0) ::_exit(0);
  int status = 0;
  REQUIRE(::waitpid(dead, &status, 0) == dead);
  const fs::path t = root->tmp_dir();
  fs::create_directories(t / ("load-" + std::to_string(dead) + "-AbC123") / "sub");
  std::ofstream(t / ("load-" + std::to_string(dead) + "-AbC123") / "sub" / "f") << "x";
  std::ofstream(t / ("blob-" + std::to_string(dead) + "-x1Y2z3")) << "partial";
  // A live process's entries (this one's and pid 1's), and names of another shape.
  auto live = make_temp_dir(*root, "import");
  REQUIRE(live.ok());
  std::ofstream(t / "blob-1-aaaaaa") << "pid 1 runs";
  std::ofstream(t / "notes.txt") << "not ours";
  fs::create_directories(t / "active");
  std::ofstream(t / ("Upper-" + std::to_string(dead) + "-AbC123")) << "not our prefix";

  blobs.sweep_stale_tmp();
  CHECK_FALSE(fs::exists(t / ("load-" + std::to_string(dead) + "-AbC123")));
  CHECK_FALSE(fs::exists(t / ("blob-" + std::to_string(dead) + "-x1Y2z3")));
  CHECK(fs::is_directory(*live));
  CHECK(fs::exists(t / "blob-1-aaaaaa"));
  CHECK(fs::exists(t / "notes.txt"));
  CHECK(fs::is_directory(t / "active"));
  CHECK(fs::exists(t / ("Upper-" + std::to_string(dead) + "-AbC123")));
  TempPath guard(*live);
}

TEST_CASE("BlobWriter with direct I/O: aligned blocks, unaligned writes and the tail give the same blob") {
  test::TempDir tmp;
  auto root = Root::open(tmp.path());
  REQUIRE(root.ok());
  BlobStore blobs(*root);

  constexpr std::size_t k_block = 4096;
  void* mem = nullptr;
  REQUIRE(::posix_memalign(&mem, k_block, 4 * k_block) == 0);
  std::unique_ptr<char, decltype(&std::free)> aligned(static_cast<char*>(mem), &std::free);
  for (std::size_t i = 0; i < 4 * k_block; ++i) aligned.get()[i] = static_cast<char>(i * 7 % 253);

  std::string expected;
  auto w = blobs.writer();
  REQUIRE(w.ok());
  w->use_direct_io();
  // Aligned (direct where the filesystem allows), then an unaligned pointer,
  // then aligned again at an unaligned offset (buffered), then a short tail.
  REQUIRE(w->write(aligned.get(), 2 * k_block).ok());
  expected.append(aligned.get(), 2 * k_block);
  REQUIRE(w->write(aligned.get() + 1, k_block).ok());
  expected.append(aligned.get() + 1, k_block);
  REQUIRE(w->write(aligned.get(), 4 * k_block).ok());
  expected.append(aligned.get(), 4 * k_block);
  REQUIRE(w->write(aligned.get(), 100).ok());
  expected.append(aligned.get(), 100);
  auto info = w->commit(Digest::sha256_of(expected), static_cast<std::int64_t>(expected.size()));
  REQUIRE(info.ok());
  CHECK(blobs.read(info->digest).value() == expected);
  CHECK(blobs.verify(info->digest).value());
}
