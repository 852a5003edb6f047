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
// sysfs_files.hpp (pci-sysfs.c, power/sysfs.c, bus.c), iommufd.hpp
// (drivers/iommu/iommufd/: /dev/iommu) with the device cdevs in vfio_files.hpp
// (device_cdev.c). Those two exist only with kernel_options::iommufd and
// ::device_cdev (off by default, as in Debian's kernels;
// kernel_options::project_kernel() turns them on). The host around it
// (modules loaded, IOMMU on, the caller's permissions on /dev/vfio/N,
// RLIMIT_MEMLOCK) is sim::kernel_options::host (sim/host_environment.hpp).
//
// Descriptors are fake numbers from 1000 up: they never reach the real
// kernel, and a real descriptor passed in is -EBADF. mmap returns memory the
// model owns (the BAR's simulated memory; pread/pwrite see the same bytes).
// That pointer never faults: where the kernel would deliver SIGBUS (low
// power engaged, device in D3hot, memory decoding off), mapping_faults()
// says so instead.
//
// Thread-safe: one mutex serializes every call, and threads interact as on
// the kernel. A blocking read of an empty eventfd and poll(2) with a negative
// timeout wait for another thread. poll(2) with a positive timeout and
// sleep_ns block in real time, releasing the lock, until a descriptor is
// ready (any other thread's call wakes them) or the timeout passes; the
// virtual clock then advances by the real time waited, or exactly to the
// deadline when the timeout expired, and follows real time for the other
// threads while someone waits. A zero timeout never blocks. A single thread
// therefore sees the same virtual times as before but really waits: keep
// test timeouts and sleeps small (milliseconds). No thread detection is
// attempted: a helper thread may not have made its first call yet.
//
// MAP_DMA checks the memory as the kernel's pinning does: an unmapped page
// or a write mapping of read-only memory fails with EFAULT
// (sim::kernel_options::user_memory; by default /proc/self/maps of the test
// process, plus the model's own mmaps judged by their prot and fault state).
//
// Compiling the model once: by default the model is inline, as the rest of
// the library, and every translation unit that uses it compiles it (several
// seconds each). A test suite of many files can instead define
// VFIO_TESTING_SEPARATE_COMPILATION for all of its files (a compile
// definition) and include <vfio/testing/simulated_kernel_impl.hpp> in exactly
// one of them: this header then declares simulated_kernel only, and that file
// holds the model. Mixing the two ways in one program is an ODR violation.
#ifndef VFIO_TESTING_SIMULATED_KERNEL_HPP_INCLUDED
#define VFIO_TESTING_SIMULATED_KERNEL_HPP_INCLUDED

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../detail/owned.hpp"
#include "../error.hpp"
#include "../result.hpp"
#include "../syscalls.hpp"
#include "call_kind.hpp"
#include "sim/device_profile.hpp"
#include "sim/fault_injection.hpp"
#include "sim/inspection.hpp"
#include "sim/options.hpp"

// Inline in the header-only way; out of line, in one file, with
// VFIO_TESTING_SEPARATE_COMPILATION (the members declared inline here keep the
// class without a key function, so that no file emits its vtable and with it
// the whole model unless it constructs a simulated_kernel). The definitions in
// simulated_kernel_impl.hpp use it too, and that header undefines it; with
// separate compilation it stays defined (empty) where only this one is included.
#if defined(VFIO_TESTING_SEPARATE_COMPILATION)
#define VFIO_TESTING_DECL
#else
#define VFIO_TESTING_DECL inline
#endif

namespace vfio::testing {

class simulated_kernel final : public syscalls {
 public:
  /// A machine with no devices (add_device, add_bridge), Linux 6.12 by default.
  /// The model is one heap allocation, made here: when it fails, std::bad_alloc
  /// (with -fno-exceptions the program ends), as a test fixture may.
  VFIO_TESTING_DECL simulated_kernel();
  VFIO_TESTING_DECL explicit simulated_kernel(sim::kernel_options options);
  VFIO_TESTING_DECL ~simulated_kernel() override;
  simulated_kernel(const simulated_kernel&) = delete;
  simulated_kernel& operator=(const simulated_kernel&) = delete;

  // --- the machine ---------------------------------------------------------

  /// Adds a PCI function. Errors: errc::invalid_bdf (bdf not DDDD:BB:DD.F,
  /// lower-case hex); EEXIST (the address is taken).
  VFIO_TESTING_DECL result<void> add_device(const sim::device_description& d) noexcept;
  /// Adds a bridge (only its sysfs attributes are modelled).
  /// Errors: errc::invalid_bdf; EEXIST.
  VFIO_TESTING_DECL result<void> add_bridge(const sim::bridge_description& b) noexcept;
  VFIO_TESTING_DECL const sim::kernel_options& options() const noexcept;

  // --- the clock -----------------------------------------------------------

  VFIO_TESTING_DECL std::int64_t now_ns() const noexcept;
  /// Moves virtual time forward, completing the runtime suspends due.
  VFIO_TESTING_DECL void advance(std::int64_t ns) noexcept;
  /// Moves virtual time to the end of every pending transition.
  VFIO_TESTING_DECL void settle() noexcept;

  // --- inspection ------------------------------------------------------------

  /// power/runtime_status and power_state as sysfs shows them ("" for an
  /// unknown function).
  VFIO_TESTING_DECL std::string runtime_status(const std::string& bdf) const noexcept;
  VFIO_TESTING_DECL std::string power_state(const std::string& bdf) const noexcept;
  /// vdev->pm_runtime_engaged (the seed: platform_pm_engaged).
  VFIO_TESTING_DECL bool low_power_engaged(const std::string& bdf) const noexcept;
  /// The runtime-PM usage count (power/runtime_usage).
  VFIO_TESTING_DECL int usage_count(const std::string& bdf) const noexcept;
  /// vfio_device->open_count: how many device files hold the device open.
  VFIO_TESTING_DECL unsigned open_count(const std::string& bdf) const noexcept;
  /// Whether an access to `addr` (inside a mapping made through mmap) would
  /// raise SIGBUS in the real kernel (vfio_pci_mmap_fault). The pointer
  /// itself stays accessible. False for addresses outside any mapping.
  VFIO_TESTING_DECL bool mapping_faults(const void* addr) const noexcept;
  VFIO_TESTING_DECL std::size_t open_descriptors() const noexcept;
  VFIO_TESTING_DECL std::size_t open_descriptors(sim::descriptor_kind kind) const noexcept;
  VFIO_TESTING_DECL std::size_t live_mappings() const noexcept;
  /// The DMA mappings of the container behind descriptor `container_fd`.
  VFIO_TESTING_DECL std::vector<sim::dma_mapping> dma_mappings(int container_fd) const noexcept;
  /// The areas of IOAS `ioas_id` of the iommufd behind descriptor `iommufd_fd`
  /// (empty for anything else).
  VFIO_TESTING_DECL std::vector<sim::ioas_mapping> ioas_mappings(int iommufd_fd, std::uint32_t ioas_id) const noexcept;
  /// The compatibility IOAS of the iommufd behind descriptor `iommufd_fd` (the
  /// IOAS its VFIO container ioctls map into; IOMMU_VFIO_IOAS_GET without the
  /// syscall), 0 when there is none or the descriptor is not an iommufd.
  VFIO_TESTING_DECL std::uint32_t compat_ioas(int iommufd_fd) const noexcept;
  /// The iommufd objects (IOAS, HWPT, devices) behind descriptor `iommufd_fd`.
  VFIO_TESTING_DECL std::size_t iommufd_objects(int iommufd_fd) const noexcept;
  /// The HWPT a cdev-bound function is attached to (0: none, or not bound).
  VFIO_TESTING_DECL std::uint32_t attached_hwpt(const std::string& bdf) const noexcept;
  /// Whether a DMA of the function at [iova, iova + length) would get through
  /// its IOMMU: the device is open, and for a cdev-bound one attached to an
  /// IOAS whose areas cover the range with the access (a write marks the pages
  /// dirty for a tracking HWPT); for a group-opened one the container's type1
  /// mappings cover it. Nothing is read or written.
  VFIO_TESTING_DECL bool device_dma(const std::string& bdf, std::uint64_t iova, std::uint64_t length,
                                    bool write) noexcept;
  /// What the ACPI power resources of a function did ("on" / "off"), oldest first.
  VFIO_TESTING_DECL std::vector<std::string> firmware_log(const std::string& bdf) const noexcept;
  VFIO_TESTING_DECL void clear_firmware_log(const std::string& bdf) noexcept;
  /// The seam calls so far (monotonic_ns and sleep_ns excepted), oldest
  /// first: the last kernel_options::trace_capacity of them (65536 by
  /// default). A record's `sequence` counts every call, dropped or not.
  VFIO_TESTING_DECL std::vector<sim::call_record> trace() const noexcept;
  /// How many records trace() no longer holds because of trace_capacity
  /// since the construction or the last clear_trace().
  VFIO_TESTING_DECL std::uint64_t trace_dropped() const noexcept;
  /// Empties the trace and zeroes trace_dropped().
  VFIO_TESTING_DECL void clear_trace() noexcept;

  // --- the device side ------------------------------------------------------

  /// The device raises interrupt `vector` of `index` (vfio_intx_handler /
  /// vfio_msihandler): true when an eventfd was signalled.
  VFIO_TESTING_DECL bool raise_interrupt(const std::string& bdf, std::uint32_t index, std::uint32_t vector) noexcept;

  /// The kernel asks the user to release the device (vfio_pci_core_request, on
  /// unbind): true when a REQ eventfd was signalled.
  VFIO_TESTING_DECL bool request_release(const std::string& bdf) noexcept;
  /// AER reports an error (vfio_pci_core_aer_err_detected): true when an ERR
  /// eventfd was signalled.
  VFIO_TESTING_DECL bool report_error(const std::string& bdf) noexcept;
  /// The VFIO_DEVICE_IOEVENTFD registrations the device holds (vdev->ioeventfds_nr).
  VFIO_TESTING_DECL std::size_t ioeventfd_count(const std::string& bdf) const noexcept;

  /// The migration state of a device with a migration driver (abi::mig_device_state),
  /// or -1 (no such device, not bound to vfio-pci, no migration driver).
  VFIO_TESTING_DECL long migration_state(const std::string& bdf) const noexcept;
  /// The device DMA-writes [iova, iova + length): its DMA log (when started)
  /// records the pages. True when the log recorded some.
  VFIO_TESTING_DECL bool device_dma_write(const std::string& bdf, std::uint64_t iova, std::uint64_t length) noexcept;

  // --- fault injection ------------------------------------------------------

  /// Makes matching calls fail with -rule.error before they reach the model
  /// (an injected close still releases the descriptor, as close(2) does).
  VFIO_TESTING_DECL void inject(sim::fault_rule rule) noexcept;
  VFIO_TESTING_DECL void clear_faults() noexcept;

  // --- the seam ------------------------------------------------------------------
  // Each member acts on the simulated objects as the syscall does on the
  // real ones (paths: /dev/vfio/vfio, /dev/vfio/N, /sys/...). Errors: the
  // kernel's errno for the object reached (see sim/vfio_files.hpp,
  // sim/vfio_pci_device.hpp, sim/sysfs_files.hpp); EBADF for a descriptor the
  // model did not hand out; ENOENT for any other path; an injected errno when
  // a fault rule matches. Every call is recorded in trace() (the most recent
  // kernel_options::trace_capacity calls are kept).

  VFIO_TESTING_DECL int open(const char* path, int flags, unsigned mode) noexcept override;
  VFIO_TESTING_DECL int close(int fd) noexcept override;
  VFIO_TESTING_DECL int ioctl(int fd, unsigned long request, void* arg) noexcept override;
  VFIO_TESTING_DECL int ioctl_value(int fd, unsigned long request, unsigned long value) noexcept override;
  VFIO_TESTING_DECL long pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept override;
  VFIO_TESTING_DECL long pwrite(int fd, const void* buf, std::size_t count, std::int64_t offset) noexcept override;
  VFIO_TESTING_DECL long read(int fd, void* buf, std::size_t count) noexcept override;
  VFIO_TESTING_DECL long write(int fd, const void* buf, std::size_t count) noexcept override;
  VFIO_TESTING_DECL int mmap(void** addr, std::size_t length, int prot, int flags, int fd,
                             std::int64_t offset) noexcept override;
  VFIO_TESTING_DECL int munmap(void* addr, std::size_t length) noexcept override;
  VFIO_TESTING_DECL int eventfd(unsigned initval, int flags) noexcept override;
  VFIO_TESTING_DECL long readlink(const char* path, char* buf, std::size_t size) noexcept override;
  VFIO_TESTING_DECL int poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept override;
  VFIO_TESTING_DECL int access(const char* path, int mode) noexcept override;
  VFIO_TESTING_DECL long getdents64(int fd, void* buf, std::size_t size) noexcept override;
  VFIO_TESTING_DECL int getrlimit(int resource, struct rlimit* limit) noexcept override;
  VFIO_TESTING_DECL std::int64_t monotonic_ns() noexcept override;
  /// nanosleep: blocks `ns` of real time without the lock, then the virtual
  /// clock reads exactly `ns` later than when the sleep began (or later, if
  /// another thread moved it meanwhile). With kernel_options::real_time_sleeps
  /// off, moves the virtual clock `ns` ahead without blocking.
  VFIO_TESTING_DECL int sleep_ns(std::int64_t ns) noexcept override;

 private:
  struct state;  // the model: <vfio/testing/simulated_kernel_impl.hpp>
  detail::owned<state> s_;
};

}  // namespace vfio::testing

#if !defined(VFIO_TESTING_SEPARATE_COMPILATION)
#include "simulated_kernel_impl.hpp"
#endif

#endif  // VFIO_TESTING_SIMULATED_KERNEL_HPP_INCLUDED
