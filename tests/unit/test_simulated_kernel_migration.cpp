// Live migration on the simulated kernel: the mtty-like device's FSM and data
// stream (samples/vfio-mdev/mtty.c behaviour as seen on 6.12), the whole flow
// from a source device to a destination device through vfio::migration, the
// error arcs, injected faults, device DMA logging and type1 dirty pages.
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/dirty_bitmap.hpp>
#include <vfio/dma_logging.hpp>
#include <vfio/group.hpp>
#include <vfio/hot_reset.hpp>
#include <vfio/iommu_dirty_pages.hpp>
#include <vfio/migration.hpp>
#include <vfio/testing/sim/migration_device.hpp>  // sim::mig_fsm, the model's own

#include "../catch.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_simulated_kernel_migration {

namespace {

using namespace sim_test;
using vfio::mig_state;
using S = vfio::mig_state;

constexpr const char* src_bdf = "0000:00:07.0";
constexpr const char* dst_bdf = "0000:00:08.0";

/// A container, a group and a device opened through the library.
struct opened {
  vfio::container container;
  vfio::group group;
  vfio::device device;
};

opened open_device(simulated_kernel& k, const char* bdf) {
  opened o;
  auto c = vfio::container::open("/dev/vfio/vfio", k);
  REQUIRE(c);
  o.container = std::move(*c);
  auto g = vfio::group::open_for_device(bdf, k);
  REQUIRE(g);
  o.group = std::move(*g);
  REQUIRE(o.group.set_container(o.container));
  REQUIRE(o.container.set_best_iommu());
  auto d = o.group.open_device(bdf);
  REQUIRE(d);
  o.device = std::move(*d);
  return o;
}

vfio::migration open_migration(vfio::device& d) {
  auto m = vfio::migration::open(d);
  REQUIRE(m);
  return std::move(*m);
}

/// A simulated kernel with two mtty-2 devices (groups 10 and 11).
void add_pair(simulated_kernel& k, sim::device_description src = sim::profiles::mtty(src_bdf, 10),
              sim::device_description dst = sim::profiles::mtty(dst_bdf, 11)) {
  REQUIRE(k.add_device(src));
  REQUIRE(k.add_device(dst));
}

std::vector<std::uint8_t> uart(vfio::device& d, std::uint32_t bar) {
  std::vector<std::uint8_t> v(8);
  REQUIRE(d.read(bar, 0, v.data(), v.size()));
  return v;
}

/// SET MIG_DEVICE_STATE through the raw seam; the data_fd the kernel wrote back in *data_fd.
int set_mig(simulated_kernel& k, int device, std::uint32_t state, int* data_fd) {
  unsigned char buf[16] = {};
  const abi::device_feature hdr{16, SET | abi::feature_id::mig_device_state};
  const abi::feature_mig_state m{state, -1};
  std::memcpy(buf, &hdr, sizeof hdr);
  std::memcpy(buf + 8, &m, sizeof m);
  const int r = k.ioctl(device, abi::req::device_feature, buf);
  abi::feature_mig_state back{};
  std::memcpy(&back, buf + 8, sizeof back);
  *data_fd = back.data_fd;
  return r;
}

int count_results(const std::vector<sim::call_record>& trace, vfio::testing::call_kind kind, long result) {
  int n = 0;
  for (const auto& r : trace) n += r.kind == kind && r.result == result ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("the library's FSM table agrees with the model's search over the driver arcs",
          "[migration][simulated_kernel]") {
  namespace f = abi::migration_flags;
  const std::uint64_t sets[] = {f::stop_copy, f::stop_copy | f::p2p, f::stop_copy | f::pre_copy,
                                f::stop_copy | f::p2p | f::pre_copy};
  for (const std::uint64_t flags : sets) {
    for (std::uint32_t from = 0; from < 8; ++from) {
      for (std::uint32_t to = 0; to < 8; ++to) {
        std::uint32_t model = 0;
        const int rc = sim::mig_fsm::next_state(flags, from, to, model);
        const mig_state lib =
            vfio::next_mig_state(vfio::migration_caps{flags}, static_cast<mig_state>(from), static_cast<mig_state>(to));
        INFO("flags " << flags << " from " << from << " to " << to);
        if (rc) {
          CHECK(lib == S::error);
        } else {
          CHECK(static_cast<std::uint32_t>(lib) == model);
        }
      }
    }
  }
}

TEST_CASE("simulated mtty: migration source to destination, pre-copy then stop-copy", "[migration][simulated_kernel]") {
  simulated_kernel k;
  add_pair(k);
  auto src = open_device(k, src_bdf);
  auto dst = open_device(k, dst_bdf);
  // The guest programmed the UARTs: LCR, SCR ... of port 0 and port 1.
  const std::uint8_t port0[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  const std::uint8_t port1[8] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17};
  REQUIRE(src.device.write(0, 0, port0, 8));
  REQUIRE(src.device.write(1, 0, port1, 8));

  auto out = open_migration(src.device);
  CHECK(out.caps().flags ==
        (abi::migration_flags::stop_copy | abi::migration_flags::p2p | abi::migration_flags::pre_copy));
  CHECK(out.state() == S::running);
  auto size = out.stop_copy_size();
  REQUIRE(size);
  CHECK(*size == 96);

  std::vector<std::byte> stream(256);
  std::size_t at = 0;
  REQUIRE(out.set_state(S::pre_copy));
  REQUIRE(out.has_stream());
  const int data_fd = out.stream_fd();
  auto info = out.precopy_info();
  REQUIRE(info);
  CHECK(info->initial_bytes == 24);
  CHECK(info->dirty_bytes == 0);
  auto got = out.read(vfio::span<std::byte>(stream.data(), stream.size()));
  REQUIRE(got);
  CHECK(got->bytes == 24);
  CHECK(got->end == vfio::stream_end::no_more_for_now);  // mtty returns 0 past the pre-copy data
  at += got->bytes;
  info = out.precopy_info();
  REQUIRE(info);
  CHECK(info->total() == 0);

  vfio::mig_transition t;
  REQUIRE(out.set_state(S::stop_copy, &t));
  CHECK(t.arcs_done == 2);            // PRE_COPY -> PRE_COPY_P2P -> STOP_COPY
  CHECK(out.stream_fd() == data_fd);  // data_fd -1: the PRE_COPY fd carries on
  auto late = out.precopy_info();
  REQUIRE_FALSE(late);
  CHECK(late.error() == std::errc::invalid_argument);
  got = out.read(vfio::span<std::byte>(stream.data() + at, stream.size() - at));
  REQUIRE(got);
  CHECK(got->bytes == 72);
  CHECK(got->end == vfio::stream_end::end_of_stream);
  at += got->bytes;
  CHECK(at == 96);
  REQUIRE(out.set_state(S::stop));
  CHECK_FALSE(out.has_stream());
  CHECK(k.open_descriptors(sim::descriptor_kind::migration) == 0);

  auto in = open_migration(dst.device);
  REQUIRE(in.set_state(S::resuming, &t));
  CHECK(t.arcs_done == 3);  // RUNNING -> RUNNING_P2P -> STOP -> RESUMING
  REQUIRE(in.write(vfio::span<const std::byte>(stream.data(), at)));
  REQUIRE(in.set_state(S::running, &t));
  CHECK(t.arcs_done == 3);  // RESUMING -> STOP -> RUNNING_P2P -> RUNNING
  CHECK(k.migration_state(dst_bdf) == abi::mig_device_state::running);
  CHECK(uart(dst.device, 0) == std::vector<std::uint8_t>(port0, port0 + 8));
  CHECK(uart(dst.device, 1) == std::vector<std::uint8_t>(port1, port1 + 8));
  CHECK(k.open_descriptors(sim::descriptor_kind::migration) == 0);
}

TEST_CASE("simulated mtty: RUNNING -> STOP_COPY in one SET; the old fd is ENODEV after STOP",
          "[migration][simulated_kernel]") {
  simulated_kernel k;
  add_pair(k);
  auto src = open_device(k, src_bdf);
  // Raw seam: what the kernel does with the descriptor the library would close.
  int fd = -2;
  REQUIRE(set_mig(k, src.device.fd(), abi::mig_device_state::stop_copy, &fd) == 0);
  REQUIRE(fd >= 0);  // RUNNING -> RUNNING_P2P -> STOP -> STOP_COPY inside the kernel
  CHECK(k.migration_state(src_bdf) == abi::mig_device_state::stop_copy);
  CHECK(k.pread(fd, &fd, 1, 0) == -ESPIPE);  // stream_open
  std::uint8_t data[128];
  CHECK(k.read(fd, data, sizeof data) == 96);
  CHECK(k.read(fd, data, sizeof data) == 0);  // the end of the stream in STOP_COPY
  abi::precopy_info pi{sizeof pi, 0, 0, 0};
  CHECK(k.ioctl(fd, abi::req::mig_get_precopy_info, &pi) == -EINVAL);
  int none = -2;
  REQUIRE(set_mig(k, src.device.fd(), abi::mig_device_state::stop, &none) == 0);
  CHECK(none == -1);
  CHECK(k.read(fd, data, sizeof data) == -ENODEV);  // mtty_disable_files
  CHECK(k.write(fd, data, 1) == -EBADF);            // a read-only file
  REQUIRE(k.close(fd) == 0);

  // Through the library, in one call.
  auto out = open_migration(src.device);
  REQUIRE(out.state() == S::stop);
  REQUIRE(out.set_state(S::running));
  vfio::mig_transition t;
  REQUIRE(out.set_state_in_one_call(S::stop_copy, &t));
  CHECK(t.arcs_done == 3);
  std::byte all[128];
  auto got = out.read(all);
  REQUIRE(got);
  CHECK(got->bytes == 96);
  CHECK(got->end == vfio::stream_end::end_of_stream);
}

TEST_CASE("simulated mtty: ENOMSG at the temporary end of pre-copy data", "[migration][simulated_kernel]") {
  simulated_kernel k;
  auto d = sim::profiles::mtty(src_bdf, 10);
  d.migration->precopy_end_enomsg = true;
  REQUIRE(k.add_device(d));
  auto src = open_device(k, src_bdf);
  auto out = open_migration(src.device);
  REQUIRE(out.set_state(S::pre_copy));
  std::byte buf[64];
  auto got = out.read(buf);
  REQUIRE(got);
  CHECK(got->bytes == 24);
  CHECK(got->end == vfio::stream_end::no_more_for_now);
  CHECK(count_results(k.trace(), vfio::testing::call_kind::read, -ENOMSG) == 1);
}

TEST_CASE("simulated mtty: a bad stream header, then RESUMING -> STOP refused until reset",
          "[migration][simulated_kernel]") {
  simulated_kernel k;
  add_pair(k);
  auto dst = open_device(k, dst_bdf);
  auto in = open_migration(dst.device);
  REQUIRE(in.set_state(S::resuming));
  std::vector<std::byte> header(24, std::byte{0});  // magic 0
  auto bad = in.write(header);
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == std::errc::bad_address);
  CHECK(std::string(bad.error().operation()) == "write");
  std::vector<std::byte> too_much(200);
  CHECK(in.write(too_much).error() == std::errc::not_enough_memory);  // more than the device's state
  vfio::mig_transition t;
  auto r = in.set_state(S::running, &t);
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::invalid_argument);
  CHECK(t.failed_from == S::resuming);
  CHECK(t.failed_to == S::stop);
  CHECK(t.now == S::resuming);
  CHECK(in.state() == S::resuming);
  CHECK(in.has_stream());
  CHECK(k.migration_state(dst_bdf) == abi::mig_device_state::resuming);
  REQUIRE(in.recover());
  CHECK(in.state() == S::running);
  CHECK_FALSE(in.has_stream());
  CHECK(k.open_descriptors(sim::descriptor_kind::migration) == 0);
  REQUIRE(in.set_state(S::resuming));  // a fresh session works
}

TEST_CASE("simulated mtty: failing arcs report where the device is; ERROR needs a reset",
          "[migration][simulated_kernel]") {
  simulated_kernel k;
  auto d = sim::profiles::mtty(src_bdf, 10);
  d.migration->arc_faults.push_back({abi::mig_device_state::running_p2p, abi::mig_device_state::stop, EIO, false, 1});
  d.migration->arc_faults.push_back({abi::mig_device_state::stop, abi::mig_device_state::stop_copy, ENOMEM, true, 0});
  REQUIRE(k.add_device(d));
  auto src = open_device(k, src_bdf);
  auto out = open_migration(src.device);
  vfio::mig_transition t;
  auto r = out.set_state(S::stop_copy, &t);
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::io_error);
  CHECK(t.arcs_done == 1);
  CHECK(t.failed_from == S::running_p2p);
  CHECK(t.failed_to == S::stop);
  CHECK(t.now == S::running_p2p);
  CHECK_FALSE(t.needs_reset());

  r = out.set_state(S::stop_copy, &t);  // the EIO was once; now STOP -> STOP_COPY lands in ERROR
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::not_enough_memory);
  CHECK(t.failed_from == S::stop);
  CHECK(t.now == S::error);
  CHECK(t.needs_reset());
  CHECK(out.set_state(S::running).error() == vfio::errc::mig_state_unreachable);
  REQUIRE(out.recover());
  CHECK(out.state() == S::running);
  CHECK(k.migration_state(src_bdf) == abi::mig_device_state::running);
}

TEST_CASE("simulated mtty: injected faults on the SET and on the stream", "[migration][simulated_kernel]") {
  simulated_kernel k;
  add_pair(k);
  auto src = open_device(k, src_bdf);
  auto out = open_migration(src.device);
  sim::fault_rule set_fails;
  set_fails.request = abi::req::device_feature;
  set_fails.feature = abi::feature_id::mig_device_state;
  set_fails.feature_op = SET;
  set_fails.nth = 1;
  set_fails.error = EBUSY;
  k.inject(set_fails);
  vfio::mig_transition t;
  auto r = out.set_state(S::stop, &t);
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::device_or_resource_busy);
  CHECK(t.now == S::running);  // the GET after it
  REQUIRE(out.set_state(S::stop_copy));
  sim::fault_rule eintr;
  eintr.kind = vfio::testing::call_kind::read;
  eintr.fd = out.stream_fd();
  eintr.nth = 1;
  eintr.error = EINTR;
  k.inject(eintr);
  sim::fault_rule eagain = eintr;
  eagain.nth = 2;
  eagain.error = EAGAIN;
  k.inject(eagain);
  std::byte buf[128];
  auto got = out.read(buf);  // EINTR retried, EAGAIN polled, then the data
  REQUIRE(got);
  CHECK(got->bytes == 96);
  CHECK(got->end == vfio::stream_end::end_of_stream);
  sim::fault_rule eio = eintr;
  eio.nth = 0;
  eio.error = EIO;
  k.inject(eio);
  auto failed = out.read(buf);
  REQUIRE_FALSE(failed);
  CHECK(failed.error() == std::errc::io_error);
  CHECK(failed.error().about() == vfio::subject::mig_stream(static_cast<std::uint32_t>(out.stream_fd())));
  k.clear_faults();
}

TEST_CASE("simulated mtty: closing the device ends the session; other devices have no migration",
          "[migration][simulated_kernel]") {
  simulated_kernel k;
  add_pair(k);
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  {
    auto nic = open_device(k, e1000e_bdf);
    auto none = vfio::migration::open(nic.device);
    REQUIRE_FALSE(none);
    CHECK(none.error() == vfio::errc::feature_unsupported);
  }
  auto src = open_device(k, src_bdf);
  {
    auto out = open_migration(src.device);
    REQUIRE(out.set_state(S::pre_copy));
    (void)src.device.close();  // the last close disables the file (mtty_close)
    std::byte buf[8];
    CHECK(out.read(buf).error() == std::errc::no_such_device);
  }
  CHECK(k.open_descriptors(sim::descriptor_kind::migration) == 0);
}

TEST_CASE("simulated mtty on 6.1: no PRE_COPY, no MIG_DATA_SIZE", "[migration][simulated_kernel]") {
  sim::kernel_options o;
  o.version = sim::kernel_version::v6_1;
  simulated_kernel k(o);
  add_pair(k);
  auto src = open_device(k, src_bdf);
  auto out = open_migration(src.device);
  CHECK_FALSE(out.caps().pre_copy());
  CHECK(out.stop_copy_size().error() == vfio::errc::feature_unsupported);
  CHECK(out.set_state(S::pre_copy).error() == vfio::errc::mig_state_unreachable);
  // The kernel's own answer to a target the flags do not offer
  // (vfio_mig_get_next_state: state_flags_table): EINVAL, the device stays.
  int data_fd = 0;
  CHECK(set_mig(k, src.device.fd(), abi::mig_device_state::pre_copy, &data_fd) == -EINVAL);
  CHECK(data_fd == -1);
  CHECK(set_mig(k, src.device.fd(), abi::mig_device_state::pre_copy_p2p, &data_fd) == -EINVAL);
  CHECK(k.migration_state(src_bdf) == abi::mig_device_state::running);
  REQUIRE(out.set_state(S::stop_copy));
}

TEST_CASE("simulated DMA logging: pages the device wrote, read and cleared", "[migration][simulated_kernel][dirty]") {
  simulated_kernel k;
  add_pair(k);
  auto src = open_device(k, src_bdf);
  const vfio::dma_logging::range ranges[] = {{0x0, 0x100000}, {0x200000, 0x10000}};
  auto page = vfio::dma_logging::start(src.device, ranges, 4096);
  REQUIRE(page);
  CHECK(*page == 4096);
  CHECK(vfio::dma_logging::start(src.device, ranges, 4096).error() == std::errc::invalid_argument);  // already on
  CHECK(k.device_dma_write(src_bdf, 0x3000, 0x2000));
  CHECK(k.device_dma_write(src_bdf, 0x200800, 1));
  CHECK_FALSE(k.device_dma_write(src_bdf, 0x180000, 0x1000));  // not tracked
  auto bitmap = vfio::dirty_bitmap::create(0, 0x210000, *page);
  REQUIRE(bitmap);
  REQUIRE(vfio::dma_logging::report(src.device, *bitmap));
  CHECK(bitmap->count() == 3);
  CHECK(bitmap->is_dirty(0x3000));
  CHECK(bitmap->is_dirty(0x4000));
  CHECK(bitmap->is_dirty(0x200000));
  REQUIRE(vfio::dma_logging::report(src.device, *bitmap));  // read and cleared
  CHECK_FALSE(bitmap->any());

  // Overlapping or misaligned ranges are refused by the core.
  REQUIRE(vfio::dma_logging::stop(src.device));
  const vfio::dma_logging::range overlap[] = {{0x0, 0x2000}, {0x1000, 0x2000}};
  CHECK(vfio::dma_logging::start(src.device, overlap, 4096).error() == std::errc::invalid_argument);
  const vfio::dma_logging::range odd[] = {{0x800, 0x1000}};
  CHECK(vfio::dma_logging::start(src.device, odd, 4096).error() == std::errc::invalid_argument);
  std::vector<vfio::dma_logging::range> many(257, vfio::dma_logging::range{0, 0x1000});
  for (std::size_t i = 0; i < many.size(); ++i) many[i].iova = i * 0x1000;
  CHECK(vfio::dma_logging::start(src.device, many, 4096).error() == std::errc::argument_list_too_long);
  CHECK(vfio::dma_logging::report(src.device, *bitmap).error() == std::errc::invalid_argument);  // not logging
  auto small = vfio::dirty_bitmap::create(0, 0x10000, 2048);
  REQUIRE(small);
  REQUIRE(vfio::dma_logging::start(src.device, ranges, 4096));
  CHECK(vfio::dma_logging::report(src.device, *small).error() == std::errc::invalid_argument);  // below 4 KiB
}

TEST_CASE("simulated DMA logging: the device may choose a larger page", "[migration][simulated_kernel][dirty]") {
  simulated_kernel k;
  auto d = sim::profiles::mtty(src_bdf, 10);
  d.migration->log_page_size = 0x10000;
  REQUIRE(k.add_device(d));
  auto src = open_device(k, src_bdf);
  const vfio::dma_logging::range ranges[] = {{0x0, 0x100000}};
  auto page = vfio::dma_logging::start(src.device, ranges, 4096);
  REQUIRE(page);
  CHECK(*page == 0x10000);
  REQUIRE(k.device_dma_write(src_bdf, 0x12345, 4));
  auto fine = vfio::dirty_bitmap::create(0, 0x100000, 4096);
  REQUIRE(fine);
  REQUIRE(vfio::dma_logging::report(src.device, *fine));
  CHECK(fine->count() == 16);  // the whole 64 KiB page the device tracks
  CHECK(fine->is_dirty(0x10000));
  CHECK(fine->is_dirty(0x1f000));
}

TEST_CASE("simulated type1 dirty pages: every mapped page, merged with the device's log",
          "[migration][simulated_kernel][dirty]") {
  simulated_kernel k;
  add_pair(k);
  auto src = open_device(k, src_bdf);
  const std::size_t size = 0x40000;
  void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mem != MAP_FAILED);
  REQUIRE(src.container.map_dma(mem, 0x100000, 0x20000));
  REQUIRE(src.container.map_dma(static_cast<char*>(mem) + 0x20000, 0x140000, 0x10000));
  auto bitmap = vfio::dirty_bitmap::create(0x100000, 0x50000, 4096);
  REQUIRE(bitmap);
  CHECK(vfio::iommu_dirty::report(src.container, *bitmap).error() == std::errc::invalid_argument);  // not started
  REQUIRE(vfio::iommu_dirty::start(src.container));
  REQUIRE(vfio::iommu_dirty::start(src.container));  // again: no error
  REQUIRE(vfio::iommu_dirty::report(src.container, *bitmap));
  CHECK(bitmap->count() == (0x20000 + 0x10000) / 4096);  // the IOMMU cannot tell: all mapped pages
  CHECK_FALSE(bitmap->is_dirty(0x120000));
  CHECK(bitmap->is_dirty(0x140000));

  // The device's own log, merged in.
  const vfio::dma_logging::range ranges[] = {{0x100000, 0x50000}};
  REQUIRE(vfio::dma_logging::start(src.device, ranges, 4096));
  REQUIRE(k.device_dma_write(src_bdf, 0x130000, 0x1000));
  auto device_log = vfio::dirty_bitmap::create(0x100000, 0x50000, 4096);
  REQUIRE(device_log);
  REQUIRE(vfio::dma_logging::report(src.device, *device_log));
  bitmap->merge(*device_log);
  CHECK(bitmap->count() == (0x20000 + 0x10000) / 4096 + 1);

  // A range that bisects a mapping is refused; unmapping reports the pages.
  auto half = vfio::dirty_bitmap::create(0x100000, 0x10000, 4096);
  REQUIRE(half);
  CHECK(vfio::iommu_dirty::report(src.container, *half).error() == std::errc::invalid_argument);
  auto first = vfio::dirty_bitmap::create(0x100000, 0x20000, 4096);
  REQUIRE(first);
  auto unmapped = vfio::iommu_dirty::unmap_and_report(src.container, *first);
  REQUIRE(unmapped);
  CHECK(*unmapped == 0x20000);
  CHECK(first->count() == 0x20000 / 4096);
  REQUIRE(vfio::iommu_dirty::stop(src.container));
  CHECK(vfio::iommu_dirty::report(src.container, *bitmap).error() == std::errc::invalid_argument);
  (void)src.container.unmap_dma(0x140000, 0x10000);
  ::munmap(mem, size);
}

TEST_CASE("simulated type1 dirty pages: a mapping inside a report's word keeps its shifted bits",
          "[migration][simulated_kernel][dirty]") {
  // update_user_bitmap (drivers/vfio/vfio_iommu_type1.c) shifts the mapping's
  // own bitmap in place and copies whole words; 6.12 under QEMU with edu reads
  // 0xb, then 0x5b, then 0x2db from the unmap (scenario edu_dirty_pages).
  simulated_kernel k;
  add_pair(k);
  auto src = open_device(k, src_bdf);
  const std::size_t size = 3 * 4096;
  void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mem != MAP_FAILED);
  REQUIRE(src.container.map_dma(mem, 0x100000, 0x2000));
  REQUIRE(src.container.map_dma(static_cast<char*>(mem) + 0x2000, 0x103000, 0x1000));
  REQUIRE(vfio::iommu_dirty::start(src.container));
  auto own = vfio::dirty_bitmap::create(0x103000, 0x1000, 4096);
  REQUIRE(own);
  // Based on the mapping's own first page (no shift): nothing stays behind.
  for (int i = 0; i < 2; ++i) {
    REQUIRE(vfio::iommu_dirty::report(src.container, *own));
    CHECK(own->bits()[0] == 0x1);
  }
  auto four = vfio::dirty_bitmap::create(0x100000, 0x4000, 4096);
  REQUIRE(four);
  REQUIRE(vfio::iommu_dirty::report(src.container, *four));
  CHECK(four->bits()[0] == 0xb);
  CHECK(four->count() == 3);
  REQUIRE(vfio::iommu_dirty::report(src.container, *four));
  CHECK(four->bits()[0] == 0x5b);  // bits 4 and 6: past the mapping, past the range
  CHECK(four->count() == 3);       // the bitmap counts only the range's pages
  CHECK(four->test(3));
  CHECK_FALSE(four->test(2));
  auto unmapped = vfio::iommu_dirty::unmap_and_report(src.container, *own);
  REQUIRE(unmapped);
  CHECK(own->bits()[0] == 0x5b);  // the whole first word of the mapping's bitmap
  CHECK(own->count() == 1);
  CHECK(own->any());
  // STOP frees the bitmaps; a new START begins clean.
  REQUIRE(vfio::iommu_dirty::stop(src.container));
  REQUIRE(vfio::iommu_dirty::start(src.container));
  auto pair = vfio::dirty_bitmap::create(0x100000, 0x2000, 4096);
  REQUIRE(pair);
  REQUIRE(vfio::iommu_dirty::report(src.container, *pair));
  CHECK(pair->bits()[0] == 0x3);
  REQUIRE(vfio::iommu_dirty::stop(src.container));
  (void)src.container.unmap_all_dma();
  ::munmap(mem, size);
}

TEST_CASE("simulated mtty behind a bridge: a hot reset puts the device back in RUNNING",
          "[migration][simulated_kernel][reset]") {
  // pci_reset_bus -> pci_bus_restore_locked -> pci_dev_restore calls the
  // driver's err_handler->reset_done (drivers/pci/pci.c), which for a migration
  // driver (mlx5vf_pci_aer_reset_done) ends in RUNNING with its files disabled.
  simulated_kernel k;
  sim::bridge_description port;
  port.bdf = "0000:00:1c.0";
  port.iommu_group = 30;
  REQUIRE(k.add_bridge(port));
  sim::device_description d = sim::profiles::mtty("0000:01:00.0", 31);
  d.upstream_bridge = port.bdf;
  REQUIRE(k.add_device(d));
  auto o = open_device(k, "0000:01:00.0");
  auto m = open_migration(o.device);
  REQUIRE(m.set_state(vfio::mig_state::stop_copy));
  REQUIRE(m.has_stream());
  const int stream = m.stream_fd();
  CHECK(k.migration_state("0000:01:00.0") == abi::mig_device_state::stop_copy);

  const vfio::owned_group owned[] = {vfio::owned_group(o.group)};
  REQUIRE(vfio::hot_reset(o.device, vfio::span<const vfio::owned_group>(owned, 1)));
  CHECK(k.migration_state("0000:01:00.0") == abi::mig_device_state::running);
  std::uint8_t byte = 0;
  CHECK(k.read(stream, &byte, 1) == -ENODEV);  // the saving file was disabled
  auto now = m.refresh_state();
  REQUIRE(now);
  CHECK(*now == vfio::mig_state::running);
  // The device migrates again from RUNNING.
  REQUIRE(m.set_state(vfio::mig_state::stop_copy));
  CHECK(m.has_stream());
  REQUIRE(m.set_state(vfio::mig_state::running));
}

}  // namespace vfio_unit_test_simulated_kernel_migration
