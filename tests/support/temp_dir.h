// A private temporary directory for one test, removed with everything in it
// when the object goes away.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace relais::testing {

class TempDir {
 public:
  // Makes a fresh directory under the system temporary directory; throws if
  // it cannot (the test then fails with the reason).
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "relais-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The path of `name` inside the directory (not created).
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Whether `needle` occurs in the bytes of the SQLite file at `db_path`, its
// WAL or its journal: what someone who copies the files could read.
inline bool file_holds(const std::string& db_path, std::string_view needle) {
  for (const std::string& p : {db_path, db_path + "-wal", db_path + "-journal"}) {
    std::ifstream in(p, std::ios::binary);
    if (!in) continue;
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace relais::testing
