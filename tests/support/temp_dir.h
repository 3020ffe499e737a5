// A fresh directory under $TMPDIR for one test, removed with everything in it
// when the object goes away.
#pragma once

#include <string>

namespace credbroker::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name.
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to path()/name and returns the full path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// The whole content of a file ("" when it does not exist).
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace credbroker::testing
