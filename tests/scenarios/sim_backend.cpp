// The simulated-kernel backend, used on the host: a simulated_kernel set up
// as the QEMU machine of tests/kernel/boot.sh.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <vfio/cdev.hpp>
#include <vfio/host/pci_address.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include "backends.hpp"

namespace ktest {
namespace {

namespace sim = vfio::testing::sim;

class simulated_backend final : public backend {
 public:
  explicit simulated_backend(sim::kernel_options o) : k_(std::move(o)) {}

  vfio::testing::simulated_kernel& kernel() { return k_; }
  vfio::syscalls& seam() override { return k_; }
  bool mapping_faults(const void* addr) override { return k_.mapping_faults(addr); }
  void firmware_start(const device_under_test& dut) override { k_.clear_firmware_log(dut.bdf); }
  std::string firmware_record(const device_under_test& dut) override {
    std::string words;
    for (const auto& w : k_.firmware_log(dut.bdf)) words += (words.empty() ? "" : " ") + w;
    k_.clear_firmware_log(dut.bdf);
    return words.empty() ? "-" : words;
  }
  bool simulated() const override { return true; }

  long raw_ioctl(int fd, unsigned long request, void* arg) override { return k_.ioctl(fd, request, arg); }
  long raw_ioctl_value(int fd, unsigned long request, unsigned long value) override {
    return k_.ioctl_value(fd, request, value);
  }
  int raw_open(const char* path, int flags) override { return k_.open(path, flags, 0); }
  void raw_close(int fd) override { (void)k_.close(fd); }
  long open_descriptors() override { return static_cast<long>(k_.open_descriptors()); }

  // The model has no edu device: the transfer is done here, translated
  // through the container's type1 mappings, or the IOAS's areas on the cdev
  // path, as the IOMMU would (the whole range inside one mapping with the
  // needed permission; otherwise the access is dropped, and the engine still
  // completes, as QEMU's edu does).
  bool edu_dma(const device_under_test& dut, void*, const dma_space& space, const dma_transfer& t) override {
    auto& buffer = edu_buffers_[dut.bdf];
    if (t.buffer_offset + std::uint64_t{t.size} >= buffer.size()) return false;
    struct window {
      std::uint64_t iova, size, vaddr;
      bool readable, writable;
    };
    std::vector<window> windows;
    // A container that is an iommufd (the compat path) maps into its compat IOAS.
    const std::uint32_t ioas = space.ioas ? space.ioas : k_.compat_ioas(space.fd);
    if (ioas) {
      for (const auto& m : k_.ioas_mappings(space.fd, ioas))
        windows.push_back({m.iova, m.length, m.user_va, m.readable, m.writable});
    } else {
      for (const auto& m : k_.dma_mappings(space.fd))
        windows.push_back({m.iova, m.size, m.vaddr, m.readable, m.writable});
    }
    for (const auto& m : windows) {
      if (t.iova < m.iova || t.iova + t.size > m.iova + m.size) continue;
      if (!(t.to_device ? m.readable : m.writable)) break;
      auto* ram = reinterpret_cast<unsigned char*>(static_cast<std::uintptr_t>(m.vaddr + (t.iova - m.iova)));
      if (t.to_device)
        std::memcpy(buffer.data() + t.buffer_offset, ram, t.size);
      else
        std::memcpy(ram, buffer.data() + t.buffer_offset, t.size);
      break;
    }
    return true;
  }

  // The model has no mdev bus: the mtty devices are PCI functions of the
  // mtty profile on the root bus (their own IOMMU groups, as an mdev's
  // emulated group), bound to vfio-pci, which gives them the next cdev
  // numbers as the guest's vfio_init_device does for the mdevs. They stay
  // until the end of the run (the scenario that makes them runs last).
  std::vector<unsigned> mtty_create(unsigned count, std::string* why) override {
    std::vector<unsigned> numbers;
    for (unsigned i = 0; i < count; ++i) {
      char bdf[16];
      std::snprintf(bdf, sizeof bdf, "0000:00:%02x.0", 0x10 + i);
      if (i >= mtty_added_) {
        if (auto r = k_.add_device(sim::profiles::mtty(bdf, 20 + i, 2)); !r) {
          *why = std::string("add_device mtty ") + bdf + ": " + r.error().message();
          return {};
        }
        mtty_added_ = i + 1;
      }
      auto address = vfio::host::parse_pci_address(bdf);
      auto n = address ? vfio::cdev::number_of(*address, k_) : vfio::result<unsigned>(address.error());
      if (!n) {
        *why = std::string("cdev of ") + bdf + ": " + n.error().message();
        return {};
      }
      numbers.push_back(*n);
    }
    return numbers;
  }
  void mtty_remove() override {}

 private:
  vfio::testing::simulated_kernel k_;
  std::map<std::string, std::array<unsigned char, 4096>> edu_buffers_;
  unsigned mtty_added_ = 0;
};

}  // namespace

std::unique_ptr<backend> make_simulated_backend(const std::string& kernel, const std::string& platform,
                                                const std::vector<device_under_test>& devices, std::string* why) {
  sim::kernel_options o;
  if (kernel == "6.1")
    o.version = sim::kernel_version::v6_1;
  else if (kernel == "6.12")
    o.version = sim::kernel_version::v6_12;
  else if (kernel == "7")
    o.version = sim::kernel_version::v7;
  else if (kernel == "own")
    o = sim::kernel_options::project_kernel();  // 6.12 with IOMMUFD and VFIO_DEVICE_CDEV
  else {
    *why = "unknown kernel tag '" + kernel + "' (6.1, 6.12, 7 or own)";
    return nullptr;
  }
  // Sleeps move the virtual clock without blocking: the scenarios sleep only in
  // single-threaded settle loops (their threads wait in poll, which still blocks),
  // so the virtual times and the calls are those of real-time sleeps.
  o.real_time_sleeps = false;
  // QEMU's intel-iommu offers no snoop control (its "snoop-control" property
  // is off by default), so type1 cannot enforce cache coherency:
  // VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU) is 0 with the IOMMU set.
  o.dma_cache_coherent = false;
  const bool d3cold = platform == "d3cold";
  auto be = std::make_unique<simulated_backend>(o);
  auto& k = be->kernel();
  // tests/kernel/ssdt-d3cold.asl gives _PR0/_PR3 power resources to the
  // functions at 00:03.0 and 00:05.0 (the e1000e and the nvme) only.
  bool have_port = false;
  for (const auto& d : devices) {
    sim::device_description desc;
    if (d.name == "e1000e")
      desc = sim::profiles::e1000e(d.bdf, d.group);
    else if (d.name == "nvme")
      desc = sim::profiles::nvme(d.bdf, d.group);
    else if (d.name == "edu")
      desc = sim::profiles::edu(d.bdf, d.group);
    else if (d.name == "virtio-net") {
      // Behind the pcie-root-port at 00:04.0 (boot.sh: -device pcie-root-port,addr=04.0).
      if (!have_port) {
        if (auto r = k.add_bridge(sim::profiles::pcie_root_port("0000:00:04.0", 2)); !r) {
          *why = "add_bridge 0000:00:04.0: " + r.error().message();
          return nullptr;
        }
        have_port = true;
      }
      desc = sim::profiles::virtio_net(d.bdf, d.group, "0000:00:04.0");
    } else {
      *why = "no simulated profile for device '" + d.name + "'";
      return nullptr;
    }
    if (d3cold && (d.name == "e1000e" || d.name == "nvme")) desc.power_resources = true;
    // The same table gives edu (\_SB.PCI0.S30) _PS0/_PS3 methods: the only
    // power management of a function without a PM capability.
    if (d3cold && d.name == "edu") desc.power_methods = true;
    if (auto r = k.add_device(std::move(desc)); !r) {
      *why = "add_device " + d.name + ": " + r.error().message();
      return nullptr;
    }
  }
  return be;
}

}  // namespace ktest
