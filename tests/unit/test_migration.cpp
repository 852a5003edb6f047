// vfio::migration, DMA logging, type1 dirty pages and dirty_bitmap against the
// scripted mock: the exact bytes of each SET on every arc path, what a failed arc
// reports, and the data-stream loops (short transfers, EINTR, EAGAIN, EOF, ENOMSG).
#include <vfio/dirty_bitmap.hpp>
#include <vfio/dma_logging.hpp>
#include <vfio/iommu_dirty_pages.hpp>
#include <vfio/migration.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "../catch.hpp"

namespace vfio_unit_test_migration {

namespace {

namespace abi = vfio::abi;
using vfio::mig_state;
using vfio::migration;
using vfio::testing::scripted_syscalls;

constexpr int device_fd = 30;
constexpr std::uint32_t GET = abi::feature_flags::get;
constexpr std::uint32_t SET = abi::feature_flags::set;
constexpr std::uint64_t ALL =
    abi::migration_flags::stop_copy | abi::migration_flags::p2p | abi::migration_flags::pre_copy;
constexpr std::uint64_t STOP_COPY_ONLY = abi::migration_flags::stop_copy;

std::vector<std::uint8_t> frame(std::uint32_t argsz, std::uint32_t flags, const void* payload = nullptr,
                                std::size_t size = 0) {
  std::vector<std::uint8_t> b(8 + size);
  std::memcpy(b.data(), &argsz, 4);
  std::memcpy(b.data() + 4, &flags, 4);
  if (size) std::memcpy(b.data() + 8, payload, size);
  return b;
}

abi::feature_mig_state mig(mig_state s, std::int32_t fd) {
  abi::feature_mig_state m{};
  m.device_state = static_cast<std::uint32_t>(s);
  m.data_fd = fd;
  return m;
}

struct fixture {
  std::vector<std::string> mismatches;
  scripted_syscalls mock{[this](const std::string& m) { mismatches.push_back(m); }};
  vfio::device dev{vfio::unique_fd(device_fd, mock), "0000:00:07.0"};

  void expect_caps(std::uint64_t flags) {
    const abi::feature_migration zero{};
    const auto call = frame(16, GET | abi::feature_id::migration, &zero, sizeof zero);
    abi::feature_migration reply{};
    reply.flags = flags;
    mock.expect_ioctl(device_fd, abi::req::device_feature).with_bytes(call.data(), call.size()).fills(reply, 8);
  }
  void expect_get_state(mig_state s) {
    const abi::feature_mig_state zero{};
    const auto call = frame(16, GET | abi::feature_id::mig_device_state, &zero, sizeof zero);
    mock.expect_ioctl(device_fd, abi::req::device_feature).with_bytes(call.data(), call.size()).fills(mig(s, -1), 8);
  }
  void expect_get_state_fails(int e) { mock.expect_ioctl(device_fd, abi::req::device_feature).fails(e); }
  /// One SET of `s` (data_fd -1 in), the kernel answering data_fd `fd_out`.
  void expect_set(mig_state s, std::int32_t fd_out = -1, int fail = 0) {
    const auto in = mig(s, -1);
    const auto call = frame(16, SET | abi::feature_id::mig_device_state, &in, sizeof in);
    auto e = mock.expect_ioctl(device_fd, abi::req::device_feature).with_bytes(call.data(), call.size());
    if (fail) {
      e.fails(fail);
    } else {
      e.fills(mig(s, fd_out), 8);
    }
  }
  migration open(std::uint64_t flags, mig_state s) {
    expect_caps(flags);
    expect_get_state(s);
    auto m = migration::open(dev);
    REQUIRE(m);
    return std::move(*m);
  }
  bool done() {
    mock.expect_close(device_fd);
    (void)dev.close();
    const bool ok = mock.verify_done();
    for (const auto& m : mismatches) UNSCOPED_INFO(m);
    return ok && mismatches.empty();
  }
};

std::vector<mig_state> path(vfio::migration_caps caps, mig_state from, mig_state to) {
  const auto p = vfio::mig_path_between(caps, from, to);
  return std::vector<mig_state>(p.states, p.states + p.count);
}

}  // namespace

using S = mig_state;

// The combination paths the comment above vfio_mig_get_next_state lists for a
// device with every optional state.
TEST_CASE("migration FSM: the kernel's combination paths with P2P and PRE_COPY", "[migration]") {
  const vfio::migration_caps all{ALL};
  using V = std::vector<S>;
  CHECK(path(all, S::pre_copy, S::stop_copy) == V{S::pre_copy, S::pre_copy_p2p, S::stop_copy});
  CHECK(path(all, S::pre_copy, S::running_p2p) == V{S::pre_copy, S::running, S::running_p2p});
  CHECK(path(all, S::pre_copy, S::stop) == V{S::pre_copy, S::running, S::running_p2p, S::stop});
  CHECK(path(all, S::pre_copy, S::resuming) == V{S::pre_copy, S::running, S::running_p2p, S::stop, S::resuming});
  CHECK(path(all, S::pre_copy_p2p, S::running) == V{S::pre_copy_p2p, S::running_p2p, S::running});
  CHECK(path(all, S::pre_copy_p2p, S::stop) == V{S::pre_copy_p2p, S::running_p2p, S::stop});
  CHECK(path(all, S::pre_copy_p2p, S::resuming) == V{S::pre_copy_p2p, S::running_p2p, S::stop, S::resuming});
  CHECK(path(all, S::resuming, S::running_p2p) == V{S::resuming, S::stop, S::running_p2p});
  CHECK(path(all, S::resuming, S::pre_copy_p2p) == V{S::resuming, S::stop, S::running_p2p, S::pre_copy_p2p});
  CHECK(path(all, S::resuming, S::running) == V{S::resuming, S::stop, S::running_p2p, S::running});
  CHECK(path(all, S::resuming, S::pre_copy) == V{S::resuming, S::stop, S::running_p2p, S::running, S::pre_copy});
  CHECK(path(all, S::resuming, S::stop_copy) == V{S::resuming, S::stop, S::stop_copy});
  CHECK(path(all, S::running, S::pre_copy_p2p) == V{S::running, S::running_p2p, S::pre_copy_p2p});
  CHECK(path(all, S::running, S::stop) == V{S::running, S::running_p2p, S::stop});
  CHECK(path(all, S::running, S::resuming) == V{S::running, S::running_p2p, S::stop, S::resuming});
  CHECK(path(all, S::running, S::stop_copy) == V{S::running, S::running_p2p, S::stop, S::stop_copy});
  CHECK(path(all, S::running_p2p, S::pre_copy) == V{S::running_p2p, S::running, S::pre_copy});
  CHECK(path(all, S::running_p2p, S::resuming) == V{S::running_p2p, S::stop, S::resuming});
  CHECK(path(all, S::running_p2p, S::stop_copy) == V{S::running_p2p, S::stop, S::stop_copy});
  CHECK(path(all, S::stop, S::pre_copy_p2p) == V{S::stop, S::running_p2p, S::pre_copy_p2p});
  CHECK(path(all, S::stop, S::running) == V{S::stop, S::running_p2p, S::running});
  CHECK(path(all, S::stop, S::pre_copy) == V{S::stop, S::running_p2p, S::running, S::pre_copy});
  CHECK(path(all, S::stop_copy, S::resuming) == V{S::stop_copy, S::stop, S::resuming});
  CHECK(path(all, S::stop_copy, S::running_p2p) == V{S::stop_copy, S::stop, S::running_p2p});
  CHECK(path(all, S::stop_copy, S::running) == V{S::stop_copy, S::stop, S::running_p2p, S::running});
  // Blocked: STOP_COPY -> PRE_COPY*, anything from or to ERROR.
  CHECK(path(all, S::stop_copy, S::pre_copy).empty());
  CHECK(path(all, S::stop_copy, S::pre_copy_p2p).empty());
  CHECK(path(all, S::running, S::error).empty());
  CHECK(path(all, S::error, S::running).empty());
  CHECK(path(all, S::stop, S::stop) == V{S::stop});
}

TEST_CASE("migration FSM: optional states not offered are stepped over", "[migration]") {
  using V = std::vector<S>;
  const vfio::migration_caps base{STOP_COPY_ONLY};
  CHECK(path(base, S::running, S::stop_copy) == V{S::running, S::stop, S::stop_copy});
  CHECK(path(base, S::resuming, S::running) == V{S::resuming, S::stop, S::running});
  CHECK(path(base, S::running, S::running_p2p).empty());  // not offered
  CHECK(path(base, S::running, S::pre_copy).empty());
  const vfio::migration_caps pre{STOP_COPY_ONLY | abi::migration_flags::pre_copy};
  CHECK(path(pre, S::pre_copy, S::stop_copy) == V{S::pre_copy, S::stop_copy});
  CHECK(path(pre, S::pre_copy, S::stop) == V{S::pre_copy, S::running, S::stop});
  CHECK(path(pre, S::stop, S::pre_copy) == V{S::stop, S::running, S::pre_copy});
  const vfio::migration_caps p2p{STOP_COPY_ONLY | abi::migration_flags::p2p};
  CHECK(path(p2p, S::running, S::stop) == V{S::running, S::running_p2p, S::stop});
  CHECK(path(p2p, S::running, S::pre_copy_p2p).empty());
  CHECK_FALSE(vfio::migration_caps{0}.supports(S::running));
  CHECK(std::string(vfio::to_string(S::pre_copy_p2p)) == "PRE_COPY_P2P");
}

TEST_CASE("migration::open reads the capabilities and the state", "[migration]") {
  fixture f;
  auto m = f.open(ALL, S::running);
  CHECK(m.caps().p2p());
  CHECK(m.caps().pre_copy());
  CHECK(m.state() == S::running);
  CHECK(m.state_known());
  CHECK_FALSE(m.has_stream());
  CHECK(f.done());
}

TEST_CASE("migration::open: ENOTTY and a reply without STOP_COPY are 'unsupported'", "[migration]") {
  fixture f;
  f.mock.expect_ioctl(device_fd, abi::req::device_feature).fails(ENOTTY);
  auto none = migration::open(f.dev);
  REQUIRE_FALSE(none);
  CHECK(none.error() == vfio::errc::feature_unsupported);
  CHECK(none.error().about() == vfio::subject::feature(abi::feature_id::migration));
  f.expect_caps(abi::migration_flags::p2p);
  auto odd = migration::open(f.dev);
  REQUIRE_FALSE(odd);
  CHECK(odd.error() == vfio::errc::feature_unsupported);
  CHECK(f.done());
}

TEST_CASE("set_state: RUNNING -> STOP_COPY is three SETs; the last one's data_fd is owned", "[migration]") {
  fixture f;
  auto m = f.open(ALL, S::running);
  f.expect_set(S::running_p2p);
  f.expect_set(S::stop);
  f.expect_set(S::stop_copy, 77);
  vfio::mig_transition t;
  REQUIRE(m.set_state(S::stop_copy, &t));
  CHECK(t.arcs_done == 3);
  CHECK_FALSE(t.failed);
  CHECK(t.now == S::stop_copy);
  CHECK(m.stream_fd() == 77);
  // STOP_COPY -> STOP ends the session: the descriptor is closed.
  f.expect_set(S::stop);
  f.mock.expect_close(77);
  REQUIRE(m.set_state(S::stop));
  CHECK_FALSE(m.has_stream());
  CHECK(f.done());
}

TEST_CASE("set_state without P2P: RUNNING -> STOP -> STOP_COPY", "[migration]") {
  fixture f;
  auto m = f.open(STOP_COPY_ONLY, S::running);
  f.expect_set(S::stop);
  f.expect_set(S::stop_copy, 41);
  REQUIRE(m.set_state(S::stop_copy));
  CHECK(m.stream_fd() == 41);
  f.mock.expect_close(41);
  (void)m.close_stream();
  CHECK(f.done());
}

TEST_CASE("set_state_in_one_call: one SET, the kernel walks the arcs", "[migration]") {
  fixture f;
  auto m = f.open(ALL, S::running);
  f.expect_set(S::stop_copy, 55);
  vfio::mig_transition t;
  REQUIRE(m.set_state_in_one_call(S::stop_copy, &t));
  CHECK(t.arcs_done == 3);
  CHECK(m.stream_fd() == 55);
  f.expect_set(S::running, -1, EINVAL);
  f.expect_get_state(S::stop);
  f.mock.expect_close(55);
  REQUIRE_FALSE(m.set_state_in_one_call(S::running, &t));
  CHECK(t.failed);
  CHECK(t.failed_from == S::stop_copy);
  CHECK(t.failed_to == S::running);
  CHECK(t.now == S::stop);
  CHECK_FALSE(m.has_stream());  // a GET out of the saving states: the session is over
  CHECK(f.done());
}

TEST_CASE("set_state: a failed arc reports the arc and where the device is now", "[migration]") {
  fixture f;
  auto m = f.open(ALL, S::running);
  f.expect_set(S::running_p2p);
  f.expect_set(S::stop, -1, EIO);
  f.expect_get_state(S::running_p2p);
  vfio::mig_transition t;
  auto r = m.set_state(S::stop_copy, &t);
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::io_error);
  CHECK(std::string(r.error().operation()) == "VFIO_DEVICE_FEATURE");
  CHECK(r.error().about() == vfio::subject::feature(abi::feature_id::mig_device_state));
  CHECK(t.failed);
  CHECK(t.arcs_done == 1);
  CHECK(t.failed_from == S::running_p2p);
  CHECK(t.failed_to == S::stop);
  CHECK(t.now == S::running_p2p);
  CHECK(t.now_known);
  CHECK_FALSE(t.needs_reset());
  CHECK(m.state() == S::running_p2p);
  CHECK(f.done());
}

TEST_CASE("set_state: an arc that ends in ERROR; recover() resets", "[migration]") {
  fixture f;
  auto m = f.open(ALL, S::running);
  f.expect_set(S::pre_copy, 60);
  REQUIRE(m.set_state(S::pre_copy));
  f.expect_set(S::pre_copy_p2p, -1, ENOMEM);
  f.expect_get_state(S::error);
  f.mock.expect_close(60);  // ERROR: the session is gone
  vfio::mig_transition t;
  REQUIRE_FALSE(m.set_state(S::stop_copy, &t));
  CHECK(t.needs_reset());
  CHECK(m.state() == S::error);
  CHECK_FALSE(m.has_stream());
  // From ERROR nothing is reachable: no SET is made.
  auto again = m.set_state(S::running);
  REQUIRE_FALSE(again);
  CHECK(again.error() == vfio::errc::mig_state_unreachable);
  f.mock.expect_ioctl(device_fd, abi::req::device_reset).returns(0);
  f.expect_get_state(S::running);
  REQUIRE(m.recover());
  CHECK(m.state() == S::running);
  CHECK(f.done());
}

TEST_CASE("set_state: when the GET after a failure fails too, the state is unknown", "[migration]") {
  fixture f;
  auto m = f.open(ALL, S::running);
  f.expect_set(S::running_p2p, -1, EIO);
  f.expect_get_state_fails(EIO);
  vfio::mig_transition t;
  REQUIRE_FALSE(m.set_state(S::stop, &t));
  CHECK_FALSE(t.now_known);
  CHECK_FALSE(m.state_known());
  // The next call asks first.
  f.expect_get_state(S::running);
  f.expect_set(S::running_p2p);
  f.expect_set(S::stop);
  REQUIRE(m.set_state(S::stop));
  CHECK(f.done());
}

TEST_CASE("set_state: unreachable targets make no syscall", "[migration]") {
  fixture f;
  auto m = f.open(STOP_COPY_ONLY, S::running);
  auto pre = m.set_state(S::pre_copy);
  REQUIRE_FALSE(pre);
  CHECK(pre.error() == vfio::errc::mig_state_unreachable);
  CHECK(std::string(pre.error().operation()) == "migration state check");
  auto err = m.set_state(S::error);
  REQUIRE_FALSE(err);
  CHECK(err.error() == vfio::errc::mig_state_unreachable);
  REQUIRE(m.set_state(S::running));  // already there: nothing to do
  CHECK(f.done());
}

TEST_CASE("pre-copy: PRECOPY_INFO, short reads, 0 at the temporary end, then STOP_COPY on the same fd", "[migration]") {
  fixture f;
  auto m = f.open(ALL, S::running);
  f.expect_set(S::pre_copy, 80);
  REQUIRE(m.set_state(S::pre_copy));
  abi::precopy_info in{};
  in.argsz = 24;
  abi::precopy_info out = in;
  out.initial_bytes = 24;
  f.mock.expect_ioctl(80, abi::req::mig_get_precopy_info).with(in).fills(out);
  auto info = m.precopy_info();
  REQUIRE(info);
  CHECK(info->initial_bytes == 24);
  CHECK(info->dirty_bytes == 0);
  CHECK(info->total() == 24);

  const std::string header(24, 'h');
  f.mock.expect_read(80).of_length(64).fills_bytes(header.data(), 10);
  f.mock.expect_read(80).fails(EINTR);
  f.mock.expect_read(80).of_length(54).fills_bytes(header.data() + 10, 14);
  f.mock.expect_read(80).returns(0);
  std::byte buf[64];
  auto got = m.read(buf);
  REQUIRE(got);
  CHECK(got->bytes == 24);
  CHECK(got->end == vfio::stream_end::no_more_for_now);  // 0 in PRE_COPY (mtty) is not the end

  // PRE_COPY -> PRE_COPY_P2P -> STOP_COPY: data_fd -1 both times, the stream carries on.
  f.expect_set(S::pre_copy_p2p);
  f.expect_set(S::stop_copy);
  REQUIRE(m.set_state(S::stop_copy));
  CHECK(m.stream_fd() == 80);
  f.mock.expect_ioctl(80, abi::req::mig_get_precopy_info).fails(EINVAL);
  auto late = m.precopy_info();
  REQUIRE_FALSE(late);
  CHECK(late.error() == std::errc::invalid_argument);
  CHECK(late.error().about().to_string() == "(migration data fd 80)");
  const std::string ports(72, 'p');
  f.mock.expect_read(80).fills_bytes(ports.data(), ports.size());
  f.mock.expect_read(80).returns(0);
  got = m.read(buf);
  REQUIRE(got);
  CHECK(got->bytes == 64);
  CHECK(got->end == vfio::stream_end::none);  // the buffer is full
  got = m.read(buf);
  REQUIRE(got);
  CHECK(got->bytes == 0);
  CHECK(got->end == vfio::stream_end::end_of_stream);
  f.mock.expect_close(80);
  (void)m.close_stream();
  CHECK(f.done());
}

TEST_CASE("pre-copy: ENOMSG is 'no more for now'; EAGAIN polls", "[migration]") {
  fixture f;
  auto m = f.open(ALL, S::running);
  f.expect_set(S::pre_copy, 81);
  REQUIRE(m.set_state(S::pre_copy));
  f.mock.expect_read(81).fails(EAGAIN);
  f.mock.expect_poll(81).with_value(POLLIN).with_revents(POLLIN).returns(1);
  f.mock.expect_read(81).fills_text("abc");
  f.mock.expect_read(81).fails(ENOMSG);
  std::byte buf[8];
  auto got = m.read(buf);
  REQUIRE(got);
  CHECK(got->bytes == 3);
  CHECK(got->end == vfio::stream_end::no_more_for_now);
  // EAGAIN and nothing within the timeout.
  m.set_stream_timeout(5);
  f.mock.expect_read(81).fails(EAGAIN);
  f.mock.expect_poll(81).returns(0);
  got = m.read(buf);
  REQUIRE(got);
  CHECK(got->end == vfio::stream_end::timed_out);
  // ENODEV: the session is over (the kernel disabled the file).
  f.mock.expect_read(81).fails(ENODEV);
  auto gone = m.read(buf);
  REQUIRE_FALSE(gone);
  CHECK(gone.error() == std::errc::no_such_device);
  CHECK(std::string(gone.error().operation()) == "read");
  f.mock.expect_close(81);
  (void)m.close_stream();
  CHECK(f.done());
}

TEST_CASE("stream calls without a stream are EBADF without a syscall", "[migration]") {
  fixture f;
  auto m = f.open(ALL, S::running);
  std::byte buf[4];
  CHECK(m.read(buf).error() == std::errc::bad_file_descriptor);
  CHECK(m.write(vfio::span<const std::byte>(buf, 4)).error() == std::errc::bad_file_descriptor);
  CHECK(m.precopy_info().error() == std::errc::bad_file_descriptor);
  CHECK(f.done());
}

TEST_CASE("resuming: writes continue after short writes and EINTR; a bad header is EFAULT; recovery", "[migration]") {
  fixture f;
  auto m = f.open(ALL, S::running);
  f.expect_set(S::running_p2p);
  f.expect_set(S::stop);
  f.expect_set(S::resuming, 90);
  REQUIRE(m.set_state(S::resuming));
  std::vector<std::byte> stream(96, std::byte{0x5a});
  f.mock.expect_write(90).returns(50);
  f.mock.expect_write(90).fails(EINTR);
  f.mock.expect_write(90).fails(EAGAIN);
  f.mock.expect_poll(90).with_value(POLLOUT).with_revents(POLLOUT).returns(1);
  f.mock.expect_write(90).with_bytes(stream.data() + 50, 46).returns(46);
  REQUIRE(m.write(stream));
  f.mock.expect_write(90).returns(0);
  auto stuck = m.write(stream);
  REQUIRE_FALSE(stuck);
  CHECK(stuck.error() == vfio::errc::short_transfer);
  f.mock.expect_write(90).fails(EFAULT);
  auto bad = m.write(stream);
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == std::errc::bad_address);
  CHECK(bad.error().message() == "write (migration data fd 90): Bad address");
  // RESUMING -> STOP refuses the stream: the device stays in RESUMING, the fd too.
  f.expect_set(S::stop, -1, EINVAL);
  f.expect_get_state(S::resuming);
  vfio::mig_transition t;
  REQUIRE_FALSE(m.set_state(S::running, &t));
  CHECK(t.now == S::resuming);
  CHECK(m.has_stream());
  f.mock.expect_close(90);
  f.mock.expect_ioctl(device_fd, abi::req::device_reset).returns(0);
  f.expect_get_state(S::running);
  REQUIRE(m.recover());
  CHECK(m.state() == S::running);
  CHECK_FALSE(m.has_stream());
  CHECK(f.done());
}

TEST_CASE("stop_copy_size: MIG_DATA_SIZE", "[migration]") {
  fixture f;
  auto m = f.open(ALL, S::running);
  const abi::feature_mig_data_size zero{};
  const auto call = frame(16, GET | abi::feature_id::mig_data_size, &zero, sizeof zero);
  abi::feature_mig_data_size reply{};
  reply.stop_copy_length = 96;
  f.mock.expect_ioctl(device_fd, abi::req::device_feature).with_bytes(call.data(), call.size()).fills(reply, 8);
  auto size = m.stop_copy_size();
  REQUIRE(size);
  CHECK(*size == 96);
  f.mock.expect_ioctl(device_fd, abi::req::device_feature).fails(ENOTTY);
  CHECK(m.stop_copy_size().error() == vfio::errc::feature_unsupported);
  CHECK(f.done());
}

TEST_CASE("save_to and load_from move the stream through the caller's descriptors", "[migration]") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  fixture f;
  auto m = f.open(ALL, S::running);
  f.expect_set(S::running_p2p);
  f.expect_set(S::stop);
  f.expect_set(S::stop_copy, 70);
  REQUIRE(m.set_state(S::stop_copy));
  const std::string data = "0123456789abcdef";
  f.mock.expect_read(70).fills_bytes(data.data(), 10);
  f.mock.expect_read(70).fails(EINTR);
  f.mock.expect_read(70).fills_bytes(data.data() + 10, 6);
  f.mock.expect_read(70).returns(0);
  std::byte scratch[16];
  auto saved = m.save_to(p[1], scratch);  // one chunk of 16 (10, EINTR, 6), then the end
  REQUIRE(saved);
  CHECK(saved->bytes == 16);
  CHECK(saved->end == vfio::stream_end::end_of_stream);
  ::close(p[1]);
  f.expect_set(S::stop);
  f.mock.expect_close(70);
  REQUIRE(m.set_state(S::stop));
  f.expect_set(S::resuming, 71);
  REQUIRE(m.set_state(S::resuming));
  f.mock.expect_write(71).with_bytes(data.data(), 16).returns(16);
  auto loaded = m.load_from(p[0]);
  REQUIRE(loaded);
  CHECK(*loaded == 16);
  ::close(p[0]);
  f.mock.expect_close(71);
  (void)m.close_stream();
  CHECK(f.done());
}

TEST_CASE("dirty_bitmap: sizing in whole u64 words, bits, runs, merge", "[migration][dirty]") {
  auto one = vfio::dirty_bitmap::create(0x10000, 4096, 4096);
  REQUIRE(one);
  CHECK(one->pages() == 1);
  CHECK(one->words() == 1);
  CHECK(one->size_bytes() == 8);
  auto b = vfio::dirty_bitmap::create(0x100000, 65 * 4096 + 100, 4096);  // 66 pages: 2 words
  REQUIRE(b);
  CHECK(b->pages() == 66);
  CHECK(b->words() == 2);
  b->set(0);
  b->set(1);
  b->set(64);
  b->set(65);
  b->set(66);  // beyond the range: ignored
  CHECK(b->count() == 4);
  CHECK(b->is_dirty(0x100000 + 4096 + 5));
  CHECK_FALSE(b->is_dirty(0x100000 + 2 * 4096));
  CHECK_FALSE(b->is_dirty(0xfffff));
  std::vector<std::pair<std::uint64_t, std::uint64_t>> runs;
  b->for_each_dirty_range([&](std::uint64_t a, std::uint64_t s) { runs.emplace_back(a, s); });
  REQUIRE(runs.size() == 2);
  CHECK(runs[0] == std::make_pair(std::uint64_t{0x100000}, std::uint64_t{2 * 4096}));
  CHECK(runs[1] == std::make_pair(std::uint64_t{0x100000 + 64 * 4096}, std::uint64_t{4096 + 100}));  // clipped

  // A coarser bitmap marks every page it covers; a finer one the page holding it.
  auto coarse = vfio::dirty_bitmap::create(0x100000, 2 * 65536, 65536);
  REQUIRE(coarse);
  coarse->set(1);  // [0x110000, 0x120000): pages 16..31 here
  auto fine = vfio::dirty_bitmap::create(0x100000, 66 * 4096, 4096);
  REQUIRE(fine);
  fine->merge(*coarse);
  CHECK(fine->count() == 16);
  CHECK(fine->test(16));
  CHECK(fine->test(31));
  CHECK_FALSE(fine->test(32));
  coarse->clear();
  coarse->merge(*b);  // pages 0, 1 of 4 KiB: the first 64 KiB page (64, 65 lie beyond its range)
  CHECK(coarse->count() == 1);
  CHECK(coarse->test(0));
  fine->merge(*b);  // same layout: word by word
  CHECK(fine->count() == 20);
  fine->clear();
  CHECK_FALSE(fine->any());

  CHECK(vfio::dirty_bitmap::create(0, 4096, 3000).error() == vfio::errc::invalid_argument);
  CHECK(vfio::dirty_bitmap::create(0, 0, 4096).error() == vfio::errc::invalid_argument);
  CHECK(vfio::dirty_bitmap::create(~std::uint64_t{0} - 4095, 8192, 4096).error() == vfio::errc::invalid_argument);
}

TEST_CASE("DMA logging: START passes the ranges and reads back the page size; REPORT zeroes the bitmap",
          "[migration][dirty]") {
  fixture f;
  const abi::feature_dma_logging_range ranges[2] = {{0x0, 0x100000}, {0x200000, 0x10000}};
  abi::feature_dma_logging_control control{};
  control.page_size = 4096;
  control.num_ranges = 2;
  control.ranges = reinterpret_cast<std::uintptr_t>(ranges);
  const auto call = frame(32, SET | abi::feature_id::dma_logging_start, &control, sizeof control);
  abi::feature_dma_logging_control reply = control;
  reply.page_size = 8192;
  f.mock.expect_ioctl(device_fd, abi::req::device_feature).with_bytes(call.data(), call.size()).fills(reply, 8);
  auto page = vfio::dma_logging::start(f.dev, ranges, 4096);
  REQUIRE(page);
  CHECK(*page == 8192);

  auto bitmap = vfio::dirty_bitmap::create(0, 0x100000, 8192);
  REQUIRE(bitmap);
  bitmap->set(3);
  abi::feature_dma_logging_report rep{0, 0x100000, 8192, reinterpret_cast<std::uintptr_t>(bitmap->data())};
  const auto rcall = frame(40, GET | abi::feature_id::dma_logging_report, &rep, sizeof rep);
  f.mock.expect_ioctl(device_fd, abi::req::device_feature).with_bytes(rcall.data(), rcall.size());
  REQUIRE(vfio::dma_logging::report(f.dev, *bitmap));
  CHECK_FALSE(bitmap->any());

  const auto scall = frame(8, SET | abi::feature_id::dma_logging_stop);
  f.mock.expect_ioctl(device_fd, abi::req::device_feature).with_bytes(scall.data(), scall.size());
  REQUIRE(vfio::dma_logging::stop(f.dev));
  f.mock.expect_ioctl(device_fd, abi::req::device_feature).fails(ENOTTY);
  CHECK(vfio::dma_logging::stop(f.dev).error() == vfio::errc::feature_unsupported);
  CHECK(vfio::dma_logging::start(f.dev, {}, 4096).error() == vfio::errc::invalid_argument);
  vfio::dirty_bitmap empty;
  CHECK(vfio::dma_logging::report(f.dev, empty).error() == vfio::errc::invalid_argument);
  CHECK(f.done());
}

TEST_CASE("type1 dirty pages: START, STOP, GET_BITMAP and UNMAP_DMA with the bitmap", "[migration][dirty]") {
  std::vector<std::string> mismatches;
  scripted_syscalls mock{[&](const std::string& m) { mismatches.push_back(m); }};
  constexpr int container_fd = 20;
  mock.expect_open("/dev/vfio/vfio").returns(container_fd);
  mock.expect_ioctl(container_fd, abi::req::get_api_version).returns(0);
  auto c = vfio::container::open("/dev/vfio/vfio", mock);
  REQUIRE(c);
  abi::iommu_type1_dirty_bitmap start{8, abi::dirty_pages_flags::start};
  mock.expect_ioctl(container_fd, abi::req::iommu_dirty_pages).with(start);
  REQUIRE(vfio::iommu_dirty::start(*c));

  auto bitmap = vfio::dirty_bitmap::create(0x100000, 0x40000, 4096);
  REQUIRE(bitmap);
  struct {
    abi::iommu_type1_dirty_bitmap h;
    abi::iommu_type1_dirty_bitmap_get g;
  } get{};
  get.h = {48, abi::dirty_pages_flags::get_bitmap};
  get.g.iova = 0x100000;
  get.g.size = 0x40000;
  get.g.bitmap = {4096, 8, reinterpret_cast<std::uintptr_t>(bitmap->data())};
  mock.expect_ioctl(container_fd, abi::req::iommu_dirty_pages).with(get);
  REQUIRE(vfio::iommu_dirty::report(*c, *bitmap));
  mock.expect_ioctl(container_fd, abi::req::iommu_dirty_pages).fails(EACCES);
  CHECK(vfio::iommu_dirty::report(*c, *bitmap).error() == std::errc::permission_denied);

  struct {
    abi::iommu_type1_dma_unmap u;
    abi::bitmap b;
  } unmap{};
  unmap.u = {48, abi::dma_unmap_flags::get_dirty_bitmap, 0x100000, 0x40000};
  unmap.b = {4096, 8, reinterpret_cast<std::uintptr_t>(bitmap->data())};
  auto reply = unmap.u;
  reply.size = 0x20000;
  mock.expect_ioctl(container_fd, abi::req::iommu_unmap_dma).with(unmap).fills(reply);
  auto unmapped = vfio::iommu_dirty::unmap_and_report(*c, *bitmap);
  REQUIRE(unmapped);
  CHECK(*unmapped == 0x20000);

  abi::iommu_type1_dirty_bitmap stop{8, abi::dirty_pages_flags::stop};
  mock.expect_ioctl(container_fd, abi::req::iommu_dirty_pages).with(stop);
  REQUIRE(vfio::iommu_dirty::stop(*c));
  mock.expect_close(container_fd);
  *c = vfio::container();
  CHECK(mock.verify_done());
  CHECK(mismatches.empty());
}

TEST_CASE("dirty_bitmap: bits past the range's last page are not pages", "[migration][dirty]") {
  // type1 copies whole words of a mapping's own bitmap, stale shifted bits included.
  auto b = vfio::dirty_bitmap::create(0x100000, 4 * 4096, 4096);
  REQUIRE(b);
  b->data()[0] = 0x50;  // pages 4 and 6 of a 4-page range
  CHECK(b->count() == 0);
  CHECK_FALSE(b->any());
  std::size_t seen = 0;
  b->for_each_dirty_page([&](std::uint64_t) { ++seen; });
  CHECK(seen == 0);
  b->data()[0] = 0x5b;
  CHECK(b->count() == 3);
  CHECK(b->any());
  auto full = vfio::dirty_bitmap::create(0, 64 * 4096, 4096);
  REQUIRE(full);
  full->data()[0] = ~std::uint64_t{0};
  CHECK(full->count() == 64);
}

}  // namespace vfio_unit_test_migration
