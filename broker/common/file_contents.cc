// One read through the stream buffer; no line handling, so binary keys survive.
#include "broker/common/file_contents.h"

#include <fstream>
#include <sstream>

namespace credbroker {

std::optional<std::string> ReadFileContents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return content.str();
}

}  // namespace credbroker
