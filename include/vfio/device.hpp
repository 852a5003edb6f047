// vfio::device: the owner of one VFIO device descriptor. Device and region info,
// region read/write and mmap, IRQ eventfds, reset and PCI hot reset, and what the
// library knows about whether the device's BAR mappings are safe to touch.
//
// Mapping safety. The kernel makes a BAR mapping fault with SIGBUS while
// vfio_pci_mmap_fault (drivers/vfio/pci/vfio_pci_core.c) finds low power engaged
// (vdev->pm_runtime_engaged) or memory disabled (__vfio_pci_memory_enabled: PowerState
// >= D3hot, or MEMORY clear in the virtual COMMAND register). The device tracks each
// cause from everything that reaches it:
// - every write of the config region that covers COMMAND's low byte (the MEMORY bit
//   written is the one the kernel keeps in vconfig: vfio_basic_config_write);
// - every write that covers PMCSR's low byte (vfio_pm_config_write acts on the chunk
//   at cap + 4, which every covering write produces, since vfio_pci_config_rw splits
//   accesses into naturally aligned chunks): PowerState D3hot is assumed at once (the
//   kernel zaps the mappings before changing state), then PMCSR is read back (one
//   2-byte pread) and the state read is recorded;
// - every read that covers COMMAND or PMCSR (both read back the values above);
// - VFIO_DEVICE_RESET and VFIO_DEVICE_PCI_HOT_RESET (the kernel sets D0 first:
//   vfio_pci_ioctl_reset, vfio_pci_dev_set_hot_reset);
// - low-power entry, exit and observed wake-ups (vfio::pci::power).
// Where the library cannot know (the kernel's runtime suspend may have undone a
// PM_CTRL D3hot while low power was engaged: vfio_pci_core_runtime_suspend sets D0
// first), it says "unknown" until PMCSR is read again (refresh_mapping_state()), and
// mappings_accessible() is false: never "safe" when it may not be.
#ifndef VFIO_DEVICE_HPP_INCLUDED
#define VFIO_DEVICE_HPP_INCLUDED

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/mman.h>

#include "abi/vfio.hpp"
#include "detail/info_buffer.hpp"
#include "detail/owned.hpp"
#include "error.hpp"
#include "heap_array.hpp"
#include "irq.hpp"
#include "pci/config_snapshot.hpp"
#include "region.hpp"
#include "result.hpp"
#include "span.hpp"
#include "syscalls.hpp"
#include "unique_fd.hpp"

namespace vfio {

namespace pci {
class power;
}

/// The fixed part of a VFIO_DEVICE_GET_INFO reply.
struct device_info {
  std::uint32_t flags = 0;        ///< abi::device_flags
  std::uint32_t num_regions = 0;  ///< valid region indexes are [0, num_regions)
  std::uint32_t num_irqs = 0;     ///< valid IRQ indexes are [0, num_irqs)

  /// VFIO_DEVICE_RESET is supported.
  bool can_reset() const noexcept { return (flags & abi::device_flags::reset) != 0; }
  /// A vfio-pci device: the abi::pci_region and abi::pci_irq indexes apply.
  bool is_pci() const noexcept { return (flags & abi::device_flags::pci) != 0; }
};

/// A VFIO_DEVICE_GET_PCI_HOT_RESET_INFO reply: the devices a hot reset of this device's
/// slot or bus also resets. Each is identified by its IOMMU group (or, with
/// abi::hot_reset_flags::dev_id on cdev-opened devices, by devid) and its PCI address.
struct hot_reset_info {
  std::uint32_t flags = 0;  ///< abi::hot_reset_flags
  heap_array<abi::pci_dependent_device> devices;
};

/// The most descriptors one VFIO_DEVICE_PCI_HOT_RESET call of the library carries (its
/// argument lives on the stack). The kernel itself accepts at most one per device in the
/// affected slot or bus (vfio_pci_ioctl_pci_hot_reset in drivers/vfio/pci/vfio_pci_core.c).
inline constexpr std::size_t max_hot_reset_fds = 1024;

namespace detail {
/// The argsz of the first GET_REGION_INFO, on the stack: the 32-byte header and 224
/// bytes of capabilities. vfio-pci reports at most MSIX_MAPPABLE (8), a TYPE (16) and,
/// from variant drivers, a SPARSE_MMAP (16 + 16 per area): up to 12 areas fit.
inline constexpr std::uint32_t region_info_stack_size = 256;
/// GET_REGION_INFO calls made before giving up on an argsz that keeps growing.
inline constexpr int max_region_info_attempts = 4;
/// GET_PCI_HOT_RESET_INFO calls made before giving up on a set that keeps growing.
inline constexpr int max_hot_reset_info_attempts = 4;
/// Dependent devices the library accepts in one hot-reset info reply.
inline constexpr std::uint32_t max_hot_reset_devices =
    (max_info_argsz - sizeof(abi::pci_hot_reset_info)) / sizeof(abi::pci_dependent_device);

/// Whether region bytes [offset, offset + size) lie inside the region and their
/// device-fd offset, r.offset + offset, and end fit in off_t; sets `at` when they do.
inline bool region_file_offset(const region_info& r, std::uint64_t offset, std::size_t size,
                               std::int64_t& at) noexcept {
  constexpr auto max_off = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  // contains() bounds offset + size by r.size, so only the sum with r.offset can overflow.
  std::uint64_t end;
  if (!r.contains(offset, size) || __builtin_add_overflow(r.offset, offset + size, &end) || end > max_off) return false;
  at = static_cast<std::int64_t>(r.offset + offset);
  return true;
}
}  // namespace detail

/// Why touching a BAR mapping of the device would fault, as far as the library knows
/// (device::mapping_state()). A value type; no bit set means accessible.
class mapping_state {
 public:
  static constexpr std::uint8_t d3hot_bit = 1;            ///< PMCSR PowerState is D3hot
  static constexpr std::uint8_t memory_disabled_bit = 2;  ///< COMMAND.MEMORY is clear
  static constexpr std::uint8_t low_power_bit = 4;        ///< low power engaged (entry seen, exit or wake-up not yet)
  static constexpr std::uint8_t unknown_bit = 8;          ///< PMCSR may have changed unseen: read it again

  constexpr mapping_state() noexcept = default;
  constexpr explicit mapping_state(std::uint8_t bits) noexcept : bits_(bits) {}

  /// Touching a mapping is safe: no cause is known and nothing is unknown.
  constexpr bool accessible() const noexcept { return bits_ == 0; }
  constexpr bool d3hot() const noexcept { return (bits_ & d3hot_bit) != 0; }
  constexpr bool memory_disabled() const noexcept { return (bits_ & memory_disabled_bit) != 0; }
  constexpr bool low_power() const noexcept { return (bits_ & low_power_bit) != 0; }
  constexpr bool unknown() const noexcept { return (bits_ & unknown_bit) != 0; }
  constexpr std::uint8_t bits() const noexcept { return bits_; }

 private:
  std::uint8_t bits_ = 0;
};

/// "accessible", or the causes joined by '+': "D3hot", "memory-disabled", "low-power", "unknown".
/// Writes into a static table entry: no allocation.
inline const char* to_string(mapping_state s) noexcept {
  static constexpr const char* names[16] = {"accessible",
                                            "D3hot",
                                            "memory-disabled",
                                            "D3hot+memory-disabled",
                                            "low-power",
                                            "D3hot+low-power",
                                            "memory-disabled+low-power",
                                            "D3hot+memory-disabled+low-power",
                                            "unknown",
                                            "D3hot+unknown",
                                            "memory-disabled+unknown",
                                            "D3hot+memory-disabled+unknown",
                                            "low-power+unknown",
                                            "D3hot+low-power+unknown",
                                            "memory-disabled+low-power+unknown",
                                            "D3hot+memory-disabled+low-power+unknown"};
  return names[s.bits() & 15];
}

/// Where a device's PCI power management capability is (device::pm_capability_location()).
struct pm_location {
  std::uint16_t offset = 0;  ///< config offset of the capability header; 0: the device has none
  std::uint16_t pmc = 0;     ///< PMC (cap + 2) as read by the lookup
  std::uint16_t pmcsr = 0;   ///< PMCSR (cap + 4) as last read or read back
};

class device;

namespace detail {

/// The base of objects that act on a device (vfio::pci::config, vfio::pci::power):
/// it registers with the device, which keeps it pointed at itself across moves (a
/// device moved into a vector, out of a function, or reallocated with the vector
/// keeps every view working) and detaches it when destroyed or move-assigned over
/// (the view then fails every call with EBADF instead of dangling). Registration is
/// an intrusive list: no allocation. Views of one device are created and destroyed
/// on one thread at a time (see device's threading notes).
struct config_access;

class device_view {
 public:
  device_view(const device_view& o) noexcept;
  device_view& operator=(const device_view& o) noexcept;
  /// A move is a copy: both objects view the device (a view owns nothing).
  device_view(device_view&& o) noexcept { attach(o.dev_); }
  device_view& operator=(device_view&& o) noexcept { return *this = static_cast<const device_view&>(o); }
  ~device_view();

 protected:
  explicit device_view(device& d) noexcept;
  /// The device viewed, or an empty device (every call EBADF) once it is gone.
  device& viewed() const noexcept;

 private:
  friend class vfio::device;
  void attach(device* d) noexcept;
  void detach() noexcept;

  device* dev_ = nullptr;
  device_view* prev_ = nullptr;
  device_view* next_ = nullptr;
};

}  // namespace detail

/// An open VFIO device: the descriptor from VFIO_GROUP_GET_DEVICE_FD (or a cdev open).
/// Move-only; closes the descriptor through its seam on destruction.
///
/// Device info and region info are read once and cached (neither changes while the
/// descriptor is open).
///
/// Threading: a device and its views (pci::config, pci::power) are used from one
/// thread at a time, with two exceptions that need no lock:
/// - mappings_accessible() and mapping_state() may be read from any thread at any time
///   (a vCPU thread deciding whether to touch a BAR): the state is one atomic byte;
/// - one thread may block in pci::power::wait_for_wakeup() (or poll the wake-up eventfd
///   itself) while one other thread reads and writes the device (config space, region
///   read/write, ioctls), provided the config region's info is cached first (any
///   config access, or region(abi::pci_region::config), does that) and no view is
///   created or destroyed during the wait.
class device {
 public:
  /// An empty device: every call fails with EBADF without a syscall.
  device() noexcept = default;
  /// Adopts `fd` (closed through fd.sys(); group::open_device uses this). `name` is the
  /// device name it was opened by, e.g. "0000:03:00.0"; it is informational only. Names
  /// up to inline_name_size bytes (a PCI address, an mdev UUID) are kept inside the
  /// object; a longer one in a nothrow allocation (should that fail, name() is empty).
  explicit device(unique_fd fd, std::string_view name = {}) noexcept : fd_(std::move(fd)) { set_name(name); }

  /// Moves the descriptor, the caches, the mapping state and every view: views of `o`
  /// act on this device from now on; `o` is left empty.
  device(device&& o) noexcept { take(o); }
  /// Views of this device are detached (they fail with EBADF from now on) and the
  /// descriptor closed; then as the move constructor.
  device& operator=(device&& o) noexcept {
    if (this != &o) {
      detach_views();
      take(o);
    }
    return *this;
  }
  device(const device&) = delete;
  device& operator=(const device&) = delete;
  /// Closes the descriptor; views of the device fail with EBADF from now on.
  ~device() { detach_views(); }

  /// The descriptor, or -1.
  int fd() const noexcept { return fd_.get(); }
  /// The seam every call of this device goes through.
  syscalls& sys() const noexcept { return fd_.sys(); }
  /// The name given at construction.
  std::string_view name() const noexcept { return {name_heap_ ? name_heap_.get() : name_inline_, name_size_}; }
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }

  /// close(2)s the descriptor now, reporting failure, and forgets cached info. Mappings
  /// made earlier stay valid until destroyed (a mapping holds its own reference to the
  /// device file in the kernel).
  /// Errors: close errno (EIO).
  /// mapping_state() is kept: a live mapping holds the device file open, so the kernel
  /// keeps the state it had (vfio_pci_core_close_device runs only at the last release).
  result<void> close() noexcept {
    info_cached_ = false;
    regions_.reset();
    config_info_ = nullptr;
    config_read_end_ = config_write_end_ = 0;
    pm_ = pm_lookup::unknown;
    low_power_dialect_ = 0;
    return fd_.close();
  }

  /// VFIO_DEVICE_GET_INFO. Cached after the first success.
  /// Passes argsz = 24 (the v6.6 layout). The kernel needs only 16 (through num_irqs)
  /// and fills cap_offset once argsz >= 20 (vfio_pci_ioctl_get_info in
  /// drivers/vfio/pci/vfio_pci_core.c), so a 6.1 kernel, which writes back the 20-byte
  /// layout, and later ones, which write 24, both work: only the first 16 bytes are read.
  /// Device capabilities (zPCI on s390) are not parsed, so a raised argsz is not chased.
  /// Errors: EBADF (empty device), EINVAL, EFAULT, EIO (runtime resume failed).
  result<device_info> info() noexcept {
    constexpr const char* op = "VFIO_DEVICE_GET_INFO";
    if (info_cached_) return info_;
    if (!fd_) return errno_error(EBADF, op);
    abi::device_info arg{};
    arg.argsz = sizeof arg;
    const int r = sys().ioctl(fd_.get(), abi::req::device_get_info, &arg);
    if (r < 0) return errno_error(-r, op);
    info_ = device_info{arg.flags, arg.num_regions, arg.num_irqs};
    info_cached_ = true;
    return info_;
  }

  /// VFIO_DEVICE_GET_REGION_INFO for `index`, capabilities parsed; cached per index
  /// after the first read (the pointer stays valid for the device's lifetime, also
  /// across moves, until close()). Calls info() first if needed.
  /// The first call passes argsz = 256 from a stack buffer
  /// (detail::region_info_stack_size), enough for the capabilities vfio-pci reports: one
  /// ioctl. When the capabilities do not fit, the kernel still succeeds, sets CAPS,
  /// leaves cap_offset 0 and raises argsz to the size needed
  /// (vfio_pci_ioctl_get_region_info in drivers/vfio/pci/vfio_pci_core.c; capabilities
  /// are appended by vfio_info_cap_add in drivers/vfio/vfio_main.c), so the call is
  /// repeated with that argsz in a heap buffer, bounded by detail::max_info_argsz.
  /// Errors: errc::index_out_of_range (index >= num_regions, no ioctl made);
  /// errc::argsz_too_large; errc::malformed_capability_chain; EINVAL (e.g. the VGA
  /// region on a device without VGA), EBADF, EFAULT, ENOMEM, EIO; errors of info().
  result<const region_info*> region(std::uint32_t index) noexcept {
    // The config region is the hot path (PM_CTRL, COMMAND): no list walk, no call.
    if (index == abi::pci_region::config && config_info_) return config_info_;
    return find_or_fetch_region(index);
  }

  /// pread(2) of region bytes [offset, offset + size) into buf, repeated until all are
  /// read: a region's read handler may return fewer bytes than asked (vfio_pci_bar_rw
  /// in drivers/vfio/pci/vfio_pci_rdwr.c stops at the end of the BAR; vendor drivers'
  /// regions may stop anywhere). size 0 succeeds without a syscall once the checks pass.
  /// Preconditions: buf holds size bytes.
  /// Errors: errc::invalid_argument (region lacks the READ flag); errc::out_of_bounds;
  /// errc::short_transfer (a pread returned 0); pread errno: EIO (memory decode off, or
  /// the device is in D3hot), EINVAL, EFAULT; errors of region(). Inside the MSI-X vector
  /// table vfio-pci never touches the hardware (vfio_pci_bar_rw passes it as the excluded
  /// range of vfio_pci_core_do_io_rw): reads there return all-ones, even in D3hot.
  result<void> read(std::uint32_t region_index, std::uint64_t offset, void* buf, std::size_t size) noexcept {
    auto ri = region(region_index);
    if (!ri) return ri.error();
    if (!(*ri)->readable()) return region_check_error(errc::invalid_argument, "region flags check", region_index);
    std::int64_t at;
    if (!detail::region_file_offset(**ri, offset, size, at))
      return region_check_error(errc::out_of_bounds, "region bounds check", region_index);
    auto* p = static_cast<unsigned char*>(buf);
    const long n = size != 0 ? sys().pread(fd_.get(), p, size, at) : 0;
    if (static_cast<std::size_t>(n) != size)
      if (auto r = finish_transfer(false, p, size, at, n); !r) return r;
    if (is_config(region_index)) note_config_read(offset, p, size);
    return {};
  }

  /// pwrite(2) of buf to region bytes [offset, offset + size), repeated until all are
  /// written. size 0 succeeds without a syscall once the checks pass.
  /// Preconditions: buf holds size bytes.
  /// Errors: errc::invalid_argument (region lacks the WRITE flag); errc::out_of_bounds;
  /// errc::short_transfer (a pwrite returned 0); pwrite errno: EIO (memory decode off, or
  /// the device is in D3hot; not inside the MSI-X vector table, where vfio-pci drops
  /// writes, see read()), EINVAL, EFAULT; errors of region().
  /// Config region of a PCI device: the mapping state is updated (see the top of this
  /// header). A write reaching the capability area [0x40, 0x100) before the PM
  /// capability is known looks it up first (pm_capability_location(): one 256-byte
  /// pread, once per open); a write covering PMCSR is followed by one 2-byte pread that
  /// reads PowerState back. Neither extra read changes this call's result.
  result<void> write(std::uint32_t region_index, std::uint64_t offset, const void* buf, std::size_t size) noexcept {
    auto ri = region(region_index);
    if (!ri) return ri.error();
    if (!(*ri)->writable()) return region_check_error(errc::invalid_argument, "region flags check", region_index);
    std::int64_t at;
    if (!detail::region_file_offset(**ri, offset, size, at))
      return region_check_error(errc::out_of_bounds, "region bounds check", region_index);
    const auto* p = static_cast<const unsigned char*>(buf);
    const long n = size != 0 ? sys().pwrite(fd_.get(), p, size, at) : 0;
    result<void> r;
    if (static_cast<std::size_t>(n) != size) r = finish_transfer(true, const_cast<unsigned char*>(p), size, at, n);
    // A failed or partial write may still have reached the kernel: track what could have.
    if (is_config(region_index)) note_config_write(offset, p, size, r.has_value());
    return r;
  }

  /// mmap(2)s a region (MAP_SHARED, `prot`): the whole region, or each sparse area when
  /// the region has a SPARSE_MMAP capability. On failure every piece already mapped is
  /// unmapped. See region_mapping::map for the syscalls made.
  /// Errors: errc::not_mappable (no MMAP flag, or nothing to map); errc::out_of_bounds;
  /// mmap errno (EINVAL, ENOMEM, EPERM); errors of region().
  result<region_mapping> map(std::uint32_t region_index, int prot = PROT_READ | PROT_WRITE) noexcept {
    auto ri = region(region_index);
    if (!ri) return ri.error();
    if (!(*ri)->mappable()) return error(errc::not_mappable, "region flags check", subject::region(region_index));
    return region_mapping::map(sys(), fd_.get(), **ri, prot);
  }

  /// True only when touching a region_mapping of this device is known to be safe; false
  /// while it would fault with SIGBUS (D3hot, memory decode off, low power engaged) or
  /// while the library cannot know (see the top of this header). Safe to call from any
  /// thread. No syscall.
  bool mappings_accessible() const noexcept { return mapping_state().accessible(); }
  /// The causes behind mappings_accessible(). Safe to call from any thread. No syscall.
  vfio::mapping_state mapping_state() const noexcept {
    return vfio::mapping_state(blockers_.load(std::memory_order_acquire));
  }

  /// Reads PMCSR again (one 2-byte pread of the config region; on first use the PM
  /// capability lookup's 256-byte pread instead, which holds it) and records it,
  /// clearing "unknown". COMMAND needs no refresh:
  /// only writes through this device change its MEMORY bit, and they are tracked. Low
  /// power stays as the library last saw it: the kernel offers no way to read it.
  /// Errors: errc::invalid_argument (not a PCI device); errors of read() and
  /// pm_capability_location().
  result<vfio::mapping_state> refresh_mapping_state() noexcept {
    const bool looked_up = pm_ == pm_lookup::unknown;
    auto pm = pm_capability_location();
    if (!pm) return pm.error();
    if (pm->offset == 0) {  // no PM capability: PM_CTRL cannot hold D3hot
      update_blockers(mapping_state::unknown_bit | mapping_state::d3hot_bit, 0);
      return mapping_state();
    }
    if (looked_up) return mapping_state();  // the lookup just read and recorded PMCSR
    std::uint8_t b[2];
    if (auto r = read(abi::pci_region::config, pm->offset + std::uint64_t{pmcsr_offset}, b, 2); !r) return r.error();
    return mapping_state();
  }

  /// The PCI power management capability: found once by one pread of the first 256
  /// bytes of config space (the standard capability list lies there; PM is never an
  /// extended capability) and cached until close(). offset 0: the device has none.
  /// Errors: errc::invalid_argument (not a PCI device: no info flag PCI);
  /// errc::malformed_capability_chain; errors of read() and region().
  result<pm_location> pm_capability_location() noexcept {
    if (pm_ != pm_lookup::unknown) return pm_at_;
    return look_up_pm_capability();
  }

  /// VFIO_DEVICE_GET_IRQ_INFO for `index` (argsz 16). Calls info() first if needed.
  /// Errors: errc::index_out_of_range (index >= num_irqs, no ioctl made); EINVAL (e.g.
  /// the ERR index on a conventional PCI device: vfio_pci_ioctl_get_irq_info), EBADF,
  /// EFAULT, EIO; errors of info().
  result<irq_info> irq(std::uint32_t index) noexcept {
    constexpr const char* op = "VFIO_DEVICE_GET_IRQ_INFO";
    auto di = info();
    if (!di) return di.error();
    if (index >= di->num_irqs) return error(errc::index_out_of_range, "IRQ index check", subject::irq(index));
    abi::irq_info arg{};
    arg.argsz = sizeof arg;
    arg.index = index;
    const int r = sys().ioctl(fd_.get(), abi::req::device_get_irq_info, &arg);
    if (r < 0) return errno_error(-r, op, subject::irq(index));
    return irq_info{index, arg.flags, arg.count};
  }

  /// VFIO_DEVICE_SET_IRQS with DATA_EVENTFD | ACTION_TRIGGER: vectors [start, start + n)
  /// of `index` signal eventfds[0..n). A -1 entry de-assigns that vector. One ioctl,
  /// argsz 20 + 4n, argument built on the stack. For MSI/MSI-X the first call enables
  /// the index with n vectors; disable_irq() turns it off. The kernel copies exactly
  /// 4n data bytes (vfio_pci_ioctl_set_irqs in drivers/vfio/pci/vfio_pci_core.c).
  /// Errors: errc::too_many_descriptors (n > max_irq_eventfds); errc::invalid_argument
  /// (n == 0: use disable_irq); EINVAL (start + n beyond the vector count, or another
  /// index is enabled: vfio_set_irqs_validate_and_prepare in drivers/vfio/vfio_main.c),
  /// EBADF (an entry is not an open descriptor), EFAULT, ENOMEM, EIO.
  result<void> set_irq_eventfds(std::uint32_t index, std::uint32_t start, span<const int> eventfds) noexcept {
    constexpr const char* op = "VFIO_DEVICE_SET_IRQS";
    if (eventfds.size() > max_irq_eventfds)
      return error(errc::too_many_descriptors, "eventfd count check", subject::irq(index));
    if (eventfds.empty()) return error(errc::invalid_argument, "eventfd count check", subject::irq(index));
    if (!fd_) return errno_error(EBADF, op);
    detail::irq_set_buffer<max_irq_eventfds * sizeof(std::int32_t)> buf;
    detail::build_irq_eventfds(buf, abi::irq_set_flags::action_trigger, index, start, eventfds);
    const int r = sys().ioctl(fd_.get(), abi::req::device_set_irqs, buf.arg());
    if (r < 0) return errno_error(-r, op, subject::irq(index));
    return {};
  }

  /// VFIO_DEVICE_SET_IRQS with DATA_EVENTFD | ACTION_UNMASK, count 1: writing to
  /// `eventfd` unmasks vector `start` (the resample eventfd of a level-triggered INTx);
  /// -1 de-assigns it. argsz 24.
  /// Errors: EINVAL (index not maskable), EBADF, EFAULT, EIO.
  result<void> set_irq_unmask_eventfd(std::uint32_t index, std::uint32_t start, int eventfd) noexcept {
    constexpr const char* op = "VFIO_DEVICE_SET_IRQS";
    if (!fd_) return errno_error(EBADF, op);
    const int one[1] = {eventfd};
    detail::irq_set_buffer<sizeof(std::int32_t)> buf;
    detail::build_irq_eventfds(buf, abi::irq_set_flags::action_unmask, index, start, span<const int>(one, 1));
    const int r = sys().ioctl(fd_.get(), abi::req::device_set_irqs, buf.arg());
    if (r < 0) return errno_error(-r, op, subject::irq(index));
    return {};
  }

  /// VFIO_DEVICE_SET_IRQS with DATA_NONE | ACTION_TRIGGER: fires vectors
  /// [start, start + count) of `index` from software (loopback test). argsz 20.
  /// Errors: EINVAL (range beyond the vector count, or the index not enabled), EBADF, EIO.
  result<void> trigger_irq(std::uint32_t index, std::uint32_t start, std::uint32_t count) noexcept {
    return set_irqs_none(abi::irq_set_flags::action_trigger, index, start, count);
  }
  /// VFIO_DEVICE_SET_IRQS with DATA_NONE | ACTION_MASK for [start, start + count). argsz 20.
  /// Errors: EINVAL (index not maskable: vfio-pci masks INTx only), EBADF, EIO.
  result<void> mask_irq(std::uint32_t index, std::uint32_t start, std::uint32_t count) noexcept {
    return set_irqs_none(abi::irq_set_flags::action_mask, index, start, count);
  }
  /// VFIO_DEVICE_SET_IRQS with DATA_NONE | ACTION_UNMASK for [start, start + count). argsz 20.
  /// Errors: EINVAL (index not maskable), EBADF, EIO.
  result<void> unmask_irq(std::uint32_t index, std::uint32_t start, std::uint32_t count) noexcept {
    return set_irqs_none(abi::irq_set_flags::action_unmask, index, start, count);
  }
  /// VFIO_DEVICE_SET_IRQS with DATA_NONE | ACTION_TRIGGER, start 0, count 0: disables
  /// every vector of `index` and releases its eventfds. argsz 20.
  /// Errors: EINVAL (the index has no vectors), EBADF, EIO.
  result<void> disable_irq(std::uint32_t index) noexcept {
    return set_irqs_none(abi::irq_set_flags::action_trigger, index, 0, 0);
  }

  /// VFIO_DEVICE_RESET (no argument): a function-level reset of this device alone. The
  /// kernel returns the device to D0 first (vfio_pci_ioctl_reset in
  /// drivers/vfio/pci/vfio_pci_core.c); region info and mappings stay valid.
  /// Errors: EINVAL (no reset method: device_info::can_reset() is false), EAGAIN (a
  /// device lock is contended; retry), EBADF, EIO, ENOTTY (a slot/bus reset is needed).
  /// Afterwards mapping_state() no longer says D3hot (the kernel set D0); on failure a
  /// D3hot becomes "unknown" (the kernel sets D0 before it tries the reset).
  result<void> reset() noexcept {
    constexpr const char* op = "VFIO_DEVICE_RESET";
    if (!fd_) return errno_error(EBADF, op);
    const int r = sys().ioctl(fd_.get(), abi::req::device_reset, nullptr);
    note_reset(r == 0);
    if (r < 0) return errno_error(-r, op);
    return {};
  }

  /// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: the devices a hot reset would affect. The first
  /// call passes the bare 12-byte header; the kernel answers -ENOSPC with `count` filled
  /// in (vfio_pci_ioctl_get_pci_hot_reset_info in drivers/vfio/pci/vfio_pci_core.c), and
  /// the call is repeated with room for that many entries. Devices can appear between
  /// the calls (a further -ENOSPC with the new count) or while the kernel fills the list
  /// (-EAGAIN from vfio_pci_fill_devs); both are retried, at most
  /// detail::max_hot_reset_info_attempts calls in all.
  /// Errors: ENOSPC or EAGAIN (the set kept changing); ENODEV (neither slot nor bus reset
  /// possible); EPERM (a device of the set has no IOMMU group); EBADF; EFAULT; ENOMEM;
  /// errc::argsz_too_large (more than detail::max_hot_reset_devices devices);
  /// errc::out_of_bounds (the reply counts more entries than the buffer held).
  result<hot_reset_info> pci_hot_reset_info() noexcept {
    constexpr const char* op = "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO";
    if (!fd_) return errno_error(EBADF, op);
    abi::pci_hot_reset_info hdr{};
    hdr.argsz = sizeof hdr;
    int r = sys().ioctl(fd_.get(), abi::req::device_get_pci_hot_reset_info, &hdr);
    std::uint32_t capacity = 0;
    detail::info_buffer buf;
    for (int attempt = 1; (r == -ENOSPC || r == -EAGAIN) && attempt < detail::max_hot_reset_info_attempts; ++attempt) {
      if (r == -ENOSPC) {
        if (hdr.count > detail::max_hot_reset_devices) return error(errc::argsz_too_large, op);
        capacity = hdr.count;
      }  // -EAGAIN: a device appeared while the kernel filled the list; ask again
      const auto argsz =
          static_cast<std::uint32_t>(sizeof hdr + std::size_t{capacity} * sizeof(abi::pci_dependent_device));
      if (!buf.allocate(argsz)) return errno_error(ENOMEM, op);
      abi::pci_hot_reset_info grown{};
      grown.argsz = argsz;
      std::memcpy(buf.data(), &grown, sizeof grown);
      r = sys().ioctl(fd_.get(), abi::req::device_get_pci_hot_reset_info, buf.data());
      std::memcpy(&hdr, buf.data(), sizeof hdr);
    }
    if (r < 0) return errno_error(-r, op);
    if (hdr.count > capacity) return error(errc::out_of_bounds, op);
    hot_reset_info out;
    out.flags = hdr.flags;
    if (!out.devices.allocate(hdr.count)) return errno_error(ENOMEM, op);
    for (std::uint32_t i = 0; i < hdr.count; ++i)
      std::memcpy(&out.devices[i], buf.data() + sizeof hdr + std::size_t{i} * sizeof(abi::pci_dependent_device),
                  sizeof(abi::pci_dependent_device));
    return out;
  }

  /// VFIO_DEVICE_PCI_HOT_RESET: resets the slot or bus, proving ownership of every
  /// affected device with `group_fds` (the VFIO group descriptors of the set, as
  /// pci_hot_reset_info() lists them). flags 0; argsz 12 + 4n; argument built on the
  /// stack. An empty list is valid for a device opened through its cdev (v6.6+), where
  /// the kernel checks ownership through the bound iommufd instead.
  /// Errors: errc::too_many_descriptors (n > max_hot_reset_fds); EINVAL (more fds than
  /// devices affected, an fd that is not a VFIO group, a group of the set missing, or
  /// an empty list on a group-opened device); EBADF; ENODEV (no slot or bus reset
  /// possible); EAGAIN (a device lock is contended); ENOMEM; EIO.
  /// Afterwards mapping_state() of this device no longer says D3hot (the kernel sets
  /// every device of the set to D0: vfio_pci_dev_set_hot_reset).
  result<void> pci_hot_reset(span<const int> group_fds) noexcept {
    constexpr const char* op = "VFIO_DEVICE_PCI_HOT_RESET";
    if (group_fds.size() > max_hot_reset_fds) return error(errc::too_many_descriptors, op);
    if (!fd_) return errno_error(EBADF, op);
    // Only the argsz bytes written below are sent: the rest stays uninitialised.
    alignas(4) unsigned char
        buf[sizeof(abi::pci_hot_reset) +
            max_hot_reset_fds * sizeof(std::int32_t)];  // NOLINT(cppcoreguidelines-pro-type-member-init)
    abi::pci_hot_reset h{};
    h.argsz = static_cast<std::uint32_t>(sizeof h + group_fds.size() * sizeof(std::int32_t));
    h.flags = 0;  // the kernel rejects any flag
    h.count = static_cast<std::uint32_t>(group_fds.size());
    std::memcpy(buf, &h, sizeof h);
    for (std::size_t i = 0; i < group_fds.size(); ++i) {
      const std::int32_t fd = group_fds[i];
      std::memcpy(buf + sizeof h + i * sizeof fd, &fd, sizeof fd);
    }
    const int r = sys().ioctl(fd_.get(), abi::req::device_pci_hot_reset, buf);
    note_reset(r == 0);  // other devices of the set keep their (conservative) state
    if (r < 0) return errno_error(-r, op);
    return {};
  }

 private:
  friend class detail::device_view;
  friend struct detail::config_access;  // the config region's hot path
  friend class pci::power;              // records low-power entry, exit and wake-ups

  static constexpr std::uint16_t command_offset = abi::pci::command;
  static constexpr std::uint16_t pmcsr_offset = abi::pci::pm_ctrl;
  enum class pm_lookup : std::uint8_t { unknown, present, absent };

  void set_name(std::string_view name) noexcept {
    char* to = name_inline_;
    if (name.size() > inline_name_size) {
      name_heap_.reset(new (std::nothrow) char[name.size()]);
      if (!name_heap_) return;
      to = name_heap_.get();
    }
    if (!name.empty()) std::memcpy(to, name.data(), name.size());
    name_size_ = name.size();
  }

  void take(device& o) noexcept {
    fd_ = std::move(o.fd_);
    name_heap_ = std::move(o.name_heap_);
    std::memcpy(name_inline_, o.name_inline_, sizeof name_inline_);
    name_size_ = std::exchange(o.name_size_, 0);
    info_ = o.info_;
    info_cached_ = std::exchange(o.info_cached_, false);
    regions_ = std::move(o.regions_);
    config_info_ = std::exchange(o.config_info_, nullptr);  // the node moved with the list
    config_file_offset_ = o.config_file_offset_;
    config_read_end_ = std::exchange(o.config_read_end_, 0u);
    config_write_end_ = std::exchange(o.config_write_end_, 0u);
    pm_ = std::exchange(o.pm_, pm_lookup::unknown);
    pm_at_ = o.pm_at_;
    low_power_dialect_ = std::exchange(o.low_power_dialect_, std::uint8_t{0});
    blockers_.store(o.blockers_.exchange(0, std::memory_order_acq_rel), std::memory_order_release);
    views_ = std::exchange(o.views_, nullptr);
    for (detail::device_view* v = views_; v; v = v->next_) v->dev_ = this;
    o.regions_.reset();
  }
  void detach_views() noexcept {
    while (views_) views_->detach();
  }

  // pm_capability_location() the first time: the lookup itself.
  [[gnu::noinline]] result<pm_location> look_up_pm_capability() noexcept {
    constexpr const char* op = "PCI_CAPABILITY_LIST";
    auto di = info();
    if (!di) return di.error();
    if (!di->is_pci()) return error(errc::invalid_argument, op);
    auto ri = region(abi::pci_region::config);
    if (!ri) return ri.error();
    const std::uint64_t n64 = (*ri)->size < abi::pci::cfg_space_size ? (*ri)->size : abi::pci::cfg_space_size;
    std::uint8_t bytes[abi::pci::cfg_space_size];
    const auto n = static_cast<std::size_t>(n64);
    if (auto r = read(abi::pci_region::config, 0, bytes, n); !r) return r.error();
    const pci::config_view snap(bytes, static_cast<std::uint32_t>(n));  // the bytes just read, not a 4 KiB copy
    auto found = snap.find_capability(abi::pci::cap::pm);
    if (!found) return found.error();
    pm_location at;
    if (*found) {
      // PMC and PMCSR must lie in the bytes read: a capability at 0xfc would put
      // PMCSR at 0x100, outside the capability area, where no read-back follows it.
      if (std::size_t{**found} + abi::pci::pm_sizeof > n) return error(errc::malformed_capability_chain, op);
      at.offset = **found;
      at.pmc = snap.u16(static_cast<std::uint16_t>(at.offset + abi::pci::pm_pmc));
      at.pmcsr = snap.u16(static_cast<std::uint16_t>(at.offset + pmcsr_offset));
    }
    pm_at_ = at;
    pm_ = at.offset ? pm_lookup::present : pm_lookup::absent;
    if (at.offset) record_power_state(at.pmcsr);
    return pm_at_;
  }

  // region() past the config fast path: the cache list, else GET_REGION_INFO.
  result<const region_info*> find_or_fetch_region(std::uint32_t index) noexcept {
    constexpr const char* op = "VFIO_DEVICE_GET_REGION_INFO";
    for (const region_node* n = regions_.get(); n; n = n->next.get())
      if (n->info.index == index) return &n->info;
    auto di = info();
    if (!di) return di.error();
    if (index >= di->num_regions) return error(errc::index_out_of_range, "region index check", subject::region(index));
    auto fetched = fetch_region_info(index);
    if (!fetched) return fetched.error();
    fetched->index = index;
    detail::owned<region_node> node(new (std::nothrow) region_node{std::move(*fetched), std::move(regions_)});
    if (!node) return errno_error(ENOMEM, op, subject::region(index));
    regions_ = std::move(node);
    if (index == abi::pci_region::config) {
      config_info_ = &regions_->info;
      enable_config_hot_path();
    }
    return &regions_->info;
  }

  // Once the config region's info is cached on a PCI device: the bounds an aligned
  // config access checks instead of region()'s lookup, the READ/WRITE flags and the
  // overflow-checked bounds (detail::config_access). Left 0 (every access takes the
  // general path) when the region's file offset leaves no room for 64 KiB.
  void enable_config_hot_path() noexcept {
    constexpr std::uint64_t reach = 0x10000;  // every uint16_t offset and width
    constexpr auto max_off = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!config_info_ || !is_config(abi::pci_region::config) || config_info_->offset > max_off - reach) return;
    const auto end = static_cast<std::uint32_t>(config_info_->size < reach ? config_info_->size : reach);
    config_file_offset_ = static_cast<std::int64_t>(config_info_->offset);
    config_read_end_ = config_info_->readable() ? end : 0;
    config_write_end_ = config_info_->writable() ? end : 0;
  }

  bool is_config(std::uint32_t region_index) const noexcept {
    return region_index == abi::pci_region::config && info_cached_ && info_.is_pci();
  }

  // Sets the bits in `set` and clears those in `clear` (set wins), atomically.
  void update_blockers(std::uint8_t clear, std::uint8_t set) noexcept {
    const std::uint8_t old = blockers_.load(std::memory_order_relaxed);
    // The usual case (COMMAND rewritten as it was): no locked instruction, no call.
    if (static_cast<std::uint8_t>((old & ~clear) | set) != old) change_blockers(old, clear, set);
  }
  [[gnu::noinline]] void change_blockers(std::uint8_t old, std::uint8_t clear, std::uint8_t set) noexcept {
    for (;;) {
      const auto next = static_cast<std::uint8_t>((old & ~clear) | set);
      if (next == old) return;
      if (blockers_.compare_exchange_weak(old, next, std::memory_order_acq_rel, std::memory_order_relaxed)) return;
    }
  }
  void record_power_state(std::uint16_t pmcsr) noexcept {
    pm_at_.pmcsr = pmcsr;
    const bool d3 = (pmcsr & abi::pci::pm::ctrl_state_mask) == abi::pci::pm::d3hot;
    update_blockers(mapping_state::unknown_bit | mapping_state::d3hot_bit, d3 ? mapping_state::d3hot_bit : 0);
  }
  void record_command(std::uint8_t low_byte) noexcept {
    const bool off = (low_byte & abi::pci::command_bits::memory) == 0;
    update_blockers(mapping_state::memory_disabled_bit, off ? mapping_state::memory_disabled_bit : 0);
  }
  // Whether [offset, offset + size) covers byte `at`.
  static bool covers(std::uint64_t offset, std::size_t size, std::uint64_t at) noexcept {
    return at >= offset && at - offset < size;
  }

  void note_config_read(std::uint64_t offset, const unsigned char* bytes, std::size_t size) noexcept {
    if (covers(offset, size, command_offset)) record_command(bytes[command_offset - offset]);
    if (pm_ == pm_lookup::present) {
      const std::uint64_t at = pmcsr_config_offset();
      if (covers(offset, size, at) && covers(offset, size, at + 1))
        record_power_state(static_cast<std::uint16_t>(bytes[at - offset] | (bytes[at + 1 - offset] << 8)));
    }
  }

  void note_config_write(std::uint64_t offset, const unsigned char* bytes, std::size_t size, bool completed) noexcept {
    if (covers(offset, size, command_offset)) {
      if (completed)
        record_command(bytes[command_offset - offset]);
      else if ((bytes[command_offset - offset] & abi::pci::command_bits::memory) == 0)
        update_blockers(0, mapping_state::memory_disabled_bit);  // may have landed: assume the unsafe side
    }
    // Inline up to here: most config writes (COMMAND, BARs, MSI) miss PMCSR.
    if (pm_ == pm_lookup::absent) return;
    if (pm_ == pm_lookup::present && !covers(offset, size, pmcsr_config_offset())) return;
    note_pm_write(offset, bytes, size, completed);
  }

  // note_config_write() for a write that may reach PMCSR: the PM capability lookup
  // when not done yet, the D3hot mark and the read-back. Precondition: the PM
  // capability is unknown, or present and the write covers PMCSR.
  [[gnu::noinline]] void note_pm_write(std::uint64_t offset, const unsigned char* bytes, std::size_t size,
                                       bool completed) noexcept {
    if (pm_ == pm_lookup::unknown) {
      // A PM capability lies in [0x40, 0x100): a write elsewhere needs no lookup.
      // Once found, the capability's own PMCSR offset decides (a hostile capability
      // at 0xfc puts PMCSR at 0x100).
      if (offset + size <= abi::pci::std_header_sizeof || offset >= abi::pci::cfg_space_size) return;
      if (!completed || !pm_capability_location()) {
        update_blockers(0, mapping_state::unknown_bit);
        return;
      }
      if (pm_ != pm_lookup::present || !covers(offset, size, pmcsr_config_offset())) return;
    }
    const std::uint64_t at = pmcsr_config_offset();
    // The kernel zaps the mappings before it changes state (vfio_pci_set_power_state).
    if ((bytes[at - offset] & abi::pci::pm::ctrl_state_mask) == abi::pci::pm::d3hot)
      update_blockers(0, mapping_state::d3hot_bit);
    pm_readback_ = pm_readback_not_done;
    // The read-back below costs one 2-byte pread per PMCSR write, and stays: vfio-pci
    // ignores a refused state change (vfio_pm_config_write drops -EBUSY), so only
    // reading PMCSR tells the state the BAR mappings' safety depends on.
    if (!completed) {  // it may or may not have landed: unknown until read again
      update_blockers(0, mapping_state::unknown_bit);
      return;
    }
    std::uint8_t b[2];
    const long n = sys().pread(fd_.get(), b, 2, pmcsr_file_offset());
    if (n != 2) {
      pm_readback_ = n < 0 ? static_cast<int>(-n) : pm_readback_short;
      update_blockers(0, mapping_state::unknown_bit);
      return;
    }
    pm_readback_ = 0;
    record_power_state(static_cast<std::uint16_t>(b[0] | (b[1] << 8)));
  }

  static constexpr int pm_readback_not_done = -1;  // the write failed or did not reach PMCSR
  static constexpr int pm_readback_short = -2;     // the pread returned fewer than 2 bytes
  error pm_readback_error() const noexcept {
    if (pm_readback_ == pm_readback_not_done) return error(errc::invalid_argument, "PMCSR read-back");
    if (pm_readback_ == pm_readback_short) return error(errc::short_transfer, "pread");
    return errno_error(pm_readback_, "pread");
  }

  // PMCSR's config offset; meaningful once the PM capability is present.
  std::uint64_t pmcsr_config_offset() const noexcept { return pm_at_.offset + std::uint64_t{pmcsr_offset}; }
  std::int64_t pmcsr_file_offset() const noexcept {
    return config_info_ ? static_cast<std::int64_t>(config_info_->offset + pmcsr_config_offset()) : -1;
  }

  void note_reset(bool succeeded) noexcept {
    if (succeeded)
      update_blockers(mapping_state::d3hot_bit | mapping_state::unknown_bit, 0);
    else if (mapping_state().d3hot())
      update_blockers(mapping_state::d3hot_bit, mapping_state::unknown_bit);
  }

  // Used by pci::power.
  void note_low_power(bool engaged, bool runtime_suspend_may_reset_state) noexcept {
    if (!engaged) {
      update_blockers(mapping_state::low_power_bit, 0);
      return;
    }
    // vfio_pci_core_runtime_suspend moves the device to D0 before the PCI core suspends
    // it, so a PM_CTRL D3hot written before entry may or may not survive.
    const bool d3 = mapping_state().d3hot() && runtime_suspend_may_reset_state;
    update_blockers(d3 ? mapping_state::d3hot_bit : 0,
                    static_cast<std::uint8_t>(mapping_state::low_power_bit | (d3 ? mapping_state::unknown_bit : 0)));
  }

  // The rest of a pread (writing false) or pwrite whose first call returned n != size:
  // an errno, no progress, or a short count to repeat from (region handlers may return
  // fewer bytes than asked, see read()). Out of line: the usual transfer completes at once.
  // `p` is only written through when reading.
  [[gnu::cold, gnu::noinline]] result<void> finish_transfer(bool writing, unsigned char* p, std::size_t size,
                                                            std::int64_t pos, long n) noexcept {
    const char* op = writing ? "pwrite" : "pread";
    for (;;) {
      if (n < 0) return errno_error(static_cast<int>(-n), op);
      if (n == 0) return error(errc::short_transfer, op);
      const std::size_t done = static_cast<std::size_t>(n) < size ? static_cast<std::size_t>(n) : size;
      p += done;
      size -= done;
      pos += static_cast<std::int64_t>(done);
      if (size == 0) return {};
      n = writing ? sys().pwrite(fd_.get(), p, size, pos) : sys().pread(fd_.get(), p, size, pos);
    }
  }
  [[gnu::cold, gnu::noinline]] static error region_check_error(errc code, const char* check,
                                                               std::uint32_t region_index) noexcept {
    return error(code, check, subject::region(region_index));
  }

  result<void> set_irqs_none(std::uint32_t action, std::uint32_t index, std::uint32_t start,
                             std::uint32_t count) noexcept {
    constexpr const char* op = "VFIO_DEVICE_SET_IRQS";
    if (!fd_) return errno_error(EBADF, op);
    abi::irq_set arg = detail::make_irq_set_none(action, index, start, count);
    const int r = sys().ioctl(fd_.get(), abi::req::device_set_irqs, &arg);
    if (r < 0) return errno_error(-r, op, subject::irq(index));
    return {};
  }

  // One GET_REGION_INFO exchange with argsz grow-and-retry; see region(). The first
  // call carries detail::region_info_stack_size bytes on the stack, room for what
  // vfio-pci reports (a sparse mmap of a few areas, MSIX_MAPPABLE, a type), so the
  // usual region takes one ioctl and no heap buffer.
  result<region_info> fetch_region_info(std::uint32_t index) noexcept {
    constexpr const char* op = "VFIO_DEVICE_GET_REGION_INFO";
    detail::stack_info_buffer<detail::region_info_stack_size> first;
    abi::region_info hdr{};
    hdr.argsz = first.size();
    hdr.index = index;
    std::memcpy(first.data(), &hdr, sizeof hdr);
    int r = sys().ioctl(fd_.get(), abi::req::device_get_region_info, first.data());
    if (r < 0) return errno_error(-r, op, subject::region(index));
    std::uint32_t want = first.load<std::uint32_t>(0);
    if (want <= first.size()) return detail::parse_region_info(first.data(), first.size(), op);

    for (int attempt = 1; attempt < detail::max_region_info_attempts; ++attempt) {
      if (want > detail::max_info_argsz) return error(errc::argsz_too_large, op);
      detail::info_buffer buf;
      if (!buf.allocate(want)) return errno_error(ENOMEM, op);
      abi::region_info grown{};
      grown.argsz = want;
      grown.index = index;
      std::memcpy(buf.data(), &grown, sizeof grown);
      r = sys().ioctl(fd_.get(), abi::req::device_get_region_info, buf.data());
      if (r < 0) return errno_error(-r, op, subject::region(index));
      const auto reply_argsz = buf.load<std::uint32_t>(0);
      if (reply_argsz <= want) return detail::parse_region_info(buf.data(), want, op);
      want = reply_argsz;  // the capabilities grew between the calls
    }
    return error(errc::argsz_too_large, op);
  }

  unique_fd fd_;
  static constexpr std::size_t inline_name_size = 40;
  char name_inline_[inline_name_size] = {};
  detail::owned<char[]> name_heap_;
  std::size_t name_size_ = 0;
  device_info info_{};
  bool info_cached_ = false;
  // Region info cache: a list of nothrow-allocated nodes, so the pointers region() hands
  // out survive moves and later fills, and a failed allocation is ENOMEM, not terminate.
  struct region_node {
    region_info info;
    detail::owned<region_node> next;
  };
  detail::owned<region_node> regions_;
  // The config region's node in regions_, once read (see region()).
  const region_info* config_info_ = nullptr;
  // See enable_config_hot_path(): the region's file offset, and how far an aligned
  // read or write may reach (0: no READ or WRITE flag, or not known yet).
  std::int64_t config_file_offset_ = 0;
  std::uint32_t config_read_end_ = 0;
  std::uint32_t config_write_end_ = 0;
  pm_lookup pm_ = pm_lookup::unknown;
  pm_location pm_at_{};
  // pci::power's detected low-power dialect + 1 (0: not probed yet), kept here so that
  // every power object of the device shares one detection; forgotten on close().
  std::uint8_t low_power_dialect_ = 0;
  // The read-back of the last PMCSR write, for pci::power, which reports its failure:
  // 0 done, a positive pread errno, or one of the pm_readback values. An int, not an
  // error: building a std::error_code costs a call on the success path.
  int pm_readback_ = pm_readback_not_done;
  std::atomic<std::uint8_t> blockers_{0};
  detail::device_view* views_ = nullptr;
};

namespace detail {

/// Aligned config accesses of 1, 2 or 4 bytes (pci::config, pci::read_config16,
/// pci::write_config16): what device::read / write do for the config region, with the
/// region's lookup, flags and bounds reduced to one compare once its info is cached.
/// The same syscalls, errors and mapping-state updates as the general path, which
/// serves the first access and every access the compare refuses.
struct config_access {
  template <std::size_t Width>
  static result<void> read(device& d, std::uint16_t offset, void* out) noexcept {
    auto* p = static_cast<unsigned char*>(out);
    const long n = try_read<Width>(d, offset, p);
    if (n != static_cast<long>(Width)) return finish_read(d, offset, p, Width, n);
    return {};
  }

  template <std::size_t Width>
  static result<void> write(device& d, std::uint16_t offset, const void* in) noexcept {
    static_assert(Width == 1 || Width == 2 || Width == 4, "config accesses are 1, 2 or 4 bytes");
    const auto* p = static_cast<const unsigned char*>(in);
    if (offset % Width != 0 || std::uint32_t{offset} + Width > d.config_write_end_)
      return finish_write(d, offset, p, Width, not_attempted);
    const long n = d.sys().pwrite(d.fd_.get(), p, Width, d.config_file_offset_ + offset);
    if (n != static_cast<long>(Width)) return finish_write(d, offset, p, Width, n);
    // note_config_write for a completed aligned write. PMCSR's offset is 4-aligned (the
    // capability walk masks the pointers' reserved low bits), so an aligned access
    // covers COMMAND's byte exactly when it starts at it, and PMCSR's first byte
    // exactly when it starts there.
    if (offset == device::command_offset) {
      d.record_command(p[0]);
      return {};
    }
    if (d.pm_ == device::pm_lookup::absent) return {};
    if (d.pm_ == device::pm_lookup::present && offset != d.pmcsr_config_offset()) return {};
    d.note_pm_write(offset, p, Width, true);  // out of line: the lookup, the read-back
    return {};
  }

 private:
  // The first call of a transfer was not made: the general path checks and makes it.
  static constexpr long not_attempted = std::numeric_limits<long>::min();

  // The pread of an aligned read, and its mapping-state update when it read all Width
  // bytes. Returns the pread's result, or not_attempted when the hot path does not apply;
  // anything but Width is finished by finish_read().
  template <std::size_t Width>
  static long try_read(device& d, std::uint16_t offset, unsigned char* p) noexcept {
    static_assert(Width == 1 || Width == 2 || Width == 4, "config accesses are 1, 2 or 4 bytes");
    if (offset % Width != 0 || std::uint32_t{offset} + Width > d.config_read_end_) return not_attempted;
    const long n = d.sys().pread(d.fd_.get(), p, Width, d.config_file_offset_ + offset);
    if (n == static_cast<long>(Width)) note_read<Width>(d, offset, p);
    return n;
  }
  // What try_read() left: the general path (not_attempted) or the rest of a transfer.
  [[gnu::noinline]] static result<void> finish_read(device& d, std::uint16_t offset, unsigned char* p,
                                                    std::size_t width, long n) noexcept {
    if (n == not_attempted) {
      if (offset % width != 0) return error(errc::invalid_argument, "pread");
      return d.read(abi::pci_region::config, offset, p, width);
    }
    if (auto r = d.finish_transfer(false, p, width, d.config_file_offset_ + offset, n); !r) return r;
    d.note_config_read(offset, p, width);
    return {};
  }
  // note_config_read for a completed aligned read (see write() for why equality is
  // coverage here); a single byte never holds all of PMCSR.
  template <std::size_t Width>
  static void note_read(device& d, std::uint16_t offset, const unsigned char* p) noexcept {
    if (offset == device::command_offset ||
        (Width >= 2 && d.pm_ == device::pm_lookup::present && offset == d.pmcsr_config_offset()))
      record_read(d, offset, p);
  }
  [[gnu::noinline]] static void record_read(device& d, std::uint16_t offset, const unsigned char* p) noexcept {
    if (offset == device::command_offset)
      d.record_command(p[0]);
    else
      d.record_power_state(static_cast<std::uint16_t>(p[0] | (p[1] << 8)));
  }

  // What write() left: the general path (not_attempted) or the rest of a transfer.
  [[gnu::noinline]] static result<void> finish_write(device& d, std::uint16_t offset, const unsigned char* p,
                                                     std::size_t width, long n) noexcept {
    if (n == not_attempted) {
      if (offset % width != 0) return error(errc::invalid_argument, "pwrite");
      return d.write(abi::pci_region::config, offset, p, width);
    }
    auto r = d.finish_transfer(true, const_cast<unsigned char*>(p), width, d.config_file_offset_ + offset, n);
    d.note_config_write(offset, p, width, r.has_value());
    return r;
  }
};

/// The device a view sees once its own is gone: empty, so every call fails with EBADF
/// without a syscall and without changing it.
inline device& detached_device() noexcept {
  static device empty;
  return empty;
}

inline device_view::device_view(device& d) noexcept { attach(&d); }
inline device_view::device_view(const device_view& o) noexcept { attach(o.dev_); }
inline device_view& device_view::operator=(const device_view& o) noexcept {
  if (this != &o && dev_ != o.dev_) {
    detach();
    attach(o.dev_);
  }
  return *this;
}
inline device_view::~device_view() { detach(); }
inline device& device_view::viewed() const noexcept { return dev_ ? *dev_ : detached_device(); }
inline void device_view::attach(device* d) noexcept {
  if (!d || d == &detached_device()) return;  // the shared empty device keeps no list
  dev_ = d;
  next_ = d->views_;
  if (next_) next_->prev_ = this;
  d->views_ = this;
}
inline void device_view::detach() noexcept {
  if (!dev_) return;
  if (prev_)
    prev_->next_ = next_;
  else
    dev_->views_ = next_;
  if (next_) next_->prev_ = prev_;
  dev_ = nullptr;
  prev_ = next_ = nullptr;
}

}  // namespace detail

}  // namespace vfio

#endif  // VFIO_DEVICE_HPP_INCLUDED
