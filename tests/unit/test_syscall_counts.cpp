// Syscall budgets: how many calls each operation makes through the seam,
// counted exactly against the simulated kernel. Each figure is the minimum the
// operation needs (see the comment at each check); a change that adds a call
// fails here. tests/bench/BENCHMARKS.md lists the same figures.
//
// The counter wraps the simulated kernel and counts what reaches it, so the
// model's own work is not counted; only the library's calls are. Heap
// allocations are counted in tests/unit/alloc/test_alloc_counts.cpp (replacing
// operator new needs an executable of its own).
#include <sys/mman.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <vfio/cdev.hpp>
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/eventfd.hpp>
#include <vfio/feature.hpp>
#include <vfio/group.hpp>
#include <vfio/host/power.hpp>
#include <vfio/host/sysfs.hpp>
#include <vfio/iommufd.hpp>
#include <vfio/migration.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include "../catch.hpp"

namespace vfio_unit_test_syscall_counts {

namespace {

namespace abi = vfio::abi;
namespace sim = vfio::testing::sim;
using vfio::testing::simulated_kernel;

/// Forwards every call to an inner seam and counts it by kind. ioctl and
/// ioctl_value count together as ioctls; for VFIO_DEVICE_FEATURE the flags sent
/// are kept in order. The clock (monotonic_ns) is not a syscall here: it is
/// clock_gettime through the vDSO on Linux.
class counting_syscalls final : public vfio::syscalls {
 public:
  explicit counting_syscalls(vfio::syscalls& inner) noexcept : inner_(&inner) {}

  long opens = 0, closes = 0, ioctls = 0, preads = 0, pwrites = 0, reads = 0, writes = 0, mmaps = 0, munmaps = 0,
       eventfds = 0, readlinks = 0, polls = 0, accesses = 0, getdents = 0, getrlimits = 0, sleeps = 0;
  std::vector<std::uint32_t> feature_flags;  ///< flags of each VFIO_DEVICE_FEATURE, in order
  std::vector<std::size_t> pread_sizes;      ///< count of each pread, in order

  long total() const noexcept {
    return opens + closes + ioctls + preads + pwrites + reads + writes + mmaps + munmaps + eventfds + readlinks +
           polls + accesses + getdents + getrlimits + sleeps;
  }
  void reset() {
    opens = closes = ioctls = preads = pwrites = reads = writes = mmaps = munmaps = eventfds = readlinks = polls =
        accesses = getdents = getrlimits = sleeps = 0;
    feature_flags.clear();
    pread_sizes.clear();
  }

  int open(const char* path, int flags, unsigned mode) noexcept override {
    ++opens;
    return inner_->open(path, flags, mode);
  }
  int close(int fd) noexcept override {
    ++closes;
    return inner_->close(fd);
  }
  int ioctl(int fd, unsigned long request, void* arg) noexcept override {
    ++ioctls;
    if (request == abi::req::device_feature && arg) {
      abi::device_feature h{};
      std::memcpy(&h, arg, sizeof h);
      feature_flags.push_back(h.flags);
    }
    return inner_->ioctl(fd, request, arg);
  }
  int ioctl_value(int fd, unsigned long request, unsigned long value) noexcept override {
    ++ioctls;
    return inner_->ioctl_value(fd, request, value);
  }
  long pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept override {
    ++preads;
    pread_sizes.push_back(count);
    return inner_->pread(fd, buf, count, offset);
  }
  long pwrite(int fd, const void* buf, std::size_t count, std::int64_t offset) noexcept override {
    ++pwrites;
    return inner_->pwrite(fd, buf, count, offset);
  }
  long read(int fd, void* buf, std::size_t count) noexcept override {
    ++reads;
    return inner_->read(fd, buf, count);
  }
  long write(int fd, const void* buf, std::size_t count) noexcept override {
    ++writes;
    return inner_->write(fd, buf, count);
  }
  int mmap(void** addr, std::size_t length, int prot, int flags, int fd, std::int64_t offset) noexcept override {
    ++mmaps;
    return inner_->mmap(addr, length, prot, flags, fd, offset);
  }
  int munmap(void* addr, std::size_t length) noexcept override {
    ++munmaps;
    return inner_->munmap(addr, length);
  }
  int eventfd(unsigned initval, int flags) noexcept override {
    ++eventfds;
    return inner_->eventfd(initval, flags);
  }
  long readlink(const char* path, char* buf, std::size_t size) noexcept override {
    ++readlinks;
    return inner_->readlink(path, buf, size);
  }
  int poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept override {
    ++polls;
    return inner_->poll(fds, nfds, timeout_ms);
  }
  std::int64_t monotonic_ns() noexcept override { return inner_->monotonic_ns(); }
  int sleep_ns(std::int64_t ns) noexcept override {
    ++sleeps;
    return inner_->sleep_ns(ns);
  }
  int access(const char* path, int mode) noexcept override {
    ++accesses;
    return inner_->access(path, mode);
  }
  long getdents64(int fd, void* buf, std::size_t size) noexcept override {
    ++getdents;
    return inner_->getdents64(fd, buf, size);
  }
  int getrlimit(int resource, struct rlimit* limit) noexcept override {
    ++getrlimits;
    return inner_->getrlimit(resource, limit);
  }

 private:
  vfio::syscalls* inner_;
};

constexpr std::uint32_t GET = abi::feature_flags::get;
constexpr std::uint32_t SET = abi::feature_flags::set;
constexpr std::uint32_t PROBE = abi::feature_flags::probe;

/// A container with the device's group attached and Type1v2 set, and the device
/// open, all through the counting seam.
struct opened {
  vfio::container container;
  vfio::group group;
  vfio::device device;
};

opened open_through(counting_syscalls& sys, const char* bdf) {
  auto c = vfio::container::open("/dev/vfio/vfio", sys);
  REQUIRE(c);
  auto g = vfio::group::open_for_device(bdf, sys);
  REQUIRE(g);
  REQUIRE(g->set_container(*c));
  REQUIRE(c->set_best_iommu());
  auto d = g->open_device(bdf);
  REQUIRE(d);
  return opened{std::move(*c), std::move(*g), std::move(*d)};
}

const char* const e1000e_bdf = "0000:00:03.0";
const char* const virtio_bdf = "0000:01:00.0";

}  // namespace

// ---------------------------------------------------------------------------
// Opening a device (for reference: not reduced here)

TEST_CASE("counts: opening a device takes 9 calls", "[counts]") {
  simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  counting_syscalls sys(k);
  opened o = open_through(sys, e1000e_bdf);
  // open + GET_API_VERSION; readlink iommu_group + open + GET_STATUS; SET_CONTAINER;
  // CHECK_EXTENSION(Type1v2) + SET_IOMMU; GET_DEVICE_FD.
  CHECK(sys.opens == 2);
  CHECK(sys.readlinks == 1);
  CHECK(sys.ioctls == 6);
  CHECK(sys.total() == 9);
}

// ---------------------------------------------------------------------------
// 1. supported_features

namespace {

/// The survey as the exhaustive 36-probe walk sees it: what supported_features
/// must still report.
vfio::feature::feature_survey exhaustive_survey(const vfio::device& dev) {
  vfio::feature::feature_survey s{};
  for (std::uint32_t id = 0; id < vfio::feature::known_feature_count; ++id) {
    const int bare = vfio::feature::detail::probe_raw(dev.fd(), dev.sys(), id, 0);
    const int get = vfio::feature::detail::probe_raw(dev.fd(), dev.sys(), id, GET);
    const int set = vfio::feature::detail::probe_raw(dev.fd(), dev.sys(), id, SET);
    auto& e = s[id];
    e.id = id;
    e.name = vfio::feature::feature_name(id);
    e.probe_errno = bare < 0 ? -bare : 0;
    e.get_errno = get < 0 ? -get : 0;
    e.set_errno = set < 0 ? -set : 0;
    e.supported = bare == 0;
    e.can_get = e.supported && get == 0;
    e.can_set = e.supported && set == 0;
  }
  return s;
}

void check_same_survey(const vfio::feature::feature_survey& got, const vfio::feature::feature_survey& want) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("feature " << i);
    CHECK(got[i].id == want[i].id);
    CHECK(std::strcmp(got[i].name, want[i].name) == 0);
    CHECK(got[i].supported == want[i].supported);
    CHECK(got[i].can_get == want[i].can_get);
    CHECK(got[i].can_set == want[i].can_set);
    CHECK(got[i].probe_errno == want[i].probe_errno);
    CHECK(got[i].get_errno == want[i].get_errno);
    CHECK(got[i].set_errno == want[i].set_errno);
  }
}

struct survey_case {
  const char* what = "";
  sim::kernel_options options;
  bool feature_op = true;
  long ioctls = 0;  // 12 bare PROBEs + PROBE|GET and PROBE|SET of every feature not answering ENOTTY
};

}  // namespace

TEST_CASE("counts: supported_features probes GET and SET only of features the bare PROBE did not deny",
          "[counts][feature]") {
  sim::kernel_options v7;
  v7.version = sim::kernel_version::v7;
  sim::kernel_options seed;
  seed.dialect = sim::low_power_dialect::seed;
  const std::array<survey_case, 5> cases = {{
      {"6.12 merged: 3, 4, 5 exist", sim::kernel_options{}, true, 12 + 2 * 3},
      {"7.x: 3, 4, 5 and DMA_BUF exist", v7, true, 12 + 2 * 4},
      {"seed ABI: POWER_MANAGEMENT exists", seed, true, 12 + 2 * 1},
      // Pre-6.18, no handler: EINVAL (not ENOTTY) for 0, 3, 4, 5, 10, 11, which are
      // probed in full; the core's own features answer ENOTTY.
      {"6.12 driver without a feature op", sim::kernel_options{}, false, 12 + 2 * 6},
      {"7.x driver without a feature op: ENOTTY for every number", v7, false, 12},
  }};
  for (const auto& c : cases) {
    INFO(c.what);
    simulated_kernel k(c.options);
    auto desc = sim::profiles::e1000e();
    desc.driver_has_feature_op = c.feature_op;
    REQUIRE(k.add_device(desc));
    counting_syscalls sys(k);
    opened o = open_through(sys, e1000e_bdf);
    const auto want = exhaustive_survey(o.device);
    sys.reset();
    auto got = vfio::feature::supported_features(o.device);
    REQUIRE(got);
    CHECK(sys.ioctls == c.ioctls);
    CHECK(sys.total() == c.ioctls);
    check_same_survey(*got, want);
  }
}

// ---------------------------------------------------------------------------
// 2. Region info and IOMMU info: one ioctl in the common case

TEST_CASE("counts: region() with capabilities takes one GET_REGION_INFO", "[counts][region]") {
  simulated_kernel k;
  auto desc = sim::profiles::e1000e();
  // A variant driver's sparse BAR0: four windows (vfio-pci-core itself never
  // reports one); BAR3 carries the MSI-X table and so MSIX_MAPPABLE.
  desc.bars[0].sparse_areas = {{0x0, 0x1000}, {0x4000, 0x1000}, {0x8000, 0x2000}, {0x10000, 0x10000}};
  REQUIRE(k.add_device(desc));
  counting_syscalls sys(k);
  opened o = open_through(sys, e1000e_bdf);
  REQUIRE(o.device.info());

  sys.reset();
  auto bar0 = o.device.region(0);
  REQUIRE(bar0);
  CHECK(sys.ioctls == 1);
  CHECK(sys.total() == 1);
  REQUIRE((*bar0)->has_sparse_mmap);
  REQUIRE((*bar0)->sparse_areas.size() == 4);
  CHECK((*bar0)->sparse_areas[3].offset == 0x10000);
  CHECK((*bar0)->sparse_areas[3].size == 0x10000);

  sys.reset();
  auto bar3 = o.device.region(3);
  REQUIRE(bar3);
  CHECK((*bar3)->msix_mappable);
  CHECK(sys.total() == 1);

  sys.reset();
  auto config = o.device.region(abi::pci_region::config);  // no capabilities
  REQUIRE(config);
  CHECK(sys.total() == 1);

  sys.reset();
  REQUIRE(o.device.region(0));  // cached
  CHECK(sys.total() == 0);
}

TEST_CASE("counts: region() whose capabilities outgrow the first buffer asks again once", "[counts][region]") {
  simulated_kernel k;
  auto desc = sim::profiles::e1000e();
  // 40 windows: a 16 + 40 * 16 = 656-byte capability, more than the first call's room.
  for (std::uint64_t i = 0; i < 40; ++i) desc.bars[0].sparse_areas.push_back({i * 0x800, 0x400});
  REQUIRE(k.add_device(desc));
  counting_syscalls sys(k);
  opened o = open_through(sys, e1000e_bdf);
  REQUIRE(o.device.info());
  sys.reset();
  auto bar0 = o.device.region(0);
  REQUIRE(bar0);
  CHECK(sys.ioctls == 2);
  REQUIRE((*bar0)->sparse_areas.size() == 40);
  CHECK((*bar0)->sparse_areas[39].offset == std::uint64_t{39} * 0x800);
}

TEST_CASE("counts: get_iommu_info takes one VFIO_IOMMU_GET_INFO", "[counts][container]") {
  SECTION("the usual reply: two IOVA ranges, migration and DMA-available capabilities") {
    simulated_kernel k;
    REQUIRE(k.add_device(sim::profiles::e1000e()));
    counting_syscalls sys(k);
    opened o = open_through(sys, e1000e_bdf);
    for (int call = 0; call < 2; ++call) {  // not cached: every call asks the kernel once
      sys.reset();
      auto info = o.container.get_iommu_info();
      REQUIRE(info);
      CHECK(sys.ioctls == 1);
      CHECK(sys.total() == 1);
      REQUIRE(info->iova_ranges.size() == 2);
      CHECK(info->iova_ranges[1].start == 0xfef00000ULL);
      CHECK(info->dma_avail.has_value());
      CHECK(info->migration.has_value());
    }
  }
  SECTION("forty IOVA ranges do not fit the first buffer: asked again once") {
    sim::kernel_options opt;
    opt.iova_ranges.clear();
    for (std::uint64_t i = 0; i < 40; ++i) opt.iova_ranges.push_back({i << 32, (i << 32) + 0xfffffffULL});
    simulated_kernel k(opt);
    REQUIRE(k.add_device(sim::profiles::e1000e()));
    counting_syscalls sys(k);
    opened o = open_through(sys, e1000e_bdf);
    sys.reset();
    auto info = o.container.get_iommu_info();
    REQUIRE(info);
    CHECK(sys.ioctls == 2);
    REQUIRE(info->iova_ranges.size() == 40);
    CHECK(info->iova_ranges[39].start == std::uint64_t{39} << 32);
  }
}

// ---------------------------------------------------------------------------
// 3. Low-power dialect detection

TEST_CASE("counts: detect_dialect answers the merged ABI with one probe", "[counts][power]") {
  struct dialect_case {
    const char* what = "";
    sim::kernel_options options;
    bool feature_op = true;
    vfio::pci::low_power_dialect want = vfio::pci::low_power_dialect::none;
    std::vector<std::uint32_t> probes;
  };
  sim::kernel_options seed;
  seed.dialect = sim::low_power_dialect::seed;
  sim::kernel_options v7;
  v7.version = sim::kernel_version::v7;
  const std::vector<dialect_case> cases = {
      {"merged", sim::kernel_options{}, true, vfio::pci::low_power_dialect::merged, {5 | PROBE | SET}},
      {"seed", seed, true, vfio::pci::low_power_dialect::seed, {5 | PROBE | SET, 3 | PROBE | GET}},
      {"no feature op (7.x: ENOTTY)",
       v7,
       false,
       vfio::pci::low_power_dialect::none,
       {5 | PROBE | SET, 3 | PROBE | GET}},
      {"no feature op (6.12: EINVAL)",
       sim::kernel_options{},
       false,
       vfio::pci::low_power_dialect::none,
       {5 | PROBE | SET, 3 | PROBE | GET}},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    simulated_kernel k(c.options);
    auto desc = sim::profiles::e1000e();
    desc.driver_has_feature_op = c.feature_op;
    REQUIRE(k.add_device(desc));
    counting_syscalls sys(k);
    opened o = open_through(sys, e1000e_bdf);
    sys.reset();
    vfio::pci::power pm(o.device);
    auto d = pm.detect_dialect();
    REQUIRE(d);
    CHECK(*d == c.want);
    CHECK(sys.feature_flags == c.probes);
    CHECK(sys.total() == static_cast<long>(c.probes.size()));

    // Known for the device's lifetime: neither this object nor another asks again.
    sys.reset();
    REQUIRE(pm.detect_dialect());
    vfio::pci::power other(o.device);
    auto again = other.detect_dialect();
    REQUIRE(again);
    CHECK(*again == c.want);
    CHECK(sys.total() == 0);
  }
}

// ---------------------------------------------------------------------------
// 4. Suspend and resume

TEST_CASE("counts: suspend and resume under the merged ABI", "[counts][power]") {
  simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  counting_syscalls sys(k);
  opened o = open_through(sys, e1000e_bdf);
  REQUIRE(o.device.info());
  REQUIRE(o.device.region(abi::pci_region::config));
  vfio::pci::power pm(o.device);

  SECTION("without wake-up") {
    sys.reset();
    REQUIRE(pm.suspend());
    CHECK(sys.feature_flags == std::vector<std::uint32_t>{5 | PROBE | SET, 3 | SET});
    CHECK(sys.total() == 2);  // dialect probe, LOW_POWER_ENTRY
    k.settle();

    // First resume: LOW_POWER_EXIT, then the PM capability lookup (one 256-byte
    // pread), whose PMCSR is the state to check: no second read of it.
    sys.reset();
    REQUIRE(pm.resume());
    CHECK(sys.ioctls == 1);
    CHECK(sys.pread_sizes == std::vector<std::size_t>{256});
    CHECK(sys.total() == 2);
    CHECK(o.device.mappings_accessible());

    sys.reset();
    REQUIRE(pm.suspend());
    CHECK(sys.total() == 1);  // LOW_POWER_ENTRY
    k.settle();
    // Later resumes: LOW_POWER_EXIT and one 2-byte PMCSR read, which must stay
    // (runtime PM may have changed the state while engaged).
    sys.reset();
    REQUIRE(pm.resume());
    CHECK(sys.ioctls == 1);
    CHECK(sys.pread_sizes == std::vector<std::size_t>{2});
    CHECK(sys.total() == 2);
  }

  SECTION("with a library-created wake-up eventfd") {
    REQUIRE(pm.detect_dialect());
    vfio::pci::suspend_options opt;
    opt.wakeup = true;
    sys.reset();
    REQUIRE(pm.suspend(opt));
    CHECK(sys.eventfds == 1);
    CHECK(sys.ioctls == 1);  // LOW_POWER_ENTRY_WITH_WAKEUP
    CHECK(sys.total() == 2);
    k.settle();
    sys.reset();
    REQUIRE(pm.resume());
    // LOW_POWER_EXIT, the PM capability lookup, close(eventfd).
    CHECK(sys.ioctls == 1);
    CHECK(sys.preads == 1);
    CHECK(sys.closes == 1);
    CHECK(sys.total() == 3);
  }

  SECTION("with D3hot written first (d3hot_policy::if_possible)") {
    REQUIRE(pm.detect_dialect());
    vfio::pci::suspend_options opt;
    opt.d3hot = vfio::pci::d3hot_policy::if_possible;
    sys.reset();
    REQUIRE(pm.suspend(opt));
    // The lookup's PMCSR is the read-modify-write base: lookup pread, pwrite,
    // the read-back pread, LOW_POWER_ENTRY.
    CHECK(sys.pread_sizes == std::vector<std::size_t>{256, 2});
    CHECK(sys.pwrites == 1);
    CHECK(sys.ioctls == 1);
    CHECK(sys.total() == 4);
    k.settle();
    sys.reset();
    REQUIRE(pm.resume());
    CHECK(sys.total() == 2);  // LOW_POWER_EXIT, PMCSR read (D0 again: nothing to write)
    CHECK(o.device.mappings_accessible());

    sys.reset();
    REQUIRE(pm.suspend(opt));
    CHECK(sys.pread_sizes == std::vector<std::size_t>{2, 2});  // PMCSR, read-back
    CHECK(sys.total() == 4);
  }
}

TEST_CASE("counts: PM_CTRL and config access", "[counts][power][pci_config]") {
  simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  counting_syscalls sys(k);
  opened o = open_through(sys, e1000e_bdf);
  REQUIRE(o.device.info());
  REQUIRE(o.device.region(abi::pci_region::config));
  vfio::pci::config cfg(o.device);
  vfio::pci::power pm(o.device);

  sys.reset();
  REQUIRE(cfg.read16(abi::pci::command));
  CHECK(sys.total() == 1);
  sys.reset();
  REQUIRE(cfg.write16(abi::pci::command, 0x0006));
  CHECK(sys.total() == 1);

  // The first capability() reads 256 bytes once and takes PMCSR from them.
  sys.reset();
  auto cap = pm.capability();
  REQUIRE(cap);
  CHECK(sys.pread_sizes == std::vector<std::size_t>{256});
  CHECK(sys.total() == 1);
  sys.reset();
  REQUIRE(pm.capability());
  CHECK(sys.pread_sizes == std::vector<std::size_t>{2});
  CHECK(sys.total() == 1);

  // A PMCSR write: the pwrite and its read-back.
  sys.reset();
  REQUIRE(cfg.write16(static_cast<std::uint16_t>(cap->offset + abi::pci::pm_ctrl), 0x0000));
  CHECK(sys.pwrites == 1);
  CHECK(sys.pread_sizes == std::vector<std::size_t>{2});
  CHECK(sys.total() == 2);

  // set_power_state: PMCSR read, write, read-back.
  sys.reset();
  REQUIRE(pm.set_power_state(vfio::pci::d_state::d3hot));
  CHECK(sys.preads == 2);
  CHECK(sys.pwrites == 1);
  CHECK(sys.total() == 3);
  sys.reset();
  REQUIRE(pm.set_power_state(vfio::pci::d_state::d0));
  CHECK(sys.total() == 3);
}

TEST_CASE("counts: the first PMCSR user takes PMCSR from the capability lookup", "[counts][power]") {
  simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  counting_syscalls sys(k);
  opened o = open_through(sys, e1000e_bdf);
  REQUIRE(o.device.info());
  REQUIRE(o.device.region(abi::pci_region::config));
  vfio::pci::power pm(o.device);

  SECTION("set_power_state: lookup, pwrite, read-back") {
    sys.reset();
    REQUIRE(pm.set_power_state(vfio::pci::d_state::d3hot));
    CHECK(sys.pread_sizes == std::vector<std::size_t>{256, 2});
    CHECK(sys.pwrites == 1);
    CHECK(sys.total() == 3);
    // Another power object of the device: the lookup is the device's, PMCSR is read.
    sys.reset();
    vfio::pci::power other(o.device);
    auto state = other.power_state();
    REQUIRE(state);
    CHECK(*state == vfio::pci::d_state::d3hot);
    CHECK(sys.pread_sizes == std::vector<std::size_t>{2});
    CHECK(sys.total() == 1);
  }
  SECTION("power_state") {
    sys.reset();
    auto state = pm.power_state();
    REQUIRE(state);
    CHECK(*state == vfio::pci::d_state::d0);
    CHECK(sys.pread_sizes == std::vector<std::size_t>{256});
    CHECK(sys.total() == 1);
    sys.reset();
    REQUIRE(pm.power_state());
    CHECK(sys.pread_sizes == std::vector<std::size_t>{2});
    CHECK(sys.total() == 1);
  }
  SECTION("refresh_mapping_state") {
    sys.reset();
    auto state = o.device.refresh_mapping_state();
    REQUIRE(state);
    CHECK(state->accessible());
    CHECK(sys.pread_sizes == std::vector<std::size_t>{256});
    CHECK(sys.total() == 1);
    sys.reset();
    REQUIRE(o.device.refresh_mapping_state());
    CHECK(sys.pread_sizes == std::vector<std::size_t>{2});
    CHECK(sys.total() == 1);
  }
}

// ---------------------------------------------------------------------------
// IRQs and DMA (for reference: one ioctl each)

TEST_CASE("counts: set_irq_eventfds, map_dma and unmap_dma take one ioctl each", "[counts][irq][dma]") {
  simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  counting_syscalls sys(k);
  opened o = open_through(sys, e1000e_bdf);
  auto efd = vfio::eventfd::create(0, EFD_NONBLOCK, sys);
  REQUIRE(efd);
  const int fds[1] = {efd->fd()};
  sys.reset();
  REQUIRE(o.device.set_irq_eventfds(abi::pci_irq::msix, 0, vfio::span<const int>(fds, 1)));
  CHECK(sys.total() == 1);

  const std::size_t size = std::size_t{2} * 4096;
  void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mem != MAP_FAILED);
  sys.reset();
  const bool mapped = static_cast<bool>(o.container.map_dma(mem, 0x100000, size));
  CHECK(mapped);
  CHECK(sys.total() == 1);
  sys.reset();
  auto unmapped = o.container.unmap_dma(0x100000, size);
  CHECK(unmapped);
  CHECK(sys.total() == 1);
  ::munmap(mem, size);
}

// ---------------------------------------------------------------------------
// 5. Host power report

TEST_CASE("counts: read_power_report reads each attribute with one read", "[counts][host]") {
  simulated_kernel k;
  REQUIRE(k.add_bridge(sim::profiles::pcie_root_port()));
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  REQUIRE(k.add_device(sim::profiles::virtio_net()));
  counting_syscalls sys(k);
  const auto e1000e = *vfio::host::parse_pci_address(e1000e_bdf);
  const auto virtio = *vfio::host::parse_pci_address(virtio_bdf);

  // Per function: 4 attributes x (open, read, close) + 2 existence checks (access).
  SECTION("a device on the root bus, PM capability from sysfs config") {
    auto r = vfio::host::read_power_report(e1000e, vfio::host::capability_presence::unknown, sys);
    REQUIRE(r);
    CHECK(r->pm_capability == vfio::host::capability_presence::present);
    CHECK(sys.readlinks == 1);
    CHECK(sys.opens == 4 + 1);
    CHECK(sys.reads == 4);
    CHECK(sys.closes == 4 + 1);
    CHECK(sys.accesses == 2);
    CHECK(sys.preads == 1);  // config
    CHECK(sys.total() == 1 + 14 + 3);
  }
  SECTION("the PM capability given") {
    auto r = vfio::host::read_power_report(e1000e, vfio::host::capability_presence::present, sys);
    REQUIRE(r);
    CHECK(sys.total() == 1 + 14);
  }
  SECTION("a device behind a root port") {
    auto r = vfio::host::read_power_report(virtio, vfio::host::capability_presence::present, sys);
    REQUIRE(r);
    REQUIRE(r->bridge_count == 1);
    CHECK(sys.reads == 8);
    CHECK(sys.total() == 1 + 14 + 14);
  }
  SECTION("read_attribute: open, one read, close") {
    char text[32];
    auto n = vfio::host::read_attribute("/sys/bus/pci/devices/0000:00:03.0/power/control", text, sizeof text, sys);
    REQUIRE(n);
    CHECK(std::string(text) == "auto");
    CHECK(sys.reads == 1);
    CHECK(sys.total() == 3);
  }
  SECTION("one settle sample: runtime_status and power_state") {
    vfio::host::settle_options opt;
    opt.expect_status = vfio::host::runtime_status::suspended;
    auto s = vfio::host::wait_for_power_settle(e1000e, opt, sys);
    REQUIRE(s);
    CHECK(sys.total() == 6);  // 2 attributes x (open, read, close)
  }
}

// ---------------------------------------------------------------------------
// The cdev path and iommufd, and migration (for reference: the minimum each)

TEST_CASE("counts: the cdev path opens in 9 calls; IOAS map and unmap take one ioctl each", "[counts][iommufd]") {
  sim::kernel_options options = sim::kernel_options::project_kernel();
  options.user_memory = [](std::uint64_t, std::uint64_t, bool) { return 0; };
  simulated_kernel k(options);
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  counting_syscalls sys(k);
  auto ictx = vfio::iommufd::open(vfio::iommufd::default_path, sys);
  REQUIRE(ictx);
  CHECK(sys.total() == 1);  // open("/dev/iommu")
  sys.reset();
  auto bound = vfio::cdev::open_device(e1000e_bdf, *ictx);
  REQUIRE(bound);
  // number_of: open the vfio-dev directory, getdents64 until it returns 0, close it;
  // then open the node and VFIO_DEVICE_BIND_IOMMUFD.
  CHECK(sys.opens == 2);
  CHECK(sys.getdents == 2);
  CHECK(sys.closes == 1);
  CHECK(sys.ioctls == 1);
  CHECK(sys.total() == 6);
  sys.reset();
  auto space = ictx->ioas_alloc();
  REQUIRE(space);
  auto hwpt = vfio::cdev::attach(bound->dev, space->id());
  REQUIRE(hwpt);
  CHECK(sys.total() == 2);  // IOMMU_IOAS_ALLOC, VFIO_DEVICE_ATTACH_IOMMUFD_PT

  const std::size_t size = std::size_t{2} * 4096;
  void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mem != MAP_FAILED);
  sys.reset();
  auto mapped = ictx->map_fixed(space->id(), 0x100000, mem, size);
  CHECK(mapped);
  CHECK(sys.total() == 1);
  sys.reset();
  auto unmapped = ictx->unmap(space->id(), 0x100000, size);
  CHECK(unmapped);
  CHECK(sys.total() == 1);
  ::munmap(mem, size);
}

TEST_CASE("counts: migration: open takes 2 ioctls, a state change one SET per arc", "[counts][migration]") {
  const char* const mtty_bdf = "0000:00:08.0";
  simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::mtty(mtty_bdf, 20)));
  counting_syscalls sys(k);
  opened o = open_through(sys, mtty_bdf);
  sys.reset();
  auto m = vfio::migration::open(o.device);
  REQUIRE(m);
  CHECK(sys.feature_flags ==
        std::vector<std::uint32_t>{GET | abi::feature_id::migration, GET | abi::feature_id::mig_device_state});
  CHECK(sys.total() == 2);
  sys.reset();
  REQUIRE(m->stop_copy_size());
  CHECK(sys.total() == 1);  // GET MIG_DATA_SIZE
  sys.reset();
  REQUIRE(m->set_state(vfio::mig_state::pre_copy));  // RUNNING -> PRE_COPY: the SET returns the data_fd
  CHECK(sys.total() == 1);
  sys.reset();
  REQUIRE(m->precopy_info());
  CHECK(sys.total() == 1);  // VFIO_MIG_GET_PRECOPY_INFO on the data_fd
  sys.reset();
  vfio::mig_transition t;
  REQUIRE(m->set_state(vfio::mig_state::stop_copy, &t));  // PRE_COPY -> PRE_COPY_P2P -> STOP_COPY
  CHECK(t.arcs_done == 2);
  CHECK(sys.total() == 2);
  sys.reset();
  REQUIRE(m->set_state(vfio::mig_state::stop));  // STOP_COPY -> STOP ends the stream
  CHECK(sys.ioctls == 1);
  CHECK(sys.closes == 1);
  CHECK(sys.total() == 2);
}

}  // namespace vfio_unit_test_syscall_counts
