// The hybrid logical clock and operation ids.
#include "relais/store/hlc.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fake_clock.h"
#include "relais/schema/validate.h"
#include "relais/store/ids.h"

namespace relais::store {
namespace {

using testing::FakeWallClock;
using testing::kFixedWallMs;

class HybridClockTest : public ::testing::Test {
 protected:
  FakeWallClock wall_;
  HybridClock clock_{0, wall_.fn()};
};

TEST_F(HybridClockTest, NowStartsAtTheWallClock) {
  EXPECT_EQ(clock_.now(), HybridClock::pack(kFixedWallMs, 0));
}

TEST_F(HybridClockTest, NowIsStrictlyIncreasingWhileTheWallClockStands) {
  std::uint64_t previous = clock_.now();
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t next = clock_.now();
    ASSERT_GT(next, previous);
    previous = next;
  }
  EXPECT_EQ(HybridClock::wall_ms(previous), kFixedWallMs);
}

TEST_F(HybridClockTest, NowFollowsTheWallClockForward) {
  (void)clock_.now();
  wall_.advance(250);
  EXPECT_EQ(clock_.now(), HybridClock::pack(kFixedWallMs + 250, 0));
}

TEST_F(HybridClockTest, WallClockGoingBackwardsDoesNotMoveTimeBack) {
  wall_.advance(60'000);
  const std::uint64_t before = clock_.now();
  wall_.set(kFixedWallMs - 3'600'000);  // the device's clock is set back an hour

  const std::uint64_t after = clock_.now();

  EXPECT_GT(after, before);
  EXPECT_EQ(HybridClock::wall_ms(after), kFixedWallMs + 60'000);
}

TEST_F(HybridClockTest, ObservingARemoteTimestampMakesNowLater) {
  const std::uint64_t remote = HybridClock::pack(kFixedWallMs + 90'000, 7);  // a clock ahead

  clock_.observe(remote);

  EXPECT_GT(clock_.now(), remote);
  EXPECT_GT(clock_.now(), remote);
}

TEST_F(HybridClockTest, ObservingAnOlderTimestampChangesNothing) {
  const std::uint64_t mine = clock_.now();
  clock_.observe(HybridClock::pack(kFixedWallMs - 1000, 3));
  EXPECT_EQ(clock_.last(), mine);
  EXPECT_EQ(clock_.now(), mine + 1);
}

TEST(HybridClock, FullLogicalCounterCarriesIntoTheMilliseconds) {
  FakeWallClock wall;
  HybridClock clock(HybridClock::pack(kFixedWallMs, 0xFFFF), wall.fn());

  const std::uint64_t next = clock.now();

  EXPECT_EQ(next, HybridClock::pack(kFixedWallMs + 1, 0));
  EXPECT_GT(next, HybridClock::pack(kFixedWallMs, 0xFFFF));
}

TEST(HybridClock, HexRoundTripsAndSortsLikeTheNumbers) {
  const std::uint64_t values[] = {0,
                                  1,
                                  0xFFFF,
                                  HybridClock::pack(kFixedWallMs, 3),
                                  HybridClock::pack(kFixedWallMs + 1, 0),
                                  UINT64_MAX};
  std::string previous;
  for (std::uint64_t v : values) {
    const std::string hex = HybridClock::to_hex(v);
    EXPECT_EQ(hex.size(), 16u);
    EXPECT_EQ(HybridClock::from_hex(hex), v);
    EXPECT_LT(previous, hex);
    previous = hex;
  }
  EXPECT_EQ(HybridClock::to_hex(0xab), "00000000000000ab");
}

TEST(HybridClock, FromHexRefusesAnythingButSixteenLowerCaseHexDigits) {
  for (const char* bad :
       {"", "0", "000000000000000", "00000000000000000", "00000000000000AB", "000000000000000g",
        " 00000000000001", "-000000000000001", "0x00000000000001", "00000000 0000001"})
    EXPECT_EQ(HybridClock::from_hex(bad), std::nullopt) << "'" << bad << "'";
}

TEST(HybridClock, DisplayShowsUtcTimeAndLogicalCounter) {
  EXPECT_EQ(HybridClock::to_display(HybridClock::pack(kFixedWallMs + 123, 3)),
            "2026-01-01T00:00:00.123Z+3");
}

constexpr const char* kReplica = "0190a7f2-1c3d-7e4f-8a9b-0c1d2e3f4a5b";

TEST(OpId, StrParsesBackToTheSameId) {
  const OpId id{kReplica, 42};

  EXPECT_EQ(id.str(), std::string(kReplica) + ":42");
  EXPECT_EQ(OpId::parse(id.str()), id);
}

TEST(OpId, ParseRefusesMalformedText) {
  const std::string r = kReplica;
  const std::vector<std::string> bad_texts = {"",
                                              r,
                                              r + ":",
                                              ":5",
                                              r + ":0",
                                              r + ":-1",
                                              r + ":+1",
                                              r + ":12a",
                                              r + ": 1",
                                              r + ":1.5",
                                              r + ":18446744073709551616"};
  for (const std::string& bad : bad_texts)
    EXPECT_EQ(OpId::parse(bad), std::nullopt) << "'" << bad << "'";
}

TEST(OpId, OrdersByReplicaThenCounter) {
  EXPECT_LT((OpId{"a", 9}), (OpId{"b", 1}));
  EXPECT_LT((OpId{"a", 2}), (OpId{"a", 10}));
}

TEST(NewUuid, MakesCanonicalVersion7Ids) {
  const std::string id = new_uuid();
  EXPECT_TRUE(schema::is_uuid(id)) << id;
  EXPECT_EQ(id[14], '7') << id;
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
}

TEST(NewUuid, IdsMadeLaterSortLaterEvenWithinOneMillisecond) {
  std::string previous = new_uuid();
  for (int i = 0; i < 10000; ++i) {  // many per millisecond
    const std::string id = new_uuid();
    ASSERT_LT(previous, id) << "id " << i;
    previous = id;
  }
}

}  // namespace
}  // namespace relais::store
