// Deadlines on the seam's monotonic clock, computed without signed overflow.
#ifndef VFIO_DETAIL_DEADLINE_HPP_INCLUDED
#define VFIO_DETAIL_DEADLINE_HPP_INCLUDED

#include <climits>
#include <cstdint>
#include <limits>

namespace vfio::detail {

/// now + timeout without signed overflow: a timeout that would pass INT64_MAX waits
/// "forever" (until INT64_MAX), a negative one is 0.
constexpr std::int64_t deadline_after(std::int64_t now, std::int64_t timeout_ns) noexcept {
  if (timeout_ns <= 0) return now;
  if (now > std::numeric_limits<std::int64_t>::max() - timeout_ns) return std::numeric_limits<std::int64_t>::max();
  return now + timeout_ns;
}

/// The poll(2) timeout for `left` nanoseconds: rounded up to whole milliseconds,
/// clamped to INT_MAX (poll then simply returns early and the caller polls again).
constexpr int poll_timeout_ms(std::int64_t left_ns) noexcept {
  if (left_ns <= 0) return 0;
  const std::int64_t ms = left_ns / 1000000 + (left_ns % 1000000 != 0 ? 1 : 0);
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

}  // namespace vfio::detail

#endif  // VFIO_DETAIL_DEADLINE_HPP_INCLUDED
