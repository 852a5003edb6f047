// host::diagnose against the simulated kernel's host: one test per cause,
// each building the broken host (sim::kernel_options::host, the devices and
// their drivers) and checking the finding, its subject and its fix.
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <vfio/group.hpp>
#include <vfio/host/diagnose.hpp>
#include <vfio/testing/scripted_syscalls.hpp>
#include <vfio/testing/simulated_kernel.hpp>
#include <vfio/testing/tracing_syscalls.hpp>

#include "../catch.hpp"

namespace vfio_unit_test_diagnose {

namespace {

namespace sim = vfio::testing::sim;
using vfio::subject;
using vfio::host::cause;
using vfio::host::diagnose;
using vfio::host::diagnosis;
using vfio::testing::simulated_kernel;

constexpr vfio::host::pci_address e1000e_bdf{0, 0, 3, 0};  // 0000:00:03.0, group 3

std::unique_ptr<simulated_kernel> make_host(sim::kernel_options o = {}) {
  auto k = std::make_unique<simulated_kernel>(std::move(o));
  REQUIRE(k->add_device(sim::profiles::e1000e()));
  return k;
}

diagnosis run(simulated_kernel& k, std::uint64_t dma_bytes = 0) {
  vfio::host::diagnose_options o;
  o.dma_bytes = dma_bytes;
  auto d = diagnose(e1000e_bdf, o, k);
  REQUIRE(d);
  CHECK(k.open_descriptors() == 0);  // every directory and attribute opened was closed
  return *d;
}

std::string causes(const diagnosis& d) {
  std::string s;
  for (const auto& f : d) s += std::string(s.empty() ? "" : " ") + to_string(f.what);
  return s;
}

TEST_CASE("diagnose: a healthy host has no findings", "[diagnose]") {
  auto k_holder = make_host();
  auto& k = *k_holder;
  const auto d = run(k, 1 << 20);
  INFO(causes(d));
  CHECK(d.ok());
  CHECK(d.has_group);
  CHECK(d.group == 3);
  CHECK(std::string(d.driver) == "vfio-pci");
  // ... and the group does open.
  CHECK(vfio::group::open_for_device(e1000e_bdf, k));
}

TEST_CASE("diagnose: vfio not loaded", "[diagnose]") {
  sim::kernel_options o;
  o.host.vfio_loaded = false;
  o.host.vfio_pci_loaded = false;
  auto k_holder = make_host(o);
  auto& k = *k_holder;
  const auto d = run(k);
  INFO(causes(d));
  const auto* f = d.find(cause::vfio_not_loaded);
  REQUIRE(f);
  CHECK(f->about == subject::host(subject::host_object::module_vfio));
  CHECK(std::string(f->fix) == "sudo modprobe vfio-pci");
  CHECK(d.find(cause::vfio_pci_not_loaded));
  // With vfio-pci absent the e1000e stays unbound (the profile asked for vfio-pci).
  CHECK(d.find(cause::device_unbound));
  CHECK(causes(d) == "vfio_not_loaded vfio_pci_not_loaded device_unbound");
}

TEST_CASE("diagnose: vfio-pci not loaded", "[diagnose]") {
  sim::kernel_options o;
  o.host.vfio_pci_loaded = false;
  auto k_holder = make_host(o);
  auto& k = *k_holder;
  const auto d = run(k);
  CHECK(causes(d) == "vfio_pci_not_loaded device_unbound");
  const auto* f = d.find(cause::vfio_pci_not_loaded);
  REQUIRE(f);
  CHECK(f->about.to_string() == "/sys/bus/pci/drivers/vfio-pci");
  CHECK(std::string(f->sentence).find("vfio-pci") != std::string::npos);
}

TEST_CASE("diagnose: IOMMU off", "[diagnose]") {
  sim::kernel_options o;
  o.host.iommu_enabled = false;
  auto k_holder = make_host(o);
  auto& k = *k_holder;
  const auto d = run(k);
  INFO(causes(d));
  // No group at all; vfio-pci refused the device, so it is unbound; no
  // device_without_group on top of iommu_off.
  CHECK(causes(d) == "iommu_off device_unbound");
  CHECK_FALSE(d.has_group);
  const auto* f = d.find(cause::iommu_off);
  REQUIRE(f);
  CHECK(f->about.to_string() == "/sys/kernel/iommu_groups");
  CHECK(std::string(f->fix).find("intel_iommu=on") != std::string::npos);
}

TEST_CASE("diagnose: device absent", "[diagnose]") {
  auto k_holder = make_host();
  auto& k = *k_holder;
  auto d = diagnose(vfio::host::pci_address{0, 0, 0x1f, 0}, {}, k);
  REQUIRE(d);
  CHECK(causes(*d) == "device_absent");
  const auto& f = *d->begin();
  CHECK(f.about == subject::device(vfio::pack_bdf(0, 0, 0x1f, 0)));
  CHECK(std::string(f.sentence) == "No PCI device 0000:00:1f.0 exists (/sys/bus/pci/devices/0000:00:1f.0 is missing).");
}

TEST_CASE("diagnose: device bound to another driver, or to none", "[diagnose]") {
  simulated_kernel k;
  auto e = sim::profiles::e1000e();
  e.driver = "e1000e";
  REQUIRE(k.add_device(e));
  auto d = run(k);
  CHECK(causes(d) == "device_bound_elsewhere");
  const auto* f = d.find(cause::device_bound_elsewhere);
  REQUIRE(f);
  CHECK(std::string(f->driver) == "e1000e");
  CHECK(f->about.to_string() == "/sys/bus/pci/devices/0000:00:03.0/driver");
  CHECK(std::string(f->sentence) == "0000:00:03.0 is bound to e1000e, not vfio-pci.");
  CHECK(std::string(f->fix) ==
        "echo vfio-pci | sudo tee /sys/bus/pci/devices/0000:00:03.0/driver_override; "
        "echo 0000:00:03.0 | sudo tee /sys/bus/pci/devices/0000:00:03.0/driver/unbind; "
        "echo 0000:00:03.0 | sudo tee /sys/bus/pci/drivers_probe");

  // Doing what the fix says (through the library) clears the finding.
  REQUIRE(vfio::host::bind_to_driver(e1000e_bdf, "vfio-pci", k));
  CHECK(run(k).ok());

  simulated_kernel k2;
  e.driver = "";
  REQUIRE(k2.add_device(e));
  CHECK(causes(run(k2)) == "device_unbound");
}

TEST_CASE("diagnose: a sibling bound to a DMA driver makes the group not viable", "[diagnose]") {
  simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::e1000e()));  // group 3, vfio-pci
  auto sibling = sim::profiles::nvme("0000:00:03.1", 3);
  sibling.driver = "nvme";
  REQUIRE(k.add_device(sibling));
  auto stub = sim::profiles::edu("0000:00:03.2", 3);
  stub.driver = "pci-stub";  // driver_managed_dma: keeps the group viable
  REQUIRE(k.add_device(stub));

  const auto d = run(k);
  CHECK(causes(d) == "group_not_viable");
  const auto* f = d.find(cause::group_not_viable);
  REQUIRE(f);
  CHECK(f->about == vfio::host::subject_of(vfio::host::pci_address{0, 0, 3, 1}, subject::attribute::driver));
  CHECK(std::string(f->driver) == "nvme");
  CHECK(std::string(f->sentence).find("0000:00:03.1, in the same IOMMU group 3, is bound to nvme") == 0);
  // The library's open says the same thing in its own words.
  auto g = vfio::group::open_for_device(e1000e_bdf, k);
  REQUIRE_FALSE(g);
  CHECK(g.error() == vfio::errc::group_not_viable);
  CHECK(g.error().message() ==
        "VFIO_GROUP_GET_STATUS (group 3): group not viable (a device is bound to another driver)");
}

TEST_CASE("diagnose: permissions on /dev/vfio/N", "[diagnose]") {
  sim::kernel_options o;
  o.host.uid = 1000;
  o.host.gids = {1000};
  auto k_holder = make_host(o);
  auto& k = *k_holder;
  auto d = run(k);
  CHECK(causes(d) == "group_node_denied");
  const auto* f = d.find(cause::group_node_denied);
  REQUIRE(f);
  CHECK(f->about == subject::group_node(3));
  CHECK(std::string(f->fix) == "sudo chown $(id -u) /dev/vfio/3");
  // The group's open fails the same way.
  auto g = vfio::group::open(3, k);
  REQUIRE_FALSE(g);
  CHECK(g.error().message() == "open /dev/vfio/3: Permission denied");

  // A udev rule giving the node to the user's group: no finding, and it opens.
  sim::kernel_options granted = o;
  granted.host.group_nodes[3] = sim::node_access{0, 1000, 0660};
  auto k2_holder = make_host(granted);
  auto& k2 = *k2_holder;
  CHECK(run(k2).ok());
  CHECK(vfio::group::open(3, k2));
}

TEST_CASE("diagnose: RLIMIT_MEMLOCK below the DMA bytes asked", "[diagnose]") {
  sim::kernel_options o;
  o.host.uid = 1000;
  o.host.gids = {1000};
  o.host.group_nodes[3] = sim::node_access{1000, 1000, 0600};
  o.host.memlock_limit = 8ULL << 20;
  auto k_holder = make_host(o);
  auto& k = *k_holder;
  CHECK(run(k, 8ULL << 20).ok());  // exactly the limit fits
  const auto d = run(k, 1ULL << 30);
  CHECK(causes(d) == "memlock_too_low");
  const auto* f = d.find(cause::memlock_too_low);
  REQUIRE(f);
  CHECK(f->about.to_string() == "RLIMIT_MEMLOCK");
  CHECK(std::string(f->sentence)
            .find("RLIMIT_MEMLOCK is 8388608 bytes (8 MiB), less than the 1073741824 bytes (1 GiB)") == 0);
  CHECK(std::string(f->fix) == "ulimit -l 1048576");
  // Without a DMA size the limit is not looked at.
  CHECK(run(k).ok());
}

TEST_CASE("diagnose: CAP_IPC_LOCK lifts the memlock limit", "[diagnose]") {
  // A scripted host where only the memlock check is interesting: every other
  // check passes, then /proc/self/status shows CapEff with bit 14.
  vfio::testing::scripted_syscalls s;
  using vfio::testing::call_kind;
  s.expect_access("/dev/vfio/vfio").with_value(R_OK | W_OK).returns(0);
  s.expect_access("/sys/bus/pci/drivers/vfio-pci").with_value(F_OK).returns(0);
  s.expect_open("/sys/kernel/iommu_groups").returns(30);
  const char entry[24] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 24, 0, 4, '3', 0, 0, 0, 0};
  s.expect_getdents64(30).fills_bytes(entry, sizeof entry);
  s.expect_getdents64(30).returns(0);
  s.expect_close(30).returns(0);
  s.expect_readlink("/sys/bus/pci/devices/0000:00:03.0").fills_text("../../../devices/pci0000:00/0000:00:03.0");
  s.expect_readlink("/sys/bus/pci/devices/0000:00:03.0/iommu_group").fills_text("../../../kernel/iommu_groups/3");
  s.expect_readlink("/sys/bus/pci/devices/0000:00:03.0/driver").fills_text("../../../bus/pci/drivers/vfio-pci");
  s.expect_open("/sys/kernel/iommu_groups/3/devices").returns(31);
  const char self[32] = {1,  0, 0,  0,   0,   0,   0,   0,   1,   0,   0,   0,   0,   0,   0,   0,
                         32, 0, 10, '0', '0', '0', '0', ':', '0', '0', ':', '0', '3', '.', '0', 0};
  s.expect_getdents64(31).fills_bytes(self, sizeof self);
  s.expect_getdents64(31).returns(0);
  s.expect_close(31).returns(0);
  s.expect_access("/dev/vfio/3").with_value(R_OK | W_OK).returns(0);
  rlimit small{65536, 65536};
  s.expect_getrlimit(RLIMIT_MEMLOCK).fills(small).returns(0);
  s.expect_open("/proc/self/status").returns(32);
  s.expect_read(32).fills_text("Name:\tvmm\nCapEff:\t0000000000004000\n");  // seq_file: whole in one read
  s.expect_close(32).returns(0);
  vfio::host::diagnose_options o;
  o.dma_bytes = 1ULL << 30;
  auto d = diagnose(e1000e_bdf, o, s);
  REQUIRE(d);
  CHECK(d->ok());
  CHECK(s.verify_done());
}

TEST_CASE("diagnose: a seam without the new calls reports what it could not check", "[diagnose]") {
  // The tracer forwards to the simulated kernel; a seam that overrides
  // nothing new answers -ENOSYS, which is a finding, not a crash.
  struct old_seam final : vfio::syscalls {
    explicit old_seam(vfio::syscalls& k) : k_(k) {}
    int open(const char* p, int f, unsigned m) noexcept override { return k_.open(p, f, m); }
    int close(int fd) noexcept override { return k_.close(fd); }
    int ioctl(int fd, unsigned long r, void* a) noexcept override { return k_.ioctl(fd, r, a); }
    int ioctl_value(int fd, unsigned long r, unsigned long v) noexcept override { return k_.ioctl_value(fd, r, v); }
    long pread(int fd, void* b, std::size_t n, std::int64_t o) noexcept override { return k_.pread(fd, b, n, o); }
    long pwrite(int fd, const void* b, std::size_t n, std::int64_t o) noexcept override {
      return k_.pwrite(fd, b, n, o);
    }
    long read(int fd, void* b, std::size_t n) noexcept override { return k_.read(fd, b, n); }
    long write(int fd, const void* b, std::size_t n) noexcept override { return k_.write(fd, b, n); }
    int mmap(void** a, std::size_t l, int p, int f, int fd, std::int64_t o) noexcept override {
      return k_.mmap(a, l, p, f, fd, o);
    }
    int munmap(void* a, std::size_t l) noexcept override { return k_.munmap(a, l); }
    int eventfd(unsigned i, int f) noexcept override { return k_.eventfd(i, f); }
    long readlink(const char* p, char* b, std::size_t n) noexcept override { return k_.readlink(p, b, n); }
    int poll(struct pollfd* f, std::size_t n, int t) noexcept override { return k_.poll(f, n, t); }
    std::int64_t monotonic_ns() noexcept override { return k_.monotonic_ns(); }
    int sleep_ns(std::int64_t ns) noexcept override { return k_.sleep_ns(ns); }
    vfio::syscalls& k_;
  };
  auto k_holder = make_host();
  auto& k = *k_holder;
  old_seam s(k);
  vfio::host::diagnose_options o;
  o.dma_bytes = 1 << 20;
  auto d = diagnose(e1000e_bdf, o, s);
  REQUIRE(d);
  INFO(causes(*d));
  // /dev/vfio/vfio and /dev/vfio/3 (access), the IOMMU groups (getdents64),
  // the group's members, RLIMIT_MEMLOCK: each named; the driver check fell
  // back to open(2) and passed.
  CHECK(causes(*d) == "check_failed check_failed check_failed check_failed check_failed");
  CHECK(std::string(d->begin()->sentence).find("the syscall seam does not offer this call") != std::string::npos);
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("diagnose: the tracer records the checks, sysfs style", "[diagnose]") {
  auto k_holder = make_host();
  auto& k = *k_holder;
  vfio::testing::tracing_syscalls t(k);
  auto d = diagnose(e1000e_bdf, {}, t);
  REQUIRE(d);
  CHECK(d->ok());
  const std::string text = t.text();
  INFO(text);
  CHECK(text.find("access /dev/vfio/vfio RW_OK -> 0") != std::string::npos);
  CHECK(text.find("sysfs /sys/kernel/iommu_groups = 3") != std::string::npos);
  CHECK(text.find("sysfs /sys/kernel/iommu_groups/3/devices = 0000:00:03.0") != std::string::npos);
}

TEST_CASE("diagnose: cause names are stable", "[diagnose]") {
  CHECK(std::string(to_string(cause::vfio_not_loaded)) == "vfio_not_loaded");
  CHECK(std::string(to_string(cause::group_not_viable)) == "group_not_viable");
  CHECK(std::string(to_string(cause::memlock_too_low)) == "memlock_too_low");
  CHECK(std::string(to_string(cause::check_failed)) == "check_failed");
  auto bad = diagnose(e1000e_bdf, vfio::host::diagnose_options{0, nullptr}, vfio::default_syscalls());
  REQUIRE_FALSE(bad);
  CHECK(std::string(bad.error().operation()) == "sysfs path check");
}

}  // namespace

}  // namespace vfio_unit_test_diagnose
