// libarchive, loaded on first use.
//
// mkimage calls libarchive (tar layers, archives, ADD's extraction) through the
// functions below, which have libarchive's own names and prototypes (the
// compiler checks them against <archive.h> and <archive_entry.h>) and forward to
// libarchive.so.13, opened with dlopen() on the first call. A process that
// touches no tar stream (a fully cached build, `images`, `ps`) then never maps
// libarchive and the seven libraries it needs (libxml2, ICU, lzma, lz4, bz2,
// acl, ...): about 2.5 ms and 90 page faults of every start on the development VM.
//
// Adding a libarchive call: add its line to the table (a missing line is an
// "undefined reference" at link time). If libarchive.so.13 cannot be loaded, the
// first call prints the loader's reason and exits with status 127, as the
// dynamic loader would have at start.
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace {

void* libarchive_symbol(const char* name) {
  static void* lib = [] {
    void* h = ::dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* why = ::dlerror();
      std::fprintf(stderr, "mkimage: cannot load libarchive.so.13 (install libarchive13): %s\n", why ? why : "");
      std::_Exit(127);
    }
    return h;
  }();
  void* sym = ::dlsym(lib, name);
  if (!sym) {
    std::fprintf(stderr, "mkimage: libarchive.so.13 has no %s\n", name);
    std::_Exit(127);
  }
  return sym;
}

}  // namespace

// RETURN name(PARAMS) { return libarchive's name(ARGS); }, the symbol resolved once.
#define MKIMAGE_LAZY_ARCHIVE(RETURN, NAME, PARAMS, ARGS)                                    \
  extern "C" RETURN NAME PARAMS {                                                           \
    static const auto real = reinterpret_cast<decltype(&::NAME)>(libarchive_symbol(#NAME)); \
    return real ARGS;                                                                       \
  }

// clang-format off
MKIMAGE_LAZY_ARCHIVE(time_t, archive_entry_atime, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(int, archive_entry_atime_is_set, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(long, archive_entry_atime_nsec, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(__LA_MODE_T, archive_entry_filetype, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(void, archive_entry_free, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(la_int64_t, archive_entry_gid, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(const char *, archive_entry_hardlink, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(time_t, archive_entry_mtime, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(long, archive_entry_mtime_nsec, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(struct archive_entry *, archive_entry_new, (void), ())
MKIMAGE_LAZY_ARCHIVE(const char *, archive_entry_pathname, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(__LA_MODE_T, archive_entry_perm, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(dev_t, archive_entry_rdev, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(void, archive_entry_set_filetype, (struct archive_entry * p0, unsigned int p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(void, archive_entry_set_gid, (struct archive_entry * p0, la_int64_t p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(void, archive_entry_set_hardlink, (struct archive_entry * p0, const char * p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(void, archive_entry_set_mode, (struct archive_entry * p0, __LA_MODE_T p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(void, archive_entry_set_mtime, (struct archive_entry * p0, time_t p1, long p2), (p0, p1, p2))
MKIMAGE_LAZY_ARCHIVE(void, archive_entry_set_pathname, (struct archive_entry * p0, const char * p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(void, archive_entry_set_perm, (struct archive_entry * p0, __LA_MODE_T p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(void, archive_entry_set_rdev, (struct archive_entry * p0, dev_t p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(void, archive_entry_set_size, (struct archive_entry * p0, la_int64_t p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(void, archive_entry_set_symlink, (struct archive_entry * p0, const char * p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(void, archive_entry_set_uid, (struct archive_entry * p0, la_int64_t p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(la_int64_t, archive_entry_size, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(const char *, archive_entry_symlink, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(la_int64_t, archive_entry_uid, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(void, archive_entry_xattr_add_entry, (struct archive_entry * p0, const char * p1, const void * p2, size_t p3), (p0, p1, p2, p3))
MKIMAGE_LAZY_ARCHIVE(void, archive_entry_xattr_clear, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(int, archive_entry_xattr_count, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(int, archive_entry_xattr_next, (struct archive_entry * p0, const char ** p1, const void ** p2, size_t * p3), (p0, p1, p2, p3))
MKIMAGE_LAZY_ARCHIVE(int, archive_entry_xattr_reset, (struct archive_entry * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(int, archive_format, (struct archive * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(int, archive_errno, (struct archive * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(const char *, archive_error_string, (struct archive * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(int, archive_read_data_block, (struct archive * p0, const void ** p1, size_t * p2, la_int64_t * p3), (p0, p1, p2, p3))
MKIMAGE_LAZY_ARCHIVE(int, archive_read_data_skip, (struct archive * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(int, archive_read_free, (struct archive * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(struct archive *, archive_read_new, (void), ())
MKIMAGE_LAZY_ARCHIVE(int, archive_read_next_header, (struct archive * p0, struct archive_entry ** p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(int, archive_read_open_filename, (struct archive * p0, const char * p1, size_t p2), (p0, p1, p2))
MKIMAGE_LAZY_ARCHIVE(int, archive_read_open_memory, (struct archive * p0, const void * p1, size_t p2), (p0, p1, p2))
MKIMAGE_LAZY_ARCHIVE(int, archive_read_support_filter_all, (struct archive * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(int, archive_read_support_format_empty, (struct archive * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(int, archive_read_support_format_gnutar, (struct archive * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(int, archive_read_support_format_raw, (struct archive * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(int, archive_read_support_format_tar, (struct archive * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(int, archive_write_close, (struct archive * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(la_ssize_t, archive_write_data, (struct archive * p0, const void * p1, size_t p2), (p0, p1, p2))
MKIMAGE_LAZY_ARCHIVE(la_ssize_t, archive_write_data_block, (struct archive * p0, const void * p1, size_t p2, la_int64_t p3), (p0, p1, p2, p3))
MKIMAGE_LAZY_ARCHIVE(struct archive *, archive_write_disk_new, (void), ())
MKIMAGE_LAZY_ARCHIVE(int, archive_write_disk_set_options, (struct archive * p0, int p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(int, archive_write_finish_entry, (struct archive * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(int, archive_write_free, (struct archive * p0), (p0))
MKIMAGE_LAZY_ARCHIVE(int, archive_write_header, (struct archive * p0, struct archive_entry * p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(struct archive *, archive_write_new, (void), ())
MKIMAGE_LAZY_ARCHIVE(int, archive_write_open, (struct archive * p0, void * p1, archive_open_callback * p2, archive_write_callback * p3, archive_close_callback * p4), (p0, p1, p2, p3, p4))
MKIMAGE_LAZY_ARCHIVE(int, archive_write_open_fd, (struct archive * p0, int p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(int, archive_write_set_bytes_in_last_block, (struct archive * p0, int p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(int, archive_write_set_bytes_per_block, (struct archive * p0, int p1), (p0, p1))
MKIMAGE_LAZY_ARCHIVE(int, archive_write_set_format_option, (struct archive * p0, const char * p1, const char * p2, const char * p3), (p0, p1, p2, p3))
MKIMAGE_LAZY_ARCHIVE(int, archive_write_set_format_pax_restricted, (struct archive * p0), (p0))
// clang-format on
