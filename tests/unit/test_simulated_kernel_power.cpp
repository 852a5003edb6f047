// The runtime-PM machine of the simulated vfio-pci device through raw seam
// calls and sysfs: idle suspend, low-power entry and exit in both dialects,
// wake-ups, PM_CTRL D-states, host policies, and the virtual clock.
#include <poll.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "../catch.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_simulated_kernel_power {

namespace {

using namespace sim_test;

constexpr std::int64_t delay = 14'000'000;  // kernel_options::suspend_delay_ns
constexpr std::uint16_t e1000e_pmcsr = 0xc8 + abi::pci::pm_ctrl;

std::uint64_t drain(simulated_kernel& k, int efd) {
  std::uint64_t v = 0;
  return k.read(efd, &v, sizeof v) == 8 ? v : 0;
}

TEST_CASE("simulated power: an unused vfio-pci device idles into its deepest state", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k, true);
  CHECK(k.runtime_status(e1000e_bdf) == "suspended");
  CHECK(k.power_state(e1000e_bdf) == "D3cold");  // power resources and d3cold_allowed
  CHECK(k.power_state(virtio_bdf) == "D3hot");   // none on the device or its port
  CHECK(k.runtime_status(edu_bdf) == "suspended");
  CHECK(k.power_state(edu_bdf) == "D0");  // no PM capability: pci_target_state is D0
  CHECK(k.usage_count(e1000e_bdf) == 0);
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "power/control")) == "auto");  // pm_runtime_allow

  auto off = sim::profiles::nvme();
  off.bdf = "0000:00:07.0";
  off.iommu_group = 8;
  off.power_resources = true;
  off.d3cold_allowed = false;
  REQUIRE(k.add_device(off));
  CHECK(k.power_state("0000:00:07.0") == "D3hot");

  // Opening the device resumes it synchronously (vfio_pci_core_enable).
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  CHECK(k.runtime_status(e1000e_bdf) == "active");
  CHECK(k.power_state(e1000e_bdf) == "D0");
  CHECK(k.usage_count(e1000e_bdf) == 1);
  CHECK(k.firmware_log(e1000e_bdf) == std::vector<std::string>{"on"});
  // The last close lets it idle again.
  s.close();
  CHECK(k.runtime_status(e1000e_bdf) == "suspending");
  k.settle();
  CHECK(k.power_state(e1000e_bdf) == "D3cold");
  CHECK(k.firmware_log(e1000e_bdf) == std::vector<std::string>{"on", "off"});
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated power: LOW_POWER_ENTRY settles after the suspend delay", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  const std::int64_t t0 = k.monotonic_ns();
  CHECK(entry(k, s.device) == 0);
  CHECK(k.low_power_engaged(e1000e_bdf));
  CHECK(k.runtime_status(e1000e_bdf) == "suspending");
  CHECK(k.power_state(e1000e_bdf) == "D0");
  CHECK(k.sleep_ns(delay - 1) == 0);
  CHECK(k.runtime_status(e1000e_bdf) == "suspending");
  k.advance(1);
  CHECK(k.monotonic_ns() == t0 + delay);
  CHECK(k.runtime_status(e1000e_bdf) == "suspended");
  CHECK(k.power_state(e1000e_bdf) == "D3hot");
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "power_state")) == "D3hot");
  CHECK(k.usage_count(e1000e_bdf) == 0);
}

TEST_CASE("simulated power: entry and exit errnos", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  CHECK(exit_low_power(k, s.device) == 0);  // not engaged: still 0
  CHECK(feature(k, s.device, PROBE | SET | abi::feature_id::low_power_entry) == 0);
  CHECK(feature(k, s.device, PROBE | GET | abi::feature_id::low_power_entry) == -EINVAL);
  CHECK(feature(k, s.device, GET | abi::feature_id::low_power_exit) == -EINVAL);
  CHECK(entry_with_wakeup(k, s.device, -1) == -EINVAL);
  CHECK(entry_with_wakeup(k, s.device, 4242) == -EBADF);
  CHECK(entry_with_wakeup(k, s.device, s.group) == -EINVAL);                                   // not an eventfd
  CHECK(feature(k, s.device, SET | abi::feature_id::low_power_entry_with_wakeup) == -EINVAL);  // no payload
  CHECK_FALSE(k.low_power_engaged(e1000e_bdf));
  CHECK(entry(k, s.device) == 0);
  CHECK(entry(k, s.device) == -EINVAL);  // second entry
  const int efd = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  CHECK(entry_with_wakeup(k, s.device, efd) == -EINVAL);
  CHECK(exit_low_power(k, s.device) == 0);
  CHECK(exit_low_power(k, s.device) == 0);
  CHECK_FALSE(k.low_power_engaged(e1000e_bdf));
  k.close(efd);
}

TEST_CASE("simulated power: VFIO_DEVICE_FEATURE framing", "[simulated_kernel]") {
  for (auto version : {sim::kernel_version::v6_12, sim::kernel_version::v7}) {
    sim::kernel_options o;
    o.version = version;
    simulated_kernel k(o);
    add_qemu_machine(k);
    auto nohandler = sim::profiles::edu("0000:00:07.0", 8);
    nohandler.driver_has_feature_op = false;
    REQUIRE(k.add_device(nohandler));
    stack s(k, 3, e1000e_bdf);
    REQUIRE(s.ok());
    CHECK(feature(k, s.device, PROBE | 0x7ff) == -ENOTTY);
    CHECK(feature(k, s.device, PROBE | abi::feature_id::migration) == -ENOTTY);
    CHECK(feature(k, s.device, PROBE | abi::feature_id::pci_vf_token) == -ENOTTY);
    CHECK(feature(k, s.device, PROBE | abi::feature_id::dma_logging_start) == -ENOTTY);
    CHECK(feature(k, s.device, GET | SET | abi::feature_id::low_power_entry) == -EINVAL);
    CHECK(feature(k, s.device, PROBE | GET | SET | abi::feature_id::low_power_entry) == -EINVAL);
    CHECK(feature(k, s.device, (1U << 20) | abi::feature_id::low_power_entry) == -EINVAL);
    CHECK(feature(k, s.device, abi::feature_id::low_power_entry) == -EINVAL);  // neither GET nor SET
    abi::device_feature small{4, SET | abi::feature_id::low_power_entry};
    CHECK(k.ioctl(s.device, abi::req::device_feature, &small) == -EINVAL);
    // DMA_BUF (v6.19): GET only.
    const bool v7 = version == sim::kernel_version::v7;
    CHECK(feature(k, s.device, PROBE | abi::feature_id::dma_buf) == (v7 ? 0 : -ENOTTY));
    CHECK(feature(k, s.device, PROBE | GET | abi::feature_id::dma_buf) == (v7 ? 0 : -ENOTTY));
    CHECK(feature(k, s.device, PROBE | SET | abi::feature_id::dma_buf) == (v7 ? -EINVAL : -ENOTTY));
    stack t(k, 8, "0000:00:07.0");
    REQUIRE(t.ok());
    // A driver without a device_feature op: -EINVAL before v6.18, -ENOTTY since.
    CHECK(feature(k, t.device, PROBE | abi::feature_id::low_power_entry) ==
          (version == sim::kernel_version::v7 ? -ENOTTY : -EINVAL));
  }
}

TEST_CASE("simulated power: accesses while engaged wake the device", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  void* bar = nullptr;
  REQUIRE(k.mmap(&bar, 4096, PROT_READ, MAP_SHARED, s.device, region(0)) == 0);
  CHECK_FALSE(k.mapping_faults(bar));
  REQUIRE(entry(k, s.device) == 0);
  CHECK(k.mapping_faults(bar));  // zapped at entry, SIGBUS while engaged
  k.settle();
  REQUIRE(k.runtime_status(e1000e_bdf) == "suspended");

  // A config read resumes synchronously and succeeds; plain entry lets the
  // device suspend again afterwards.
  const std::int64_t before = k.now_ns();
  std::uint16_t vendor = 0;
  CHECK(cfg_read16(k, s.device, abi::pci::vendor_id, vendor) == 2);
  CHECK(vendor == 0x8086);
  CHECK(k.now_ns() - before == k.options().resume_delay_ns);
  CHECK(k.runtime_status(e1000e_bdf) == "suspending");
  CHECK(k.power_state(e1000e_bdf) == "D0");
  CHECK(k.low_power_engaged(e1000e_bdf));
  k.settle();
  CHECK(k.power_state(e1000e_bdf) == "D3hot");

  // So does any device ioctl, even one vfio-pci does not know.
  abi::irq_info ii{sizeof ii, 0, abi::pci_irq::intx, 0};
  CHECK(k.ioctl(s.device, abi::req::device_get_irq_info, &ii) == 0);
  CHECK(k.runtime_status(e1000e_bdf) == "suspending");
  k.settle();
  CHECK(k.ioctl(s.device, abi::req::device_query_gfx_plane, nullptr) == -ENOTTY);
  CHECK(k.runtime_status(e1000e_bdf) == "suspending");
  k.settle();
  // And a BAR read, which then finds memory enabled and succeeds.
  std::uint32_t v = 0;
  CHECK(k.pread(s.device, &v, 4, region(0)) == 4);
  k.settle();
  // A bad region index fails before the runtime-PM get: no wake.
  CHECK(k.pread(s.device, &v, 4, region(20)) == -EINVAL);
  CHECK(k.runtime_status(e1000e_bdf) == "suspended");
  CHECK(k.mapping_faults(bar));  // until EXIT

  CHECK(exit_low_power(k, s.device) == 0);
  CHECK(k.runtime_status(e1000e_bdf) == "active");
  CHECK(k.power_state(e1000e_bdf) == "D0");
  k.settle();
  CHECK(k.runtime_status(e1000e_bdf) == "active");  // the open descriptor holds it
  CHECK_FALSE(k.mapping_faults(bar));
  CHECK(k.munmap(bar, 4096) == 0);
}

TEST_CASE("simulated power: the wake-up eventfd fires on the first wake and ends low power", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k, true);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  const int efd = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  REQUIRE(entry_with_wakeup(k, s.device, efd) == 0);
  k.settle();
  CHECK(k.power_state(e1000e_bdf) == "D3cold");
  pollfd p{efd, POLLIN, 0};
  CHECK(k.poll(&p, 1, 0) == 0);
  k.clear_firmware_log(e1000e_bdf);
  std::uint16_t vendor = 0;
  CHECK(cfg_read16(k, s.device, abi::pci::vendor_id, vendor) == 2);
  CHECK(k.poll(&p, 1, 0) == 1);
  CHECK(p.revents == POLLIN);
  CHECK(drain(k, efd) == 1);
  CHECK_FALSE(k.low_power_engaged(e1000e_bdf));
  k.settle();
  CHECK(k.runtime_status(e1000e_bdf) == "active");  // no re-entry after a wake-up
  CHECK(k.power_state(e1000e_bdf) == "D0");
  CHECK(k.firmware_log(e1000e_bdf) == std::vector<std::string>{"on"});
  CHECK(exit_low_power(k, s.device) == 0);  // optional, and 0
  CHECK(drain(k, efd) == 0);                // no second notification
  k.close(efd);
}

TEST_CASE("simulated power: EXIT while the suspend is in progress waits for it and notifies", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  const int efd = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  REQUIRE(entry_with_wakeup(k, s.device, efd) == 0);
  CHECK(k.runtime_status(e1000e_bdf) == "suspending");
  // rpm_resume waits for the suspend under way, then resumes: the eventfd fires.
  CHECK(exit_low_power(k, s.device) == 0);
  CHECK(drain(k, efd) == 1);
  CHECK(k.runtime_status(e1000e_bdf) == "active");
  k.close(efd);
}

TEST_CASE("simulated power: closing while engaged ends low power, then the device idles", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  const int efd = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  REQUIRE(entry_with_wakeup(k, s.device, efd) == 0);
  k.settle();
  CHECK(k.close(s.device) == 0);
  s.device = -1;
  CHECK_FALSE(k.low_power_engaged(e1000e_bdf));
  CHECK(drain(k, efd) == 0);  // vfio_pci_core_disable drops the eventfd before resuming
  CHECK(k.runtime_status(e1000e_bdf) == "suspending");
  k.settle();
  CHECK(k.runtime_status(e1000e_bdf) == "suspended");
  CHECK(k.usage_count(e1000e_bdf) == 0);
  k.close(efd);
}

TEST_CASE("simulated power: PM_CTRL D-states; BAR access refused in D3hot", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  void* bar = nullptr;
  REQUIRE(k.mmap(&bar, 4096, PROT_READ, MAP_SHARED, s.device, region(0)) == 0);
  std::uint16_t pmcsr = 0;
  REQUIRE(cfg_read16(k, s.device, e1000e_pmcsr, pmcsr) == 2);
  const std::int64_t before = k.now_ns();
  CHECK(cfg_write16(k, s.device, e1000e_pmcsr, static_cast<std::uint16_t>(pmcsr | 3)) == 2);
  CHECK(k.now_ns() - before == k.options().d3hot_delay_ns);  // pci_dev_d3_sleep
  CHECK(cfg_read16(k, s.device, e1000e_pmcsr, pmcsr) == 2);
  CHECK((pmcsr & 3) == 3);
  CHECK(k.power_state(e1000e_bdf) == "D3hot");
  CHECK(k.runtime_status(e1000e_bdf) == "active");  // the descriptor holds a reference
  std::uint32_t v = 0;
  CHECK(k.pread(s.device, &v, 4, region(0)) == -EIO);  // __vfio_pci_memory_enabled
  CHECK(k.pwrite(s.device, &v, 4, region(0)) == -EIO);
  CHECK(k.pread(s.device, &v, 4, region(2)) == 4);  // I/O BARs are not tested
  CHECK(k.mapping_faults(bar));
  // D1 is not in e1000e's PMC: pci_set_power_state refuses, nothing changes.
  CHECK(cfg_write16(k, s.device, e1000e_pmcsr, static_cast<std::uint16_t>((pmcsr & ~3) | 1)) == 2);
  CHECK(k.power_state(e1000e_bdf) == "D3hot");
  CHECK(cfg_write16(k, s.device, e1000e_pmcsr, static_cast<std::uint16_t>(pmcsr & ~3)) == 2);
  CHECK(k.power_state(e1000e_bdf) == "D0");
  CHECK(k.pread(s.device, &v, 4, region(0)) == 4);
  CHECK_FALSE(k.mapping_faults(bar));

  // Entry from D3hot: runtime suspend returns the device to D0 first, the
  // PCI core then picks the runtime target.
  CHECK(cfg_write16(k, s.device, e1000e_pmcsr, static_cast<std::uint16_t>(pmcsr | 3)) == 2);
  CHECK(entry(k, s.device) == 0);
  CHECK(k.power_state(e1000e_bdf) == "D0");
  k.settle();
  CHECK(k.power_state(e1000e_bdf) == "D3hot");
  CHECK(exit_low_power(k, s.device) == 0);
  CHECK(k.power_state(e1000e_bdf) == "D0");

  // Memory decoding off in the virtual COMMAND register refuses BAR access too.
  std::uint16_t cmd = 0;
  REQUIRE(cfg_read16(k, s.device, abi::pci::command, cmd) == 2);
  CHECK(cfg_write16(k, s.device, abi::pci::command, cmd & ~abi::pci::command_bits::memory) == 2);
  CHECK(k.pread(s.device, &v, 4, region(0)) == -EIO);
  CHECK(k.mapping_faults(bar));
  CHECK(k.munmap(bar, 4096) == 0);
}

TEST_CASE("simulated power: a device without a PM capability stays in D0", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 6, edu_bdf);
  REQUIRE(s.ok());
  CHECK(entry(k, s.device) == 0);
  k.settle();
  CHECK(k.runtime_status(edu_bdf) == "suspended");
  CHECK(k.power_state(edu_bdf) == "D0");
  const std::int64_t before = k.now_ns();
  CHECK(exit_low_power(k, s.device) == 0);
  CHECK(k.now_ns() == before);  // nothing to power up
  CHECK(k.runtime_status(edu_bdf) == "active");
}

TEST_CASE("simulated power: power/control=on and d3cold_allowed=0", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k, true);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  CHECK(write_sysfs(k, dev_attr(e1000e_bdf, "power/control"), "on") == 2);
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "power/control")) == "on");
  CHECK(entry(k, s.device) == 0);
  k.settle();
  CHECK(k.runtime_status(e1000e_bdf) == "active");
  CHECK(k.power_state(e1000e_bdf) == "D0");
  CHECK(write_sysfs(k, dev_attr(e1000e_bdf, "power/control"), "auto\n") == 5);  // pm_runtime_allow
  k.settle();
  CHECK(k.power_state(e1000e_bdf) == "D3cold");
  CHECK(exit_low_power(k, s.device) == 0);

  CHECK(write_sysfs(k, dev_attr(e1000e_bdf, "d3cold_allowed"), "0") == 1);
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "d3cold_allowed")) == "0");
  CHECK(entry(k, s.device) == 0);
  k.settle();
  CHECK(k.power_state(e1000e_bdf) == "D3hot");
  // The store resumes the device (pm_runtime_resume); unused, it idles again
  // under the new policy.
  k.clear_firmware_log(e1000e_bdf);
  CHECK(write_sysfs(k, dev_attr(e1000e_bdf, "d3cold_allowed"), "1") == 1);
  CHECK(k.power_state(e1000e_bdf) == "D0");
  k.settle();
  CHECK(k.power_state(e1000e_bdf) == "D3cold");
  CHECK(k.firmware_log(e1000e_bdf) == std::vector<std::string>{"off"});
  CHECK(write_sysfs(k, dev_attr(e1000e_bdf, "power/control"), "maybe") == -EINVAL);
  CHECK(write_sysfs(k, dev_attr(e1000e_bdf, "d3cold_allowed"), "yes") == -EINVAL);
}

TEST_CASE("simulated power: reading sysfs config resumes a D3cold device", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k, true);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  const int efd = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  REQUIRE(entry_with_wakeup(k, s.device, efd) == 0);
  k.settle();
  REQUIRE(k.power_state(e1000e_bdf) == "D3cold");
  const int fd = k.open(dev_attr(e1000e_bdf, "config").c_str(), O_RDONLY | O_CLOEXEC, 0);
  REQUIRE(fd >= 1000);
  std::uint32_t ids = 0;
  CHECK(k.pread(fd, &ids, 4, 0) == 4);  // pci_config_pm_runtime_get
  CHECK(ids == 0x10d38086);
  CHECK(drain(k, efd) == 1);
  CHECK(k.close(fd) == 0);
  k.close(efd);
}

TEST_CASE("simulated power: the seed's POWER_MANAGEMENT feature", "[simulated_kernel]") {
  sim::kernel_options o;
  o.dialect = sim::low_power_dialect::seed;
  simulated_kernel k(o);
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  const std::uint32_t pm = abi::seed::feature_id::power_management;
  abi::seed::feature_power_management state{0xff};
  CHECK(feature(k, s.device, PROBE | GET | SET | pm) == 0);
  CHECK(feature(k, s.device, PROBE | abi::feature_id::low_power_exit) == -ENOTTY);
  std::vector<unsigned char> buf(16);
  const abi::device_feature get{16, GET | pm};
  std::memcpy(buf.data(), &get, sizeof get);
  CHECK(k.ioctl(s.device, abi::req::device_feature, buf.data()) == 0);
  std::memcpy(&state, buf.data() + 8, 8);
  CHECK(state.low_power_state == abi::seed::low_power_state_exit);

  const abi::seed::feature_power_management enter{abi::seed::low_power_state_enter};
  const abi::seed::feature_power_management leave{abi::seed::low_power_state_exit};
  CHECK(feature(k, s.device, SET | pm, &enter, 8) == -EINVAL);  // not in D3hot
  CHECK(feature(k, s.device, SET | pm, &leave, 8) == -EINVAL);  // not engaged
  std::uint16_t pmcsr = 0;
  REQUIRE(cfg_read16(k, s.device, e1000e_pmcsr, pmcsr) == 2);
  REQUIRE(cfg_write16(k, s.device, e1000e_pmcsr, static_cast<std::uint16_t>(pmcsr | 3)) == 2);
  CHECK(feature(k, s.device, SET | pm, &enter, 8) == 0);
  CHECK(feature(k, s.device, SET | pm, &enter, 8) == -EINVAL);
  k.settle();
  CHECK(k.runtime_status(e1000e_bdf) == "suspended");
  CHECK(k.power_state(e1000e_bdf) == "D3hot");
  std::memcpy(buf.data(), &get, sizeof get);
  CHECK(k.ioctl(s.device, abi::req::device_feature, buf.data()) == 0);
  std::memcpy(&state, buf.data() + 8, 8);
  CHECK(state.low_power_state == abi::seed::low_power_state_enter);
  k.settle();
  std::uint32_t v = 0;
  CHECK(k.pread(s.device, &v, 4, region(0)) == -EIO);  // power_state_d3 holds until EXIT
  CHECK(feature(k, s.device, SET | pm, &leave, 8) == 0);
  CHECK(k.runtime_status(e1000e_bdf) == "active");
  CHECK(k.power_state(e1000e_bdf) == "D0");
  CHECK(k.pread(s.device, &v, 4, region(0)) == 4);
  const abi::seed::feature_power_management bogus{7};
  CHECK(feature(k, s.device, SET | pm, &bogus, 8) == -EINVAL);

  sim::kernel_options positive = o;
  positive.seed_positive_einval = true;
  simulated_kernel k2(positive);
  add_qemu_machine(k2);
  stack s2(k2, 3, e1000e_bdf);
  CHECK(feature(k2, s2.device, SET | pm, &enter, 8) == EINVAL);  // the patch's `ret = EINVAL;`
}

TEST_CASE("simulated power: poll timeouts and sleeps advance the virtual clock", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  REQUIRE(entry(k, s.device) == 0);
  const int efd = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  pollfd p[2] = {{efd, POLLIN, 0}, {4242, POLLIN, 0}};
  const std::int64_t t0 = k.monotonic_ns();
  CHECK(k.poll(p, 1, 20) == 0);
  CHECK(k.monotonic_ns() == t0 + 20'000'000);
  CHECK(k.runtime_status(e1000e_bdf) == "suspended");  // the suspend came due meanwhile
  CHECK(k.poll(p, 2, 5) == 1);
  CHECK(p[1].revents == POLLNVAL);
  p[1].fd = -1;
  CHECK(k.poll(p, 2, 0) == 0);
  k.close(efd);
}

}  // namespace

}  // namespace vfio_unit_test_simulated_kernel_power
