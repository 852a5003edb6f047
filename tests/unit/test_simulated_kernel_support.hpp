// Raw seam helpers for the simulated-kernel tests: every helper issues the
// syscalls a VFIO user makes, with no library layer in between, so the tests
// assert the kernel model's own answers.
#ifndef VFIO_TESTS_UNIT_TEST_SIMULATED_KERNEL_SUPPORT_HPP_INCLUDED
#define VFIO_TESTS_UNIT_TEST_SIMULATED_KERNEL_SUPPORT_HPP_INCLUDED

#include <fcntl.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <vfio/abi/pci.hpp>
#include <vfio/abi/vfio.hpp>
#include <vfio/testing/simulated_kernel.hpp>

namespace sim_test {

namespace abi = vfio::abi;
namespace sim = vfio::testing::sim;
using vfio::testing::simulated_kernel;

constexpr std::int64_t region(std::uint32_t index) { return static_cast<std::int64_t>(index) << 40; }
constexpr std::int64_t cfg = region(abi::pci_region::config);
constexpr std::uint32_t GET = abi::feature_flags::get;
constexpr std::uint32_t SET = abi::feature_flags::set;
constexpr std::uint32_t PROBE = abi::feature_flags::probe;

inline const char* const e1000e_bdf = "0000:00:03.0";
inline const char* const nvme_bdf = "0000:00:05.0";
inline const char* const edu_bdf = "0000:00:06.0";
inline const char* const virtio_bdf = "0000:01:00.0";
inline const char* const port_bdf = "0000:00:04.0";

inline int set_container(simulated_kernel& k, int group, int container) {
  return k.ioctl(group, abi::req::group_set_container, &container);
}
inline int get_device_fd(simulated_kernel& k, int group, const char* name) {
  return k.ioctl(group, abi::req::group_get_device_fd, const_cast<char*>(name));
}
inline int group_flags(simulated_kernel& k, int group) {
  abi::group_status st{sizeof st, 0xffffffff};
  const int r = k.ioctl(group, abi::req::group_get_status, &st);
  return r < 0 ? r : static_cast<int>(st.flags);
}

/// VFIO_DEVICE_FEATURE with a payload.
inline int feature(simulated_kernel& k, int device, std::uint32_t flags, const void* payload = nullptr,
                   std::size_t size = 0) {
  std::vector<unsigned char> buf(sizeof(abi::device_feature) + size);
  const abi::device_feature hdr{static_cast<std::uint32_t>(buf.size()), flags};
  std::memcpy(buf.data(), &hdr, sizeof hdr);
  if (size) std::memcpy(buf.data() + sizeof hdr, payload, size);
  return k.ioctl(device, abi::req::device_feature, buf.data());
}
inline int entry(simulated_kernel& k, int device) { return feature(k, device, SET | abi::feature_id::low_power_entry); }
inline int exit_low_power(simulated_kernel& k, int device) {
  return feature(k, device, SET | abi::feature_id::low_power_exit);
}
inline int entry_with_wakeup(simulated_kernel& k, int device, int efd) {
  const abi::feature_low_power_entry_with_wakeup p{efd, 0};
  return feature(k, device, SET | abi::feature_id::low_power_entry_with_wakeup, &p, sizeof p);
}

inline long cfg_read16(simulated_kernel& k, int device, std::uint16_t at, std::uint16_t& v) {
  return k.pread(device, &v, 2, cfg + at);
}
inline long cfg_write16(simulated_kernel& k, int device, std::uint16_t at, std::uint16_t v) {
  return k.pwrite(device, &v, 2, cfg + at);
}

/// open, read until EOF, close; "" plus the errno in *err on failure.
inline std::string read_sysfs(simulated_kernel& k, const std::string& path, long* err = nullptr) {
  const int fd = k.open(path.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    if (err) *err = fd;
    return "";
  }
  std::string s;
  char buf[64];
  long n;
  while ((n = k.read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<std::size_t>(n));
  k.close(fd);
  if (err) *err = n;
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}
/// open(O_WRONLY), one write, close: the write's result (or open's error).
inline long write_sysfs(simulated_kernel& k, const std::string& path, const std::string& value) {
  const int fd = k.open(path.c_str(), O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0) return fd;
  const long r = k.write(fd, value.data(), value.size());
  k.close(fd);
  return r;
}
inline std::string dev_attr(const std::string& bdf, const std::string& leaf) {
  return "/sys/bus/pci/devices/" + bdf + "/" + leaf;
}
inline std::string read_link(simulated_kernel& k, const std::string& path) {
  char buf[512];
  const long n = k.readlink(path.c_str(), buf, sizeof buf);
  return n < 0 ? "error " + std::to_string(n) : std::string(buf, static_cast<std::size_t>(n));
}

/// A container with the group attached, type1v2 set, and the device open.
struct stack {
  simulated_kernel* k = nullptr;
  int container = -1;
  int group = -1;
  int device = -1;

  stack(simulated_kernel& kernel, unsigned group_id, const char* bdf) : k(&kernel) {
    container = k->open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0);
    group = k->open(("/dev/vfio/" + std::to_string(group_id)).c_str(), O_RDWR | O_CLOEXEC, 0);
    if (container < 0 || group < 0) return;
    if (set_container(*k, group, container) != 0) return;
    if (k->ioctl_value(container, abi::req::set_iommu, abi::extension::type1v2_iommu) != 0) return;
    device = get_device_fd(*k, group, bdf);
  }
  bool ok() const { return container >= 1000 && group >= 1000 && device >= 1000; }
  /// Closes in the usual order: device, group, container.
  void close() {
    if (device >= 0) k->close(device);
    if (group >= 0) k->close(group);
    if (container >= 0) k->close(container);
    device = group = container = -1;
  }
  ~stack() { close(); }
  stack(const stack&) = delete;
  stack& operator=(const stack&) = delete;
};

/// The QEMU machine of the real-kernel harness: e1000e (group 3), a root
/// port with virtio-net behind it (group 7), nvme (group 5), edu (group 6).
inline void add_qemu_machine(simulated_kernel& k, bool d3cold_platform = false) {
  (void)k.add_bridge(sim::profiles::pcie_root_port());
  auto e = sim::profiles::e1000e();
  auto n = sim::profiles::nvme();
  e.power_resources = n.power_resources = d3cold_platform;
  (void)k.add_device(e);
  (void)k.add_device(sim::profiles::virtio_net());
  (void)k.add_device(n);
  (void)k.add_device(sim::profiles::edu());
}

/// Anonymous memory of the test process, page aligned, unmapped at scope exit
/// (unless a test unmapped it itself and set p to MAP_FAILED).
struct pages {
  void* p;
  std::size_t n;
  explicit pages(std::size_t size, int prot = PROT_READ | PROT_WRITE)
      : p(::mmap(nullptr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)), n(size) {}
  ~pages() {
    if (p != MAP_FAILED) ::munmap(p, n);
  }
  pages(const pages&) = delete;
  pages& operator=(const pages&) = delete;
  std::uint64_t va() const { return reinterpret_cast<std::uint64_t>(p); }
};

}  // namespace sim_test

#endif  // VFIO_TESTS_UNIT_TEST_SIMULATED_KERNEL_SUPPORT_HPP_INCLUDED
