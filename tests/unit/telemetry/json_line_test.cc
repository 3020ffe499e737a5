// The hand-built JSON line reads back as the same values through a real JSON
// parser, whatever bytes a caller put in a field.
#include "broker/telemetry/json_line.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace credbroker {
namespace {

nlohmann::json Parse(std::string line) {
  EXPECT_EQ(line.back(), '\n');
  line.pop_back();
  return nlohmann::json::parse(line);
}

TEST(JsonLineTest, FieldsReadBackInOrderWithTheirTypes) {
  JsonLine line;
  line.Add("event", "audit");
  line.Add("attempts", std::int64_t{-3});
  line.Add("tls", true);
  const std::string text = std::move(line).Finish();
  EXPECT_EQ(text, "{\"event\":\"audit\",\"attempts\":-3,\"tls\":true}\n");
}

TEST(JsonLineTest, QuotesControlCharactersAndBackslashesAreEscaped) {
  const std::string nasty = std::string("a\"b\\c\nd\re\tf\x01g\x1f", 14) + std::string(1, '\0');
  JsonLine line;
  line.Add("username", nasty);
  const nlohmann::json parsed = Parse(std::move(line).Finish());
  EXPECT_EQ(parsed["username"].get<std::string>(), nasty);
}

TEST(JsonLineTest, ValidUtf8IsKeptAndInvalidBytesBecomeReplacementCharacters) {
  JsonLine line;
  line.Add("ok", "Zoë 日本 🎬");
  line.Add("bad", std::string("a\xC3(b\xED\xA0\x80"
                              "c\xF5\x80"
                              "d\xE2\x82",
                              13));
  line.Add("overlong", std::string("\xC0\xAF", 2));
  const nlohmann::json parsed = Parse(std::move(line).Finish());
  EXPECT_EQ(parsed["ok"].get<std::string>(), "Zoë 日本 🎬");
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(parsed["bad"].get<std::string>(),
            "a" + r + "(b" + r + r + r + "c" + r + r + "d" + r + r);
  EXPECT_EQ(parsed["overlong"].get<std::string>(), r + r);
}

TEST(JsonLineTest, EmptyLineIsAnEmptyObject) { EXPECT_EQ(JsonLine().Finish(), "{}\n"); }

}  // namespace
}  // namespace credbroker
