// A per-test temporary directory, removed at the end of the test; kept (path
// printed) when a REQUIRE failed (an exception is unwinding) or when
// MKIMAGE_KEEP_TEST_DIRS is set.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <exception>
#include <string>

namespace mkimage::test {

class TempDir {
public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mkimage-store-test.XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    m_path = tmpl;
  }
  ~TempDir() {
    if (std::uncaught_exceptions() > 0 || std::getenv("MKIMAGE_KEEP_TEST_DIRS")) {
      std::cerr << "kept test directory " << m_path << "\n";
    } else {
      std::error_code ec;
      std::filesystem::remove_all(m_path, ec);
    }
  }
  const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

}  // namespace mkimage::test
