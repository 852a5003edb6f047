// vfio::device: the owner of one VFIO device descriptor. Device and region info,
// region read/write and mmap, IRQ eventfds, reset and PCI hot reset.
#ifndef VFIO_DEVICE_HPP_INCLUDED
#define VFIO_DEVICE_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/mman.h>

#include "abi/vfio.hpp"
#include "detail/info_buffer.hpp"
#include "error.hpp"
#include "irq.hpp"
#include "region.hpp"
#include "result.hpp"
#include "span.hpp"
#include "syscalls.hpp"
#include "unique_fd.hpp"

namespace vfio {

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
  std::vector<abi::pci_dependent_device> devices;
};

/// The most descriptors one VFIO_DEVICE_PCI_HOT_RESET call of the library carries (its
/// argument lives on the stack). The kernel itself accepts at most one per device in the
/// affected slot or bus (vfio_pci_ioctl_pci_hot_reset in drivers/vfio/pci/vfio_pci_core.c).
inline constexpr std::size_t max_hot_reset_fds = 1024;

namespace detail {
/// GET_REGION_INFO calls made before giving up on an argsz that keeps growing.
inline constexpr int max_region_info_attempts = 4;
/// GET_PCI_HOT_RESET_INFO calls made before giving up on a set that keeps growing.
inline constexpr int max_hot_reset_info_attempts = 4;
/// Dependent devices the library accepts in one hot-reset info reply.
inline constexpr std::uint32_t max_hot_reset_devices =
    (max_info_argsz - sizeof(abi::pci_hot_reset_info)) / sizeof(abi::pci_dependent_device);

/// The device-fd offset of region bytes [offset, offset + size), checked against the
/// region and against off_t. Errors: errc::out_of_bounds.
inline result<std::int64_t> region_file_offset(const region_info& r, std::uint64_t offset, std::size_t size,
                                               const char* operation) noexcept {
  constexpr auto max_off = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!r.contains(offset, size) || r.offset > max_off || offset > max_off - r.offset ||
      size > max_off - r.offset - offset)
    return error(errc::out_of_bounds, operation, subject::region(r.index));
  return static_cast<std::int64_t>(r.offset + offset);
}
}  // namespace detail

/// An open VFIO device: the descriptor from VFIO_GROUP_GET_DEVICE_FD (or a cdev open).
/// Move-only; closes the descriptor through its seam on destruction.
///
/// Device info and region info are read once and cached (neither changes while the
/// descriptor is open). A device is not thread-safe: use it from one thread at a time
/// or synchronise externally (the const accessors excepted).
class device {
 public:
  /// An empty device: every call fails with EBADF without a syscall.
  device() noexcept = default;
  /// Adopts `fd` (closed through fd.sys(); group::open_device uses this). `name` is the
  /// device name it was opened by, e.g. "0000:03:00.0"; it is informational only.
  explicit device(unique_fd fd, std::string_view name = {}) noexcept : fd_(std::move(fd)), name_(name) {}

  device(device&& o) noexcept
      : fd_(std::move(o.fd_)),
        name_(std::move(o.name_)),
        info_(o.info_),
        info_cached_(std::exchange(o.info_cached_, false)),
        regions_(std::move(o.regions_)),
        mmap_access_blocked_(std::exchange(o.mmap_access_blocked_, false)) {
    o.name_.clear();
    o.regions_.clear();
  }
  device& operator=(device&& o) noexcept {
    if (this != &o) {
      fd_ = std::move(o.fd_);
      name_ = std::move(o.name_);
      info_ = o.info_;
      info_cached_ = std::exchange(o.info_cached_, false);
      regions_ = std::move(o.regions_);
      mmap_access_blocked_ = std::exchange(o.mmap_access_blocked_, false);
      o.name_.clear();
      o.regions_.clear();
    }
    return *this;
  }
  device(const device&) = delete;
  device& operator=(const device&) = delete;
  ~device() = default;

  /// The descriptor, or -1.
  int fd() const noexcept { return fd_.get(); }
  /// The seam every call of this device goes through.
  syscalls& sys() const noexcept { return fd_.sys(); }
  /// The name given at construction.
  std::string_view name() const noexcept { return name_; }
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }

  /// close(2)s the descriptor now, reporting failure, and forgets cached info. Mappings
  /// made earlier stay valid until destroyed (a mapping holds its own reference to the
  /// device file in the kernel).
  /// Errors: close errno (EIO).
  result<void> close() noexcept {
    info_cached_ = false;
    regions_.clear();
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
  /// The first call passes argsz = 32; when the region has capabilities that do not fit,
  /// the kernel still succeeds, sets CAPS, leaves cap_offset 0 and raises argsz to the
  /// size needed (vfio_pci_ioctl_get_region_info in drivers/vfio/pci/vfio_pci_core.c;
  /// capabilities are appended by vfio_info_cap_add in drivers/vfio/vfio_main.c), so the
  /// call is repeated with that argsz, bounded by detail::max_info_argsz.
  /// Errors: errc::index_out_of_range (index >= num_regions, no ioctl made);
  /// errc::argsz_too_large; errc::malformed_capability_chain; EINVAL (e.g. the VGA
  /// region on a device without VGA), EBADF, EFAULT, ENOMEM, EIO; errors of info().
  result<const region_info*> region(std::uint32_t index) noexcept {
    constexpr const char* op = "VFIO_DEVICE_GET_REGION_INFO";
    for (const auto& cached : regions_)
      if (cached->index == index) return static_cast<const region_info*>(cached.get());
    auto di = info();
    if (!di) return di.error();
    if (index >= di->num_regions) return error(errc::index_out_of_range, "region index check", subject::region(index));
    auto fetched = fetch_region_info(index);
    if (!fetched) return fetched.error();
    fetched->index = index;
    std::unique_ptr<region_info> slot(new (std::nothrow) region_info(std::move(*fetched)));
    if (!slot) return errno_error(ENOMEM, op, subject::region(index));
    regions_.push_back(std::move(slot));
    return static_cast<const region_info*>(regions_.back().get());
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
    constexpr const char* op = "pread";
    auto ri = region(region_index);
    if (!ri) return ri.error();
    if (!(*ri)->readable()) return error(errc::invalid_argument, "region flags check", subject::region(region_index));
    auto at = detail::region_file_offset(**ri, offset, size, "region bounds check");
    if (!at) return at.error();
    return transfer_all(
        static_cast<unsigned char*>(buf), size, *at, op,
        [this](unsigned char* p, std::size_t n, std::int64_t pos) { return sys().pread(fd_.get(), p, n, pos); });
  }

  /// pwrite(2) of buf to region bytes [offset, offset + size), repeated until all are
  /// written. size 0 succeeds without a syscall once the checks pass.
  /// Preconditions: buf holds size bytes.
  /// Errors: errc::invalid_argument (region lacks the WRITE flag); errc::out_of_bounds;
  /// errc::short_transfer (a pwrite returned 0); pwrite errno: EIO (memory decode off, or
  /// the device is in D3hot; not inside the MSI-X vector table, where vfio-pci drops
  /// writes, see read()), EINVAL, EFAULT; errors of region().
  result<void> write(std::uint32_t region_index, std::uint64_t offset, const void* buf, std::size_t size) noexcept {
    constexpr const char* op = "pwrite";
    auto ri = region(region_index);
    if (!ri) return ri.error();
    if (!(*ri)->writable()) return error(errc::invalid_argument, "region flags check", subject::region(region_index));
    auto at = detail::region_file_offset(**ri, offset, size, "region bounds check");
    if (!at) return at.error();
    return transfer_all(
        static_cast<const unsigned char*>(buf), size, *at, op,
        [this](const unsigned char* p, std::size_t n, std::int64_t pos) { return sys().pwrite(fd_.get(), p, n, pos); });
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

  /// False while the device is in a state where touching a region_mapping faults with
  /// SIGBUS. Set by the power-management layer: after D3hot or low-power entry, mapped
  /// BARs fault with SIGBUS until exit (the kernel zaps the mappings and its fault
  /// handler refuses them; vfio_pci_mmap_fault in drivers/vfio/pci/vfio_pci_core.c).
  /// The device never changes it by itself.
  bool mappings_accessible() const noexcept { return !mmap_access_blocked_; }
  /// Set by the power-management layer: after D3hot or low-power entry, mapped BARs fault
  /// with SIGBUS until exit. Pass false on entry and true on exit.
  void set_mappings_accessible(bool accessible) noexcept { mmap_access_blocked_ = !accessible; }

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
  result<void> reset() noexcept {
    constexpr const char* op = "VFIO_DEVICE_RESET";
    if (!fd_) return errno_error(EBADF, op);
    const int r = sys().ioctl(fd_.get(), abi::req::device_reset, nullptr);
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
    out.devices.resize(hdr.count);
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
  result<void> pci_hot_reset(span<const int> group_fds) noexcept {
    constexpr const char* op = "VFIO_DEVICE_PCI_HOT_RESET";
    if (group_fds.size() > max_hot_reset_fds) return error(errc::too_many_descriptors, op);
    if (!fd_) return errno_error(EBADF, op);
    alignas(4) unsigned char buf[sizeof(abi::pci_hot_reset) + max_hot_reset_fds * sizeof(std::int32_t)]{};
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
    if (r < 0) return errno_error(-r, op);
    return {};
  }

 private:
  // Repeats a pread/pwrite until all `size` bytes moved: region handlers may
  // return short counts. A transfer of 0 bytes makes no progress.
  template <class Byte, class Call>
  static result<void> transfer_all(Byte* p, std::size_t size, std::int64_t pos, const char* op, Call call) noexcept {
    while (size > 0) {
      const long n = call(p, size, pos);
      if (n < 0) return errno_error(static_cast<int>(-n), op);
      if (n == 0) return error(errc::short_transfer, op);
      const std::size_t done = static_cast<std::size_t>(n) < size ? static_cast<std::size_t>(n) : size;
      p += done;
      size -= done;
      pos += static_cast<std::int64_t>(done);
    }
    return {};
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

  // One GET_REGION_INFO exchange with argsz grow-and-retry; see region().
  result<region_info> fetch_region_info(std::uint32_t index) noexcept {
    constexpr const char* op = "VFIO_DEVICE_GET_REGION_INFO";
    abi::region_info hdr{};
    hdr.argsz = sizeof hdr;
    hdr.index = index;
    int r = sys().ioctl(fd_.get(), abi::req::device_get_region_info, &hdr);
    if (r < 0) return errno_error(-r, op, subject::region(index));
    if (hdr.argsz <= sizeof hdr)
      return detail::parse_region_info(reinterpret_cast<const std::uint8_t*>(&hdr), sizeof hdr, op);

    std::uint32_t want = hdr.argsz;
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
  std::string name_;
  device_info info_{};
  bool info_cached_ = false;
  // Heap-allocated entries so the pointers region() hands out survive growth and moves.
  std::vector<std::unique_ptr<region_info>> regions_;
  bool mmap_access_blocked_ = false;
};

}  // namespace vfio

#endif  // VFIO_DEVICE_HPP_INCLUDED
