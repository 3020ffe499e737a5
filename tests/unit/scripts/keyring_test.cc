// Keyring: one file per script, as a mounted Kubernetes Secret lays them out
// (timestamped directory, `..data` symlink, per-key symlinks). Reload answers
// exactly the scripts whose key was added, changed or removed.
#include "broker/scripts/keyring.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace credbroker {
namespace {

namespace fs = std::filesystem;
using Names = std::set<std::string>;

class KeyringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/keyring_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(dir_, ignored);
  }

  static void WriteFile(const fs::path& path, const std::string& content) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  }

  // The Kubernetes atomic writer: the keys go into a new timestamped
  // directory; a new `..data_tmp` symlink to it is renamed over `..data`;
  // per-key symlinks point into `..data`, and those of removed keys go.
  void PublishSecret(const std::map<std::string, std::string>& keys) {
    const std::string stamp = "..2026_01_01_00_00_00." + std::to_string(++generation_);
    fs::create_directory(dir_ / stamp);
    for (const auto& [name, key] : keys) WriteFile(dir_ / stamp / name, key);
    fs::create_symlink(stamp, dir_ / "..data_tmp");
    fs::rename(dir_ / "..data_tmp", dir_ / "..data");
    for (const auto& [name, key] : keys) {
      if (!fs::is_symlink(dir_ / name)) fs::create_symlink(fs::path("..data") / name, dir_ / name);
    }
    for (const std::string& name : published_) {
      if (keys.count(name) == 0) fs::remove(dir_ / name);
    }
    if (!previous_stamp_.empty()) fs::remove_all(dir_ / previous_stamp_);
    previous_stamp_ = stamp;
    published_.clear();
    for (const auto& [name, key] : keys) published_.insert(name);
  }

  fs::path dir_;
  int generation_ = 0;
  std::string previous_stamp_;
  Names published_;
};

TEST_F(KeyringTest, PlainFiles) {
  WriteFile(dir_ / "ingest-bot", "key-one");
  WriteFile(dir_ / "render", "key-two");
  Keyring keyring(dir_.string());
  EXPECT_EQ(keyring.size(), 0u);
  EXPECT_FALSE(keyring.KeyFor("ingest-bot").has_value());
  absl::StatusOr<Names> changed = keyring.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, (Names{"ingest-bot", "render"}));
  EXPECT_EQ(keyring.size(), 2u);
  EXPECT_EQ(keyring.KeyFor("ingest-bot"), "key-one");
  EXPECT_EQ(keyring.KeyFor("render"), "key-two");
  EXPECT_FALSE(keyring.KeyFor("other").has_value());
  EXPECT_FALSE(keyring.KeyFor("").has_value());

  // Nothing changed: nothing reported.
  changed = keyring.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(changed->empty());
}

TEST_F(KeyringTest, PlainFilesAddedChangedRemoved) {
  WriteFile(dir_ / "a", "1");
  WriteFile(dir_ / "b", "2");
  WriteFile(dir_ / "c", "3");
  Keyring keyring(dir_.string());
  ASSERT_TRUE(keyring.Reload().ok());
  WriteFile(dir_ / "b", "2-new");
  fs::remove(dir_ / "c");
  WriteFile(dir_ / "d", "4");
  absl::StatusOr<Names> changed = keyring.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, (Names{"b", "c", "d"}));
  EXPECT_EQ(keyring.KeyFor("a"), "1");
  EXPECT_EQ(keyring.KeyFor("b"), "2-new");
  EXPECT_FALSE(keyring.KeyFor("c").has_value());
  EXPECT_EQ(keyring.KeyFor("d"), "4");
}

TEST_F(KeyringTest, KubernetesSecretLayoutAndAtomicSwap) {
  PublishSecret({{"ingest-bot", "key-1"}, {"render", "key-2"}, {"publish", "key-3"}});
  Keyring keyring(dir_.string());
  absl::StatusOr<Names> changed = keyring.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status();
  // Only the per-key symlinks count: not `..data` nor the timestamped directory.
  EXPECT_EQ(*changed, (Names{"ingest-bot", "publish", "render"}));
  EXPECT_EQ(keyring.size(), 3u);
  EXPECT_EQ(keyring.KeyFor("render"), "key-2");
  EXPECT_FALSE(keyring.KeyFor("..data").has_value());

  // The Secret is updated: render's key rotates, publish goes, review comes.
  PublishSecret({{"ingest-bot", "key-1"}, {"render", "key-2b"}, {"review", "key-4"}});
  changed = keyring.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, (Names{"publish", "render", "review"}));
  EXPECT_EQ(keyring.size(), 3u);
  EXPECT_EQ(keyring.KeyFor("ingest-bot"), "key-1");
  EXPECT_EQ(keyring.KeyFor("render"), "key-2b");
  EXPECT_EQ(keyring.KeyFor("review"), "key-4");
  EXPECT_FALSE(keyring.KeyFor("publish").has_value());

  changed = keyring.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(changed->empty());
}

TEST_F(KeyringTest, SwapSeenBeforePerKeySymlinksAreTidied) {
  // Between the `..data` rename and the removal of a gone key's symlink, the
  // old symlink dangles: it must read as removed, not as an error.
  PublishSecret({{"a", "1"}, {"b", "2"}});
  Keyring keyring(dir_.string());
  ASSERT_TRUE(keyring.Reload().ok());
  fs::create_directory(dir_ / "..2026_02_02");
  WriteFile(dir_ / "..2026_02_02" / "a", "1");
  fs::create_symlink("..2026_02_02", dir_ / "..data_tmp");
  fs::rename(dir_ / "..data_tmp", dir_ / "..data");
  absl::StatusOr<Names> changed = keyring.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, (Names{"b"}));
  EXPECT_FALSE(keyring.KeyFor("b").has_value());
  EXPECT_EQ(keyring.KeyFor("a"), "1");
}

TEST_F(KeyringTest, HiddenEntriesAndDirectoriesSkipped) {
  WriteFile(dir_ / ".hidden", "secret");
  WriteFile(dir_ / "..data", "not-a-key");
  fs::create_directory(dir_ / "subdir");
  WriteFile(dir_ / "subdir" / "nested", "nested-key");
  WriteFile(dir_ / "visible", "key");
  Keyring keyring(dir_.string());
  absl::StatusOr<Names> changed = keyring.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, (Names{"visible"}));
  EXPECT_EQ(keyring.size(), 1u);
  EXPECT_FALSE(keyring.KeyFor(".hidden").has_value());
  EXPECT_FALSE(keyring.KeyFor("subdir").has_value());
  EXPECT_FALSE(keyring.KeyFor("nested").has_value());
}

TEST_F(KeyringTest, SymlinkToAFileElsewhereIsFollowed) {
  char other[] = "/tmp/keyring_target.XXXXXX";
  ASSERT_NE(mkdtemp(other), nullptr);
  WriteFile(fs::path(other) / "real", "linked-key\n");
  fs::create_symlink(fs::path(other) / "real", dir_ / "linked");
  fs::create_symlink(fs::path(other) / "absent", dir_ / "dangling");
  Keyring keyring(dir_.string());
  absl::StatusOr<Names> changed = keyring.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, (Names{"linked"}));
  EXPECT_EQ(keyring.KeyFor("linked"), "linked-key");
  fs::remove_all(other);
}

TEST_F(KeyringTest, TrailingNewlinesStripped) {
  WriteFile(dir_ / "echoed", "key-1\n");
  WriteFile(dir_ / "windows", "key-2\r\n");
  WriteFile(dir_ / "several", "key-3\n\n");
  WriteFile(dir_ / "literal", "key-4");
  WriteFile(dir_ / "inner", "line1\nline2\n");
  WriteFile(dir_ / "spaces", " key-5 ");
  Keyring keyring(dir_.string());
  ASSERT_TRUE(keyring.Reload().ok());
  EXPECT_EQ(keyring.KeyFor("echoed"), "key-1");
  EXPECT_EQ(keyring.KeyFor("windows"), "key-2");
  EXPECT_EQ(keyring.KeyFor("several"), "key-3");
  EXPECT_EQ(keyring.KeyFor("literal"), "key-4");
  EXPECT_EQ(keyring.KeyFor("inner"), "line1\nline2");
  EXPECT_EQ(keyring.KeyFor("spaces"), " key-5 ");

  // Adding a newline to a key file changes nothing.
  WriteFile(dir_ / "literal", "key-4\n");
  absl::StatusOr<Names> changed = keyring.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(changed->empty()) << *changed->begin();
}

TEST_F(KeyringTest, EmptyAndOversizedFilesSkipped) {
  WriteFile(dir_ / "empty", "");
  WriteFile(dir_ / "newline-only", "\n");
  WriteFile(dir_ / "huge", std::string(4097, 'k'));
  WriteFile(dir_ / "largest", std::string(4096, 'k'));
  WriteFile(dir_ / "good", "key");
  Keyring keyring(dir_.string());
  absl::StatusOr<Names> changed = keyring.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, (Names{"good", "largest"}));
  EXPECT_FALSE(keyring.KeyFor("empty").has_value());
  EXPECT_FALSE(keyring.KeyFor("newline-only").has_value());
  EXPECT_FALSE(keyring.KeyFor("huge").has_value());

  // A key emptied out counts as removed.
  WriteFile(dir_ / "good", "");
  changed = keyring.Reload();
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, (Names{"good"}));
  EXPECT_FALSE(keyring.KeyFor("good").has_value());
}

TEST_F(KeyringTest, UnreadableDirectoryErrorsAndKeepsOldKeys) {
  WriteFile(dir_ / "a", "1");
  Keyring keyring(dir_.string());
  ASSERT_TRUE(keyring.Reload().ok());

  // The directory disappears (chmod would not stop root, who runs these in CI).
  fs::remove_all(dir_);
  absl::StatusOr<Names> changed = keyring.Reload();
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(changed.status().message().find(dir_.string()), absl::string_view::npos)
      << changed.status();
  EXPECT_EQ(keyring.KeyFor("a"), "1");
  EXPECT_EQ(keyring.size(), 1u);

  // A file where the directory should be.
  WriteFile(dir_, "not a directory");
  changed = keyring.Reload();
  EXPECT_FALSE(changed.ok());
  EXPECT_EQ(keyring.KeyFor("a"), "1");
  fs::remove(dir_);
  fs::create_directory(dir_);

  if (geteuid() != 0) {
    ASSERT_EQ(chmod(dir_.c_str(), 0), 0);
    changed = keyring.Reload();
    EXPECT_FALSE(changed.ok());
    EXPECT_EQ(keyring.KeyFor("a"), "1");
  }
}

TEST_F(KeyringTest, NeverLoadedDirectoryErrors) {
  Keyring keyring((dir_ / "absent").string());
  EXPECT_FALSE(keyring.Reload().ok());
  EXPECT_EQ(keyring.size(), 0u);
}

}  // namespace
}  // namespace credbroker
