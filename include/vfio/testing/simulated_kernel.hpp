// simulated_kernel: a stateful model of VFIO and vfio-pci behind the syscall
// seam, for testing device-assignment code without a device, root or an
// IOMMU. It answers errno for errno like the kernel release it imitates
// (sim::kernel_options), and keeps a virtual clock so that runtime power
// management settles deterministically.
//
// Using it:
//   vfio::testing::simulated_kernel k;              // Linux 6.12, merged low-power ABI
//   k.add_device(vfio::testing::sim::profiles::e1000e());   // 0000:00:03.0, group 3
//   vfio::container c = *vfio::container::open("/dev/vfio/vfio", k);
//   ...                                             // the library, unchanged
//   k.settle();                                     // let pending runtime suspends finish
//   CHECK(k.runtime_status("0000:00:03.0") == "suspended");
//
// The machine is described with sim::device_description / bridge_description
// (sim/device_profile.hpp): the PCI function's config-space image and masks,
// BARs, IOMMU group, bound driver, upstream bridge and the platform's power
// resources (device_description::power_resources, ::acpi_node,
// ::d3cold_allowed). sim::profiles has QEMU's e1000e, nvme, virtio-net (behind
// pcie_root_port) and edu, and a GPU-like function. Devices added with
// driver "vfio-pci" start as after boot: bound, idle and runtime-suspended.
//
// What it models, with the kernel function each rule follows, is in the
// headers under sim/: vfio_files.hpp (container.c, group.c, vfio_main.c),
// vfio_pci_device.hpp (vfio_pci_core.c, vfio_pci_rdwr.c), irqs.hpp
// (vfio_pci_intrs.c), config_space.hpp (vfio_pci_config.c), type1_iommu.hpp
// (vfio_iommu_type1.c), runtime_pm.hpp (drivers/base/power/runtime.c),
// sysfs_files.hpp (pci-sysfs.c, power/sysfs.c, bus.c).
//
// Descriptors are fake numbers from 1000 up: they never reach the real
// kernel, and a real descriptor passed in is -EBADF. mmap returns memory the
// model owns (the BAR's simulated memory; pread/pwrite see the same bytes).
// That pointer never faults: where the kernel would deliver SIGBUS (low
// power engaged, device in D3hot, memory decoding off), mapping_faults()
// says so instead.
//
// Thread-safe: one mutex serializes every call. A blocking read of an empty
// eventfd and poll(2) with a negative timeout wait for another thread; poll
// with a positive timeout advances the virtual clock instead of waiting.
#ifndef VFIO_TESTING_SIMULATED_KERNEL_HPP_INCLUDED
#define VFIO_TESTING_SIMULATED_KERNEL_HPP_INCLUDED

#include <poll.h>
#include <sys/eventfd.h>

#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../result.hpp"
#include "../syscalls.hpp"
#include "sim/descriptors.hpp"
#include "sim/device_profile.hpp"
#include "sim/eventfd.hpp"
#include "sim/fault_injection.hpp"
#include "sim/kernel_state.hpp"
#include "sim/options.hpp"
#include "sim/sysfs_files.hpp"
#include "sim/vfio_files.hpp"

namespace vfio::testing {

class simulated_kernel final : public syscalls {
 public:
  explicit simulated_kernel(sim::kernel_options options = {}) : k_(std::move(options)) {}

  // --- the machine ---------------------------------------------------------

  /// Adds a PCI function. Errors: errc::invalid_bdf (bdf not DDDD:BB:DD.F,
  /// lower-case hex); EEXIST (the address is taken).
  result<void> add_device(const sim::device_description& d) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    const int r = k_.add_function(d);
    if (r == -EINVAL) return error(errc::invalid_bdf, "add_device");
    if (r < 0) return errno_error(-r, "add_device");
    return {};
  }
  /// Adds a bridge (only its sysfs attributes are modelled).
  /// Errors: errc::invalid_bdf; EEXIST.
  result<void> add_bridge(const sim::bridge_description& b) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    const int r = k_.add_bridge(b);
    if (r == -EINVAL) return error(errc::invalid_bdf, "add_bridge");
    if (r < 0) return errno_error(-r, "add_bridge");
    return {};
  }
  const sim::kernel_options& options() const noexcept { return k_.opt; }

  // --- the clock -----------------------------------------------------------

  std::int64_t now_ns() const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    return k_.clock.now();
  }
  /// Moves virtual time forward, completing the runtime suspends due.
  void advance(std::int64_t ns) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    k_.clock.advance(ns);
  }
  /// Moves virtual time to the end of every pending transition.
  void settle() noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    k_.clock.settle();
  }

  // --- inspection ------------------------------------------------------------

  /// power/runtime_status and power_state as sysfs shows them ("" for an
  /// unknown function).
  std::string runtime_status(const std::string& bdf) const noexcept { return attribute(bdf, "power/runtime_status"); }
  std::string power_state(const std::string& bdf) const noexcept { return attribute(bdf, "power_state"); }
  /// vdev->pm_runtime_engaged (the seed: platform_pm_engaged).
  bool low_power_engaged(const std::string& bdf) const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    const sim::sim_function* f = find(bdf);
    return f && f->vfio && f->vfio->low_power_engaged();
  }
  /// The runtime-PM usage count (power/runtime_usage).
  int usage_count(const std::string& bdf) const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    const sim::sim_function* f = find(bdf);
    return f ? f->pm->usage() : -1;
  }
  /// vfio_device->open_count: how many device files hold the device open.
  unsigned open_count(const std::string& bdf) const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    const sim::sim_function* f = find(bdf);
    return f ? f->open_count : 0;
  }
  /// Whether an access to `addr` (inside a mapping made through mmap) would
  /// raise SIGBUS in the real kernel (vfio_pci_mmap_fault). The pointer
  /// itself stays accessible. False for addresses outside any mapping.
  bool mapping_faults(const void* addr) const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    const sim::mapping_record* m = k_.mappings.containing(addr);
    if (!m) return false;
    const sim::sim_function* f = find(m->bdf);
    return !f || !f->vfio || f->vfio->mapping_faults();
  }
  std::size_t open_descriptors() const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    return k_.fds.size();
  }
  std::size_t open_descriptors(sim::descriptor_kind kind) const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    return k_.fds.count(kind);
  }
  std::size_t live_mappings() const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    return k_.mappings.size();
  }
  /// The DMA mappings of the container behind descriptor `container_fd`.
  std::vector<sim::dma_mapping> dma_mappings(int container_fd) const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    const auto& all = k_.fds.all();
    auto it = all.find(container_fd);
    if (it == all.end() || it->second.kind != sim::descriptor_kind::container || !it->second.container->iommu)
      return {};
    return it->second.container->iommu->mappings();
  }
  /// What the ACPI power resources of a function did ("on" / "off"), oldest first.
  std::vector<std::string> firmware_log(const std::string& bdf) const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    const sim::sim_function* f = find(bdf);
    return f ? f->firmware_log : std::vector<std::string>{};
  }
  void clear_firmware_log(const std::string& bdf) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    if (sim::sim_function* f = k_.function(bdf)) f->firmware_log.clear();
  }
  /// Every seam call so far (monotonic_ns and sleep_ns excepted).
  std::vector<sim::call_record> trace() const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    return trace_;
  }
  void clear_trace() noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    trace_.clear();
  }

  // --- the device side ------------------------------------------------------

  /// The device raises interrupt `vector` of `index` (vfio_intx_handler /
  /// vfio_msihandler): true when an eventfd was signalled.
  bool raise_interrupt(const std::string& bdf, std::uint32_t index, std::uint32_t vector) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    sim::sim_function* f = k_.function(bdf);
    const bool r = f && f->vfio && f->vfio->irqs().raise(index, vector);
    cv_.notify_all();
    return r;
  }

  // --- fault injection ------------------------------------------------------

  /// Makes matching calls fail with -rule.error before they reach the model
  /// (an injected close still releases the descriptor, as close(2) does).
  void inject(sim::fault_rule rule) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    faults_.add(std::move(rule));
  }
  void clear_faults() noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    faults_.clear();
  }

  // --- the seam ------------------------------------------------------------------
  // Each member acts on the simulated objects as the syscall does on the
  // real ones (paths: /dev/vfio/vfio, /dev/vfio/N, /sys/...). Errors: the
  // kernel's errno for the object reached (see sim/vfio_files.hpp,
  // sim/vfio_pci_device.hpp, sim/sysfs_files.hpp); EBADF for a descriptor the
  // model did not hand out; ENOENT for any other path; an injected errno when
  // a fault rule matches. Every call is recorded in trace().

  int open(const char* path, int flags, unsigned mode) noexcept override {
    (void)mode;
    std::lock_guard<std::mutex> lock(mu_);
    sim::call_record rec = start(call_kind::open, -1, 0, static_cast<unsigned long>(flags), path);
    long r;
    if (auto e = faults_.check(call_kind::open, -1, 0, path))
      r = inject_result(rec, *e);
    else
      r = do_open(path ? path : "", flags);
    return static_cast<int>(finish(rec, r));
  }
  int close(int fd) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    sim::call_record rec = start(call_kind::close, fd, 0, 0, nullptr);
    const auto e = faults_.check(call_kind::close, fd, 0, nullptr);
    long r = do_close(fd);
    if (e && r == 0) r = inject_result(rec, *e);
    return static_cast<int>(finish(rec, r));
  }
  int ioctl(int fd, unsigned long request, void* arg) noexcept override {
    return do_ioctl(call_kind::ioctl, fd, request, reinterpret_cast<unsigned long>(arg), arg);
  }
  int ioctl_value(int fd, unsigned long request, unsigned long value) noexcept override {
    // The kernel receives an unsigned long either way; pointer-taking
    // requests made through ioctl_value see it as the pointer it is.
    return do_ioctl(call_kind::ioctl_value, fd, request, value,
                    reinterpret_cast<void*>(value));  // NOLINT(performance-no-int-to-ptr)
  }
  long pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept override {
    return io(call_kind::pread, fd, buf, count, offset, false);
  }
  long pwrite(int fd, const void* buf, std::size_t count, std::int64_t offset) noexcept override {
    return io(call_kind::pwrite, fd, const_cast<void*>(buf), count, offset, true);
  }
  long read(int fd, void* buf, std::size_t count) noexcept override {
    return io(call_kind::read, fd, buf, count, -1, false);
  }
  long write(int fd, const void* buf, std::size_t count) noexcept override {
    return io(call_kind::write, fd, const_cast<void*>(buf), count, -1, true);
  }
  int mmap(void** addr, std::size_t length, int prot, int flags, int fd, std::int64_t offset) noexcept override {
    (void)prot;
    std::lock_guard<std::mutex> lock(mu_);
    sim::call_record rec = start(call_kind::mmap, fd, 0, static_cast<unsigned long>(flags), nullptr);
    rec.offset = offset;
    rec.length = length;
    long r;
    if (auto e = faults_.check(call_kind::mmap, fd, 0, nullptr))
      r = inject_result(rec, *e);
    else if (!addr)
      r = -EFAULT;
    else {
      sim::descriptor* d = k_.fds.find(fd);
      if (!d)
        r = -EBADF;
      else if (d->kind != sim::descriptor_kind::device)
        r = -ENODEV;
      else
        r = sim::vfio_files::mmap_device(k_, *d, addr, length, flags, offset);
    }
    return static_cast<int>(finish(rec, r));
  }
  int munmap(void* addr, std::size_t length) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    sim::call_record rec = start(call_kind::munmap, -1, 0, 0, nullptr);
    rec.length = length;
    long r;
    if (auto e = faults_.check(call_kind::munmap, -1, 0, nullptr))
      r = inject_result(rec, *e);
    else
      r = sim::vfio_files::munmap_device(k_, addr, length);
    return static_cast<int>(finish(rec, r));
  }
  int eventfd(unsigned initval, int flags) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    sim::call_record rec = start(call_kind::eventfd, -1, 0, static_cast<unsigned long>(flags), nullptr);
    long r;
    if (auto e = faults_.check(call_kind::eventfd, -1, 0, nullptr))
      r = inject_result(rec, *e);
    else if (!sim::eventfd_counter::valid_flags(flags))
      r = -EINVAL;  // eventfd2
    else {
      sim::descriptor d;
      d.kind = sim::descriptor_kind::eventfd;
      d.eventfd = std::make_shared<sim::eventfd_counter>(initval, flags);
      r = k_.fds.add(std::move(d));
    }
    return static_cast<int>(finish(rec, r));
  }
  long readlink(const char* path, char* buf, std::size_t size) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    sim::call_record rec = start(call_kind::readlink, -1, 0, 0, path);
    long r;
    if (auto e = faults_.check(call_kind::readlink, -1, 0, path))
      r = inject_result(rec, *e);
    else if (!path || !buf)
      r = -EFAULT;
    else if (!size)
      r = -EINVAL;
    else if (std::strncmp(path, "/sys/", 5) == 0)
      r = sim::sysfs_files::readlink(k_, path, buf, size);
    else
      r = -ENOENT;
    return finish(rec, r);
  }
  int poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept override {
    std::unique_lock<std::mutex> lock(mu_);
    sim::call_record rec = start(call_kind::poll, nfds ? fds[0].fd : -1, 0, nfds, nullptr);
    long r;
    if (auto e = faults_.check(call_kind::poll, rec.fd, 0, nullptr)) {
      r = inject_result(rec, *e);
    } else {
      r = ready(fds, nfds);
      if (!r && timeout_ms > 0) {
        k_.clock.advance(static_cast<std::int64_t>(timeout_ms) * 1'000'000);
        r = ready(fds, nfds);
      } else if (!r && timeout_ms < 0) {
        while (!(r = ready(fds, nfds))) cv_.wait(lock);
      }
    }
    return static_cast<int>(finish(rec, r));
  }
  std::int64_t monotonic_ns() noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    return k_.clock.now();
  }
  int sleep_ns(std::int64_t ns) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    k_.clock.advance(ns);
    return 0;
  }

 private:
  const sim::sim_function* find(const std::string& bdf) const { return k_.function(bdf); }
  std::string attribute(const std::string& bdf, const char* leaf) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (!find(bdf) && !k_.bridges.count(bdf)) return "";
    sim::sysfs_ref r;
    r.k = sim::sysfs_ref::kind::device_attr;
    r.bdf = bdf;
    r.attr = leaf;
    std::string s = sim::sysfs_files::show(k_, r);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }

  sim::call_record start(call_kind kind, int fd, unsigned long request, unsigned long value, const char* path) {
    sim::call_record rec;
    rec.kind = kind;
    rec.fd = fd;
    rec.request = request;
    rec.value = value;
    if (path) rec.path = path;
    return rec;
  }
  static long inject_result(sim::call_record& rec, int e) {
    rec.injected = true;
    return -e;
  }
  long finish(sim::call_record& rec, long result) {
    rec.result = result;
    rec.sequence = ++sequence_;
    rec.time_ns = k_.clock.now();
    trace_.push_back(std::move(rec));
    cv_.notify_all();
    return result;
  }

  long do_open(const std::string& path, int flags) {
    if (path == "/dev/vfio/vfio") return (flags & O_DIRECTORY) ? -ENOTDIR : sim::vfio_files::open_container(k_);
    static const std::string group_prefix = "/dev/vfio/";
    if (path.compare(0, group_prefix.size(), group_prefix) == 0) {
      const std::string n = path.substr(group_prefix.size());
      if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos) return -ENOENT;
      if (flags & O_DIRECTORY) return -ENOTDIR;
      return sim::vfio_files::open_group(k_, static_cast<unsigned>(std::strtoul(n.c_str(), nullptr, 10)));
    }
    if (path == "/dev/vfio") return (flags & O_ACCMODE) == O_RDONLY ? -EACCES : -EISDIR;
    if (path.compare(0, 5, "/sys/") == 0 || path == "/sys") return sim::sysfs_files::open(k_, path.c_str(), flags);
    return -ENOENT;
  }

  long do_close(int fd) {
    sim::descriptor* found = k_.fds.find(fd);
    if (!found) return -EBADF;
    sim::descriptor d = *found;
    k_.fds.erase(fd);
    sim::vfio_files::close_vfio_descriptor(k_, d);
    return 0;
  }

  int do_ioctl(call_kind kind, int fd, unsigned long request, unsigned long value, void* arg) {
    std::lock_guard<std::mutex> lock(mu_);
    sim::call_record rec = start(kind, fd, request, value, nullptr);
    long r;
    if (auto e = faults_.check(kind, fd, request, nullptr, kind == call_kind::ioctl ? arg : nullptr)) {
      r = inject_result(rec, *e);
    } else if (sim::descriptor* d = k_.fds.find(fd)) {
      switch (d->kind) {
        case sim::descriptor_kind::container:
          r = sim::vfio_files::container_ioctl(k_, *d->container, request, value, arg);
          break;
        case sim::descriptor_kind::group:
          r = sim::vfio_files::group_ioctl(k_, k_.groups[d->group], request, arg);
          break;
        case sim::descriptor_kind::device: {
          sim::sim_function* f = k_.function(d->device->bdf);
          r = f && f->vfio ? f->vfio->ioctl(request, arg) : -ENODEV;
          break;
        }
        default: r = -ENOTTY;  // no unlocked_ioctl
      }
    } else {
      r = -EBADF;
    }
    return static_cast<int>(finish(rec, r));
  }

  /// pread / pwrite (offset >= 0) and read / write (offset -1: file position).
  long io(call_kind kind, int fd, void* buf, std::size_t count, std::int64_t offset, bool write) {
    std::unique_lock<std::mutex> lock(mu_);
    sim::call_record rec = start(kind, fd, 0, 0, nullptr);
    rec.offset = offset;
    rec.length = count;
    const bool positional = kind == call_kind::pread || kind == call_kind::pwrite;
    long r;
    sim::descriptor* d = nullptr;
    if (auto e = faults_.check(kind, fd, 0, nullptr))
      r = inject_result(rec, *e);
    else if (!(d = k_.fds.find(fd)))
      r = -EBADF;
    else if (positional && offset < 0)
      r = -EINVAL;
    else if (!buf && count)
      r = -EFAULT;
    else {
      switch (d->kind) {
        case sim::descriptor_kind::device: {
          sim::sim_function* f = k_.function(d->device->bdf);
          const std::uint64_t at = positional ? static_cast<std::uint64_t>(offset) : d->device->pos;
          r = f && f->vfio ? f->vfio->rw(at, static_cast<unsigned char*>(buf), count, write) : -ENODEV;
          if (r > 0 && !positional) d->device->pos += static_cast<std::uint64_t>(r);
          break;
        }
        case sim::descriptor_kind::sysfs:
          r = write ? sim::sysfs_files::write(k_, *d->sysfs, buf, count, offset)
                    : sim::sysfs_files::read(k_, *d->sysfs, buf, count, offset);
          break;
        case sim::descriptor_kind::eventfd:
          r = positional ? -ESPIPE : eventfd_io(lock, d->eventfd, buf, count, write);
          break;
        default: r = -EINVAL;  // containers and groups have no read / write
      }
    }
    return finish(rec, r);
  }

  /// eventfd_read / eventfd_write: a blocking descriptor waits for another
  /// thread to make progress possible.
  long eventfd_io(std::unique_lock<std::mutex>& lock, const std::shared_ptr<sim::eventfd_counter>& c, void* buf,
                  std::size_t count, bool write) {
    for (;;) {
      const long r = write ? c->write(buf, count) : c->read(buf, count);
      if (r != 0) return r;
      cv_.wait(lock);
    }
  }

  /// The poll mask of each descriptor: eventfd_poll for eventfds,
  /// DEFAULT_POLLMASK for files without a poll method, POLLNVAL for
  /// descriptors that are not open; negative descriptors are skipped.
  long ready(struct pollfd* fds, std::size_t nfds) {
    long n = 0;
    for (std::size_t i = 0; i < nfds; ++i) {
      fds[i].revents = 0;
      if (fds[i].fd < 0) continue;
      short mask;
      const sim::descriptor* d = k_.fds.find(fds[i].fd);
      if (!d)
        mask = POLLNVAL;
      else if (d->kind == sim::descriptor_kind::eventfd)
        mask = d->eventfd->poll_events();
      else
        mask = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
      fds[i].revents = static_cast<short>(mask & (fds[i].events | POLLERR | POLLHUP | POLLNVAL));
      if (fds[i].revents) ++n;
    }
    return n;
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  sim::kernel_state k_;
  sim::fault_injector faults_;
  std::vector<sim::call_record> trace_;
  std::uint64_t sequence_ = 0;
};

}  // namespace vfio::testing

#endif  // VFIO_TESTING_SIMULATED_KERNEL_HPP_INCLUDED
