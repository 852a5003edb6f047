// The virtual clock of a simulated kernel: monotonic time that moves only
// when a caller sleeps, polls with a timeout, or a simulated operation takes
// time, and the timers (pending runtime suspends) that fire as it moves.
#ifndef VFIO_TESTING_SIM_VIRTUAL_CLOCK_HPP_INCLUDED
#define VFIO_TESTING_SIM_VIRTUAL_CLOCK_HPP_INCLUDED

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace vfio::testing::sim {

/// Something that has work due at a point in virtual time.
class clock_timer {
 public:
  /// The virtual time of the next due work, if any.
  virtual std::optional<std::int64_t> due_ns() const = 0;
  /// Runs the work due at due_ns(); the clock reads that time meanwhile.
  virtual void fire() = 0;
  virtual ~clock_timer() = default;
};

/// Monotonic virtual nanoseconds. Not thread-safe by itself: the simulated
/// kernel calls it under its own lock.
class virtual_clock {
 public:
  explicit virtual_clock(std::int64_t start_ns = 0) noexcept : now_(start_ns) {}

  std::int64_t now() const noexcept { return now_; }

  void add_timer(clock_timer* t) { timers_.push_back(t); }
  void remove_timer(clock_timer* t) { timers_.erase(std::remove(timers_.begin(), timers_.end(), t), timers_.end()); }

  /// Moves time forward to `t` (never backwards), firing every timer that
  /// comes due on the way, earliest first, each at its own time.
  void advance_to(std::int64_t t) {
    for (;;) {
      clock_timer* next = nullptr;
      std::int64_t when = 0;
      for (clock_timer* c : timers_) {
        const auto d = c->due_ns();
        if (d && *d <= t && (!next || *d < when)) {
          next = c;
          when = *d;
        }
      }
      if (!next) break;
      now_ = std::max(now_, when);
      next->fire();
    }
    now_ = std::max(now_, t);
  }
  void advance(std::int64_t ns) { advance_to(now_ + std::max<std::int64_t>(ns, 0)); }

  /// The earliest pending timer, if any.
  std::optional<std::int64_t> next_due() const {
    std::optional<std::int64_t> best;
    for (const clock_timer* c : timers_) {
      const auto d = c->due_ns();
      if (d && (!best || *d < *best)) best = d;
    }
    return best;
  }

  /// Fires every pending timer (advancing time to each), until none is left.
  /// Bounded: a timer that keeps rescheduling itself stops after `limit` rounds.
  void settle(unsigned limit = 1000) {
    while (limit--) {
      const auto d = next_due();
      if (!d) return;
      advance_to(*d);
    }
  }

 private:
  std::int64_t now_;
  std::vector<clock_timer*> timers_;
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_VIRTUAL_CLOCK_HPP_INCLUDED
