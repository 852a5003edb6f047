// vfio::iommufd: owner of an iommufd (/dev/iommu), the IOMMU context that replaces the
// VFIO container for devices opened through their cdev (cdev.hpp). It holds IO address
// spaces (IOAS) that DMA mappings go into, and hardware page tables (HWPT) allocated for
// a bound device (for dirty tracking); devices attach to either.
//
// How the kernel answers (drivers/iommu/iommufd/): every ioctl takes a struct whose
// first u32 is its size (main.c, iommufd_fops_ioctl; see abi/iommufd.hpp); objects are
// named by u32 ids, and an id that names no object of the expected type is -ENOENT
// (main.c, iommufd_get_object). Closing the descriptor destroys every object it holds
// (main.c, iommufd_fops_release), so nothing outlives the iommufd.
#ifndef VFIO_IOMMUFD_HPP_INCLUDED
#define VFIO_IOMMUFD_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include <fcntl.h>

#include "abi/iommufd.hpp"
#include "container.hpp"
#include "detail/info_buffer.hpp"
#include "error.hpp"
#include "heap_array.hpp"
#include "result.hpp"
#include "span.hpp"
#include "syscalls.hpp"
#include "unique_fd.hpp"

namespace vfio {

/// The id of an IO address space of an iommufd (IOMMU_IOAS_ALLOC).
struct ioas_id {
  std::uint32_t value = 0;
};
/// The id of a hardware page table of an iommufd (IOMMU_HWPT_ALLOC, or the one an attach
/// to an IOAS made).
struct hwpt_id {
  std::uint32_t value = 0;
};
/// The id of a device bound to an iommufd (VFIO_DEVICE_BIND_IOMMUFD's out_devid).
struct dev_id {
  std::uint32_t value = 0;
};

constexpr bool operator==(ioas_id a, ioas_id b) noexcept { return a.value == b.value; }
constexpr bool operator!=(ioas_id a, ioas_id b) noexcept { return a.value != b.value; }
constexpr bool operator==(hwpt_id a, hwpt_id b) noexcept { return a.value == b.value; }
constexpr bool operator!=(hwpt_id a, hwpt_id b) noexcept { return a.value != b.value; }
constexpr bool operator==(dev_id a, dev_id b) noexcept { return a.value == b.value; }
constexpr bool operator!=(dev_id a, dev_id b) noexcept { return a.value != b.value; }

/// What a device attaches to, or an HWPT is allocated on: an IOAS or an HWPT.
struct pt_id {
  std::uint32_t value = 0;
  constexpr pt_id(ioas_id id) noexcept : value(id.value) {}           // NOLINT(google-explicit-constructor)
  constexpr pt_id(hwpt_id id) noexcept : value(id.value) {}           // NOLINT(google-explicit-constructor)
  constexpr explicit pt_id(std::uint32_t id) noexcept : value(id) {}  // an id of either kind
};

/// What IOMMU_IOAS_IOVA_RANGES reports for an IOAS.
struct ioas_ranges {
  heap_array<iova_range> ranges;  ///< usable IOVA ranges; `end` is inclusive (the kernel's `last`)
  std::uint64_t alignment = 0;    ///< IOVA and length of MAP/COPY must be multiples of this
};

/// What IOMMU_GET_HW_INFO reports for the IOMMU behind a bound device.
struct iommu_hw_info {
  std::uint32_t data_type = 0;      ///< abi::iommufd::hw_info_type of the data written to the buffer
  std::uint32_t data_len = 0;       ///< bytes of data the kernel has (may exceed the buffer passed)
  std::uint64_t capabilities = 0;   ///< abi::iommufd::hw_cap bits
  std::uint8_t max_pasid_log2 = 0;  ///< PASID width; 0: no PASID support (always 0 before 6.12's field)

  /// IOMMU_HWPT_ALLOC_DIRTY_TRACKING, SET_DIRTY_TRACKING and GET_DIRTY_BITMAP work.
  bool dirty_tracking() const noexcept { return (capabilities & abi::iommufd::hw_cap::dirty_tracking) != 0; }
};

class iommufd;

namespace detail {

/// The base of handles that own an object of an iommufd (vfio::ioas, vfio::hwpt). They
/// register with the iommufd, which keeps them pointed at itself across moves and empties
/// them when it closes (the kernel has destroyed their objects then). An intrusive list:
/// no allocation. Handles of one iommufd are created, moved and destroyed on one thread
/// at a time (the ioctls themselves may run on any thread).
class iommufd_link {
 public:
  iommufd_link(const iommufd_link&) = delete;
  iommufd_link& operator=(const iommufd_link&) = delete;
  iommufd_link(iommufd_link&&) = delete;
  iommufd_link& operator=(iommufd_link&&) = delete;

  /// The iommufd the object lives in; nullptr for an empty handle.
  iommufd* owner() const noexcept { return owner_; }

 protected:
  iommufd_link() noexcept = default;
  ~iommufd_link() { unlink(); }
  void link(iommufd* owner) noexcept;
  void unlink() noexcept;

 private:
  friend class vfio::iommufd;
  iommufd* owner_ = nullptr;
  iommufd_link* prev_ = nullptr;
  iommufd_link* next_ = nullptr;
};

}  // namespace detail

/// Owns one object of an iommufd: IOMMU_DESTROY on destruction, through the iommufd it
/// came from. Move-only. Empty once released, destroyed, or when its iommufd closes or
/// is destroyed (the kernel destroys every object of a closed iommufd).
/// `Id` is ioas_id or hwpt_id; `Type` the subject its errors carry.
template <class Id, subject::iommufd_type Type>
class iommufd_object : public detail::iommufd_link {
 public:
  iommufd_object() noexcept = default;
  iommufd_object(iommufd_object&& o) noexcept { take(o); }
  /// Destroys the object held (ignoring failure), then takes o's.
  iommufd_object& operator=(iommufd_object&& o) noexcept {
    if (this != &o) {
      (void)destroy();
      unlink();
      take(o);
    }
    return *this;
  }
  iommufd_object(const iommufd_object&) = delete;
  iommufd_object& operator=(const iommufd_object&) = delete;
  /// IOMMU_DESTROY, its failure ignored (EBUSY: still in use; the object then stays until
  /// the iommufd closes).
  ~iommufd_object() { (void)destroy(); }

  /// The object's id (also after the handle emptied, for reports).
  Id id() const noexcept { return id_; }
  explicit operator bool() const noexcept { return owner() != nullptr; }

  /// IOMMU_DESTROY now, reporting failure. An empty handle succeeds without a syscall.
  /// On failure the handle still owns the object (destroy again once what uses it is gone).
  /// Errors: EBUSY (still in use: an IOAS an HWPT or a device is attached to, an HWPT a
  /// device is attached to: main.c iommufd_object_remove); ENOENT (already gone).
  result<void> destroy() noexcept;

  /// Gives up ownership without a syscall; returns the id.
  Id release() noexcept {
    unlink();
    return id_;
  }

 private:
  friend class iommufd;
  iommufd_object(iommufd& owner, Id id) noexcept : id_(id) { link(&owner); }
  void take(iommufd_object& o) noexcept {
    id_ = o.id_;
    iommufd* owner = o.owner();
    o.unlink();
    if (owner) link(owner);
  }

  Id id_{};
};

/// An IOAS owned by the handle (iommufd::ioas_alloc); converts to ioas_id and pt_id via id().
using ioas = iommufd_object<ioas_id, subject::iommufd_type::ioas>;
/// An HWPT owned by the handle (iommufd::hwpt_alloc).
using hwpt = iommufd_object<hwpt_id, subject::iommufd_type::hwpt>;

/// Owns an iommufd descriptor (/dev/iommu). Move-only; moving keeps every ioas/hwpt
/// handle of it working, destroying or closing it empties them.
///
/// Order of use: open(); bind devices to it (cdev::open_device); ioas_alloc(); attach the
/// devices (cdev::attach); map(). Mappings may also be made before any device is
/// attached: the kernel pins the pages when the first IOMMU domain joins the IOAS
/// (io_pagetable.c, iopt_table_add_domain), so RLIMIT_MEMLOCK (ENOMEM) and unpinnable
/// memory (EFAULT) then fail the attach rather than the map.
///
/// Threading: the ioctl members may be called from several threads at once (the kernel
/// serialises per object); handles are created, moved and destroyed on one thread at a
/// time.
class iommufd {
 public:
  /// The default node (CONFIG_IOMMUFD; udev names it /dev/iommu).
  static constexpr const char* default_path = "/dev/iommu";

  /// An empty iommufd (no descriptor).
  iommufd() noexcept = default;
  /// Takes o's descriptor and its handles, which act on this iommufd from now on.
  iommufd(iommufd&& o) noexcept : fd_(std::move(o.fd_)), named_(std::exchange(o.named_, false)) { take_links(o); }
  /// Empties this iommufd's handles and closes its descriptor (the kernel destroys its
  /// objects), then as the move constructor.
  iommufd& operator=(iommufd&& o) noexcept {
    if (this != &o) {
      forget_links();
      fd_ = std::move(o.fd_);
      named_ = std::exchange(o.named_, false);
      take_links(o);
    }
    return *this;
  }
  iommufd(const iommufd&) = delete;
  iommufd& operator=(const iommufd&) = delete;
  /// Empties the handles, closes the descriptor.
  ~iommufd() { forget_links(); }

  /// open(path, O_RDWR|O_CLOEXEC). The node answers no ioctl that needs checking first.
  /// Errors: open's errno (ENOENT: no iommufd (CONFIG_IOMMUFD off, module not loaded);
  /// EACCES), subject /dev/iommu for the default path.
  static result<iommufd> open(const char* path = default_path, syscalls& sys = default_syscalls()) noexcept {
    const bool named = path != nullptr && std::strcmp(path, default_path) == 0;
    const int r = sys.open(path, O_RDWR | O_CLOEXEC, 0);
    if (r < 0) return errno_error(-r, "open", named ? node_subject() : subject());
    iommufd out;
    out.fd_ = unique_fd(r, sys);
    out.named_ = named;
    return out;
  }

  int fd() const noexcept { return fd_.get(); }
  /// The seam this iommufd was opened with.
  syscalls& sys() const noexcept { return fd_.sys(); }
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }

  /// close(2) now, reporting failure. The handles are emptied first: the kernel destroys
  /// every object with the file (main.c, iommufd_fops_release), which happens once bound
  /// devices have released it too.
  /// Errors: close's errno.
  result<void> close() noexcept {
    forget_links();
    return fd_.close();
  }

  // --- IO address spaces --------------------------------------------------------------

  /// IOMMU_IOAS_ALLOC (flags 0): a new, empty IOAS whose usable range is all of IOVA
  /// space until devices attach (ioas.c, iommufd_ioas_alloc_ioctl). The handle destroys
  /// it on drop.
  /// Errors: EBADF (empty iommufd, no syscall); ENOMEM; EOPNOTSUPP (flags, never sent).
  result<ioas> ioas_alloc() noexcept {
    constexpr const char* op = "IOMMU_IOAS_ALLOC";
    if (!fd_) return errno_error(EBADF, op);
    abi::iommufd::ioas_alloc arg{};
    arg.size = sizeof arg;
    const int r = sys().ioctl(fd_.get(), abi::iommufd::req::ioas_alloc, &arg);
    if (r < 0) return errno_error(-r, op, whole());
    return ioas(*this, ioas_id{arg.out_ioas_id});
  }

  /// IOMMU_DESTROY of any object by id (an IOAS, an HWPT, ...); the handles call this.
  /// Errors: EBADF (empty iommufd, no syscall); ENOENT (no such object); EBUSY (in use:
  /// main.c, iommufd_object_remove).
  result<void> destroy(std::uint32_t id) noexcept { return do_destroy(id, subject::iommufd_object(id)); }
  /// IOMMU_DESTROY of an IOAS not held by a handle. Errors: as destroy(id).
  result<void> destroy(ioas_id id) noexcept { return do_destroy(id.value, about(id)); }
  /// IOMMU_DESTROY of an HWPT not held by a handle. Errors: as destroy(id).
  result<void> destroy(hwpt_id id) noexcept { return do_destroy(id.value, about(id)); }

  /// IOMMU_IOAS_MAP without FIXED_IOVA: maps [user_va, user_va + length) of this process
  /// into the IOAS at an IOVA the kernel picks (inside the allowed ranges, aligned like
  /// user_va up to a huge page: io_pagetable.c, iopt_alloc_iova). Returns that IOVA.
  /// flags: abi::iommufd::map_flags::readable / writeable (at least one).
  /// Preconditions: the memory stays mapped until unmapped here; length and user_va are
  /// multiples of the IOAS alignment (iova_ranges()).
  /// Errors (ioas.c iommufd_ioas_map, io_pagetable.c): EBADF (empty iommufd, no syscall);
  /// ENOENT (no such IOAS); EINVAL (neither readable nor writeable, length 0,
  /// misaligned); EOVERFLOW (length >= ULONG_MAX / 2); ENOSPC (no free IOVA range fits);
  /// with a device attached also ENOMEM (RLIMIT_MEMLOCK) and EFAULT (memory not mapped,
  /// or read-only with writeable).
  result<std::uint64_t> map(ioas_id id, std::uint64_t user_va, std::uint64_t length,
                            std::uint32_t flags = default_map_flags) noexcept {
    return do_map(id, user_va, length, 0, flags & ~abi::iommufd::map_flags::fixed_iova);
  }
  /// map() of the caller's memory, without a pointer cast. As map(ioas, user_va, ...).
  result<std::uint64_t> map(ioas_id id, void* memory, std::size_t length,
                            std::uint32_t flags = default_map_flags) noexcept {
    return map(id, reinterpret_cast<std::uintptr_t>(memory), length, flags);
  }
  /// map() of read-only memory: the device may only read it (READABLE alone).
  /// As map(ioas, user_va, ...).
  result<std::uint64_t> map(ioas_id id, const void* memory, std::size_t length) noexcept {
    return map(id, reinterpret_cast<std::uintptr_t>(memory), length, abi::iommufd::map_flags::readable);
  }

  /// IOMMU_IOAS_MAP with FIXED_IOVA: maps [user_va, user_va + length) at exactly
  /// [iova, iova + length). Returns the IOVA the kernel wrote back (iova).
  /// Preconditions: as map(); iova is a multiple of the IOAS alignment and the range lies
  /// in one of its ranges.
  /// Errors: as map(), and EEXIST (the range overlaps a mapping), EINVAL (the range meets
  /// a reserved region or is misaligned: io_pagetable.c, iopt_check_iova); EOVERFLOW
  /// (iova + length wraps, or iova >= ULONG_MAX).
  result<std::uint64_t> map_fixed(ioas_id id, std::uint64_t iova, std::uint64_t user_va, std::uint64_t length,
                                  std::uint32_t flags = default_map_flags) noexcept {
    return do_map(id, user_va, length, iova, flags | abi::iommufd::map_flags::fixed_iova);
  }
  /// map_fixed() of the caller's memory. As map_fixed(ioas, iova, user_va, ...).
  result<std::uint64_t> map_fixed(ioas_id id, std::uint64_t iova, void* memory, std::size_t length,
                                  std::uint32_t flags = default_map_flags) noexcept {
    return map_fixed(id, iova, reinterpret_cast<std::uintptr_t>(memory), length, flags);
  }
  /// map_fixed() of read-only memory (READABLE alone). As map_fixed(ioas, iova, user_va, ...).
  result<std::uint64_t> map_fixed(ioas_id id, std::uint64_t iova, const void* memory, std::size_t length) noexcept {
    return map_fixed(id, iova, reinterpret_cast<std::uintptr_t>(memory), length, abi::iommufd::map_flags::readable);
  }

  /// IOMMU_IOAS_UNMAP of [iova, iova + length): every mapping inside goes; one that
  /// crosses either end makes the call fail (no split). Returns the bytes unmapped.
  /// Errors (ioas.c iommufd_ioas_unmap, io_pagetable.c iopt_unmap_iova_range): EBADF
  /// (empty iommufd, no syscall); ENOENT (no such IOAS; nothing mapped in the range; a
  /// mapping crosses its ends); EINVAL (length 0); EOVERFLOW (wraps); EBUSY (a map of
  /// the same range is still in progress).
  result<std::uint64_t> unmap(ioas_id id, std::uint64_t iova, std::uint64_t length) noexcept {
    return do_unmap(id, iova, length);
  }
  /// IOMMU_IOAS_UNMAP of everything (iova 0, length UINT64_MAX, which the kernel reads as
  /// "all"); succeeds with 0 on an empty IOAS. Returns the bytes unmapped.
  /// Errors: EBADF (empty iommufd, no syscall); ENOENT (no such IOAS); EBUSY.
  result<std::uint64_t> unmap_all(ioas_id id) noexcept { return do_unmap(id, 0, ~std::uint64_t{0}); }

  /// IOMMU_IOAS_COPY without FIXED_IOVA: maps the pages behind [src_iova, src_iova +
  /// length) of `src` into `dst` at an IOVA the kernel picks, without pinning them again.
  /// Returns the IOVA in dst.
  /// Preconditions: the source range is covered by mappings of src without a gap.
  /// Errors (ioas.c iommufd_ioas_copy): EBADF (empty iommufd, no syscall); ENOENT (no
  /// such IOAS, or a gap in the source range: iopt_get_pages); EINVAL (neither readable
  /// nor writeable, length 0); EPERM (writeable, but the source pages were mapped
  /// read-only); EOVERFLOW; ENOSPC; and map()'s.
  result<std::uint64_t> copy(ioas_id dst, ioas_id src, std::uint64_t src_iova, std::uint64_t length,
                             std::uint32_t flags = default_map_flags) noexcept {
    return do_copy(dst, 0, src, src_iova, length, flags & ~abi::iommufd::map_flags::fixed_iova);
  }
  /// IOMMU_IOAS_COPY with FIXED_IOVA, into dst at exactly dst_iova. Returns dst_iova.
  /// Errors: as copy(), and map_fixed()'s (EEXIST ...).
  result<std::uint64_t> copy_fixed(ioas_id dst, std::uint64_t dst_iova, ioas_id src, std::uint64_t src_iova,
                                   std::uint64_t length, std::uint32_t flags = default_map_flags) noexcept {
    return do_copy(dst, dst_iova, src, src_iova, length, flags | abi::iommufd::map_flags::fixed_iova);
  }

  /// IOMMU_IOAS_IOVA_RANGES: the IOAS's usable IOVA ranges and alignment. They narrow as
  /// devices attach and widen as they detach: ask again after either. One ioctl with a
  /// stack array of stack_ranges entries; when the kernel reports more (-EMSGSIZE, with
  /// num_iovas set to the total: ioas.c iommufd_ioas_iova_ranges), once more with an
  /// array of that size (up to detail::max_iova_ranges_attempts times if they keep
  /// growing). Allocates the result's array (one nothrow allocation).
  /// Errors: EBADF (empty iommufd, no syscall); ENOENT (no such IOAS); ENOMEM;
  /// errc::argsz_too_large (more than max_iova_ranges ranges, or still growing).
  result<ioas_ranges> iova_ranges(ioas_id id) noexcept;

  /// IOMMU_IOAS_ALLOW_IOVAS: from now on the IOAS keeps `ranges` usable (an attach that
  /// would reserve part of them fails) and automatic IOVAs come from them only. Replaces
  /// the previous list; an empty list clears it. `end` is inclusive.
  /// Errors (ioas.c iommufd_ioas_allow_iovas, io_pagetable.c iopt_set_allow_iova): EBADF
  /// (empty iommufd, no syscall); errc::invalid_argument from the "IOVA range count
  /// check" (more than max_iova_ranges), no syscall; ENOENT (no such IOAS); EINVAL (a
  /// range with start >= end, or two that overlap); EADDRINUSE (a range meets a region
  /// already reserved, e.g. by an attached device); ENOMEM.
  result<void> allow_iovas(ioas_id id, span<const iova_range> ranges) noexcept;

  // --- options ------------------------------------------------------------------------

  /// IOMMU_OPTION with OP_GET: the value of option `option_id`
  /// (abi::iommufd::option_id) of `object_id` (0 for a global option).
  /// Errors (main.c iommufd_option, ioas.c): EBADF (empty iommufd, no syscall);
  /// EOPNOTSUPP (unknown option, or object_id wrong for a global one); ENOENT (no such
  /// IOAS for a per-IOAS option).
  result<std::uint64_t> get_option(std::uint32_t option_id, std::uint32_t object_id = 0) noexcept {
    return do_option(option_id, object_id, abi::iommufd::option_op::get, 0);
  }
  /// IOMMU_OPTION with OP_SET of `value`.
  /// Errors: as get_option(), and EINVAL (value not 0 or 1); for RLIMIT_MODE EPERM
  /// (without CAP_SYS_RESOURCE) and EBUSY (the iommufd already holds objects:
  /// ioas.c iommufd_option_rlimit_mode).
  result<void> set_option(std::uint32_t option_id, std::uint64_t value, std::uint32_t object_id = 0) noexcept {
    auto r = do_option(option_id, object_id, abi::iommufd::option_op::set, value);
    if (!r) return r.error();
    return {};
  }
  /// IOMMU_OPTION_RLIMIT_MODE: true when pinned pages count against the process's
  /// RLIMIT_MEMLOCK (as VFIO type1 does), false when against the user's (the default for
  /// /dev/iommu). Errors: as get_option().
  result<bool> rlimit_per_process() noexcept {
    auto v = get_option(abi::iommufd::option_id::rlimit_mode);
    if (!v) return v.error();
    return *v != 0;
  }
  /// Sets IOMMU_OPTION_RLIMIT_MODE. Precondition: no object allocated yet; CAP_SYS_RESOURCE.
  /// Errors: as set_option().
  result<void> set_rlimit_per_process(bool per_process) noexcept {
    return set_option(abi::iommufd::option_id::rlimit_mode, per_process ? 1 : 0);
  }
  /// IOMMU_OPTION_HUGE_PAGES of an IOAS: whether contiguous pages are combined into
  /// large IOMMU pages (the default). Errors: as get_option().
  result<bool> huge_pages(ioas_id id) noexcept {
    auto v = get_option(abi::iommufd::option_id::huge_pages, id.value);
    if (!v) return v.error();
    return *v != 0;
  }
  /// Sets IOMMU_OPTION_HUGE_PAGES of an IOAS. Errors: as set_option(); turning them off
  /// is EINVAL once a device is attached and something is mapped (io_pagetable.c,
  /// iopt_disable_large_pages), or EADDRINUSE when a mapping is not page aligned, as the
  /// PAGE_SIZE IOVA alignment that follows requires (iopt_calculate_iova_alignment).
  result<void> set_huge_pages(ioas_id id, bool enable) noexcept {
    return set_option(abi::iommufd::option_id::huge_pages, enable ? 1 : 0, id.value);
  }

  // --- hardware page tables -----------------------------------------------------------

  /// IOMMU_GET_HW_INFO for the IOMMU behind a bound device: capabilities (dirty tracking,
  /// PASID) and, into `data`, the IOMMU type's own information (e.g.
  /// abi::iommufd::hw_info_vtd); the kernel zeroes what it does not fill.
  /// Errors (device.c, iommufd_get_hw_info): EBADF (empty iommufd, no syscall); ENOENT
  /// (no such device); EFAULT; ENOTTY (a kernel before the ioctl, v6.6).
  result<iommu_hw_info> get_hw_info(dev_id device, span<std::byte> data = {}) noexcept;

  /// IOMMU_HWPT_ALLOC of a kernel-managed (paging) HWPT for `device` on IOAS `pt`
  /// (data type NONE). flags: abi::iommufd::hwpt_alloc_flags (dirty_tracking,
  /// nest_parent). The handle destroys it on drop; attach the device to it with
  /// cdev::attach. Nested HWPTs (user data) are not wrapped.
  /// Errors (hw_pagetable.c, iommufd_hwpt_alloc / iommufd_hwpt_paging_alloc): EBADF
  /// (empty iommufd, no syscall); ENOENT (no such device); EINVAL (pt is not an IOAS or
  /// HWPT, or does not exist); EOPNOTSUPP (an unknown flag, dirty_tracking on an IOMMU
  /// without it, flags the IOMMU driver cannot take, pt an HWPT: a nested HWPT needs
  /// user data, iommufd_hwpt_nested_alloc); ENOMEM; ENOTTY (before v6.6).
  result<hwpt> hwpt_alloc(dev_id device, pt_id pt, std::uint32_t flags = 0) noexcept;

  /// IOMMU_HWPT_SET_DIRTY_TRACKING: starts (clearing the dirty bits first) or stops dirty
  /// tracking of an HWPT.
  /// Errors (hw_pagetable.c iommufd_hwpt_set_dirty_tracking, io_pagetable.c
  /// iopt_set_dirty_tracking): EBADF (empty iommufd, no syscall); ENOENT (no such paging
  /// HWPT); EOPNOTSUPP (the HWPT was not allocated with dirty tracking); ENOTTY (before v6.7).
  result<void> set_dirty_tracking(hwpt_id id, bool enable) noexcept;

  /// IOMMU_HWPT_GET_DIRTY_BITMAP of [iova, iova + length) at page_size granularity into
  /// `bitmap` (bit i: the page at iova + i * page_size was written), clearing the dirty
  /// bits unless flags has abi::iommufd::dirty_bitmap_flags::no_clear. The kernel only
  /// sets bits: clear the bitmap between calls.
  /// Errors: EBADF (empty iommufd, no syscall); errc::invalid_argument from the "dirty
  /// bitmap check" (page_size not a power of two, or length 0), errc::out_of_bounds from
  /// the "bitmap size check" (bitmap shorter than length / page_size bits), no syscall;
  /// the kernel's (hw_pagetable.c iommufd_hwpt_get_dirty_bitmap, io_pagetable.c
  /// iommufd_check_iova_range, iopt_read_and_clear_dirty_data): ENOENT (no such paging
  /// HWPT); EOPNOTSUPP (not dirty tracking, unknown flags); EINVAL (iova or iova +
  /// length not aligned to page_size or to the IOMMU page, part of the range not
  /// mapped); EOVERFLOW; EFAULT; ENOMEM.
  result<void> get_dirty_bitmap(hwpt_id id, std::uint64_t iova, std::uint64_t length, std::uint64_t page_size,
                                span<std::uint64_t> bitmap, std::uint32_t flags = 0) noexcept;

  /// The default flags of map() and copy(): the device may read and write.
  static constexpr std::uint32_t default_map_flags =
      abi::iommufd::map_flags::readable | abi::iommufd::map_flags::writeable;
  /// Ranges iova_ranges() reads in its first call, from the stack.
  static constexpr std::uint32_t stack_ranges = 8;
  /// The most ranges iova_ranges() and allow_iovas() take (as many as fill detail::max_info_argsz).
  static constexpr std::uint32_t max_iova_ranges =
      detail::max_info_argsz / static_cast<std::uint32_t>(sizeof(abi::iommufd::iova_range));

 private:
  template <class Id, subject::iommufd_type Type>
  friend class iommufd_object;
  friend class detail::iommufd_link;

  static constexpr subject node_subject() noexcept { return subject::host(subject::host_object::iommu_node); }
  /// The subject of a call about the whole iommufd: its node, when opened by the default path.
  subject whole() const noexcept { return named_ ? node_subject() : subject(); }
  static constexpr subject about(ioas_id id) noexcept {
    return subject::iommufd_object(id.value, subject::iommufd_type::ioas);
  }
  static constexpr subject about(hwpt_id id) noexcept {
    return subject::iommufd_object(id.value, subject::iommufd_type::hwpt);
  }
  static constexpr subject about(dev_id id) noexcept {
    return subject::iommufd_object(id.value, subject::iommufd_type::device);
  }

  result<void> do_destroy(std::uint32_t id, subject about_object) noexcept {
    constexpr const char* op = "IOMMU_DESTROY";
    if (!fd_) return errno_error(EBADF, op, about_object);
    abi::iommufd::destroy arg{};
    arg.size = sizeof arg;
    arg.id = id;
    const int r = sys().ioctl(fd_.get(), abi::iommufd::req::destroy, &arg);
    if (r < 0) return errno_error(-r, op, about_object);
    return {};
  }

  result<std::uint64_t> do_map(ioas_id id, std::uint64_t user_va, std::uint64_t length, std::uint64_t iova,
                               std::uint32_t flags) noexcept {
    constexpr const char* op = "IOMMU_IOAS_MAP";
    if (!fd_) return errno_error(EBADF, op, about(id));
    abi::iommufd::ioas_map arg{};
    arg.size = sizeof arg;
    arg.flags = flags;
    arg.ioas_id = id.value;
    arg.user_va = user_va;
    arg.length = length;
    arg.iova = iova;
    const int r = sys().ioctl(fd_.get(), abi::iommufd::req::ioas_map, &arg);
    if (r < 0) return errno_error(-r, op, about(id));
    return arg.iova;
  }

  result<std::uint64_t> do_unmap(ioas_id id, std::uint64_t iova, std::uint64_t length) noexcept {
    constexpr const char* op = "IOMMU_IOAS_UNMAP";
    if (!fd_) return errno_error(EBADF, op, about(id));
    abi::iommufd::ioas_unmap arg{};
    arg.size = sizeof arg;
    arg.ioas_id = id.value;
    arg.iova = iova;
    arg.length = length;
    const int r = sys().ioctl(fd_.get(), abi::iommufd::req::ioas_unmap, &arg);
    if (r < 0) return errno_error(-r, op, about(id));
    return arg.length;
  }

  result<std::uint64_t> do_copy(ioas_id dst, std::uint64_t dst_iova, ioas_id src, std::uint64_t src_iova,
                                std::uint64_t length, std::uint32_t flags) noexcept {
    constexpr const char* op = "IOMMU_IOAS_COPY";
    if (!fd_) return errno_error(EBADF, op, about(dst));
    abi::iommufd::ioas_copy arg{};
    arg.size = sizeof arg;
    arg.flags = flags;
    arg.dst_ioas_id = dst.value;
    arg.src_ioas_id = src.value;
    arg.length = length;
    arg.dst_iova = dst_iova;
    arg.src_iova = src_iova;
    const int r = sys().ioctl(fd_.get(), abi::iommufd::req::ioas_copy, &arg);
    if (r < 0) return errno_error(-r, op, about(dst));
    return arg.dst_iova;
  }

  result<std::uint64_t> do_option(std::uint32_t option_id, std::uint32_t object_id, std::uint16_t op_code,
                                  std::uint64_t value) noexcept {
    constexpr const char* op = "IOMMU_OPTION";
    const subject about_option = object_id != 0 ? subject::iommufd_object(object_id) : whole();
    if (!fd_) return errno_error(EBADF, op, about_option);
    abi::iommufd::option arg{};
    arg.size = sizeof arg;
    arg.option_id = option_id;
    arg.op = op_code;
    arg.object_id = object_id;
    arg.val64 = value;
    const int r = sys().ioctl(fd_.get(), abi::iommufd::req::option, &arg);
    if (r < 0) return errno_error(-r, op, about_option);
    return arg.val64;
  }

  void take_links(iommufd& o) noexcept {
    links_ = std::exchange(o.links_, nullptr);
    for (detail::iommufd_link* l = links_; l; l = l->next_) l->owner_ = this;
  }
  /// Empties every handle: their objects go with the descriptor.
  void forget_links() noexcept {
    while (links_) links_->unlink();
  }

  unique_fd fd_;
  bool named_ = false;  // opened by default_path: errors about the whole iommufd name it
  detail::iommufd_link* links_ = nullptr;
};

// ---------------------------------------------------------------------------------------

namespace detail {

/// IOMMU_IOAS_IOVA_RANGES calls made before giving up on a list that keeps growing.
inline constexpr int max_iova_ranges_attempts = 4;

inline void iommufd_link::link(iommufd* owner) noexcept {
  owner_ = owner;
  prev_ = nullptr;
  next_ = owner->links_;
  if (next_) next_->prev_ = this;
  owner->links_ = this;
}

inline void iommufd_link::unlink() noexcept {
  if (!owner_) return;
  if (prev_)
    prev_->next_ = next_;
  else
    owner_->links_ = next_;
  if (next_) next_->prev_ = prev_;
  owner_ = nullptr;
  prev_ = next_ = nullptr;
}

}  // namespace detail

template <class Id, subject::iommufd_type Type>
result<void> iommufd_object<Id, Type>::destroy() noexcept {
  iommufd* owner = this->owner();
  if (!owner) return {};
  auto r = owner->do_destroy(id_.value, subject::iommufd_object(id_.value, Type));
  if (!r) return r;
  unlink();
  return {};
}

inline result<ioas_ranges> iommufd::iova_ranges(ioas_id id) noexcept {
  constexpr const char* op = "IOMMU_IOAS_IOVA_RANGES";
  using range = abi::iommufd::iova_range;
  if (!fd_) return errno_error(EBADF, op, about(id));
  range local[stack_ranges] = {};
  heap_array<range> grown;
  range* buf = local;
  std::uint32_t capacity = stack_ranges;
  abi::iommufd::ioas_iova_ranges arg{};
  for (int attempt = 0;; ++attempt) {
    arg = abi::iommufd::ioas_iova_ranges{};
    arg.size = sizeof arg;
    arg.ioas_id = id.value;
    arg.num_iovas = capacity;
    arg.allowed_iovas = reinterpret_cast<std::uintptr_t>(buf);
    const int r = sys().ioctl(fd_.get(), abi::iommufd::req::ioas_iova_ranges, &arg);
    // -EMSGSIZE: the array was too small and num_iovas is the total. A success claiming
    // more than the array held is treated the same: nothing past the array is read.
    const bool short_array = (r == -EMSGSIZE || r >= 0) && arg.num_iovas > capacity;
    if (!short_array) {
      if (r < 0) return errno_error(-r, op, about(id));
      break;
    }
    if (arg.num_iovas > max_iova_ranges || attempt + 1 == detail::max_iova_ranges_attempts)
      return error(errc::argsz_too_large, op, about(id));
    if (!grown.allocate(arg.num_iovas)) return errno_error(ENOMEM, op, about(id));
    buf = grown.data();
    capacity = arg.num_iovas;
  }
  ioas_ranges out;
  if (!out.ranges.allocate(arg.num_iovas)) return errno_error(ENOMEM, op, about(id));
  for (std::uint32_t i = 0; i < arg.num_iovas; ++i) out.ranges[i] = iova_range{buf[i].start, buf[i].last};
  out.alignment = arg.out_iova_alignment;
  return out;
}

inline result<void> iommufd::allow_iovas(ioas_id id, span<const iova_range> ranges) noexcept {
  constexpr const char* op = "IOMMU_IOAS_ALLOW_IOVAS";
  using range = abi::iommufd::iova_range;
  if (!fd_) return errno_error(EBADF, op, about(id));
  if (ranges.size() > max_iova_ranges) return error(errc::invalid_argument, "IOVA range count check", about(id));
  range local[stack_ranges] = {};
  heap_array<range> grown;
  range* buf = local;
  if (ranges.size() > stack_ranges) {
    if (!grown.allocate(ranges.size())) return errno_error(ENOMEM, op, about(id));
    buf = grown.data();
  }
  for (std::size_t i = 0; i < ranges.size(); ++i) buf[i] = range{ranges[i].start, ranges[i].end};
  abi::iommufd::ioas_allow_iovas arg{};
  arg.size = sizeof arg;
  arg.ioas_id = id.value;
  arg.num_iovas = static_cast<std::uint32_t>(ranges.size());
  arg.allowed_iovas = ranges.empty() ? 0 : reinterpret_cast<std::uintptr_t>(buf);
  const int r = sys().ioctl(fd_.get(), abi::iommufd::req::ioas_allow_iovas, &arg);
  if (r < 0) return errno_error(-r, op, about(id));
  return {};
}

inline result<iommu_hw_info> iommufd::get_hw_info(dev_id device, span<std::byte> data) noexcept {
  constexpr const char* op = "IOMMU_GET_HW_INFO";
  if (!fd_) return errno_error(EBADF, op, about(device));
  abi::iommufd::hw_info arg{};
  arg.size = sizeof arg;
  arg.dev_id = device.value;
  // data_len is a u32: a larger buffer is offered only in part.
  arg.data_len = data.size() > 0xffffffffU ? 0xffffffffU : static_cast<std::uint32_t>(data.size());
  arg.data_uptr = data.empty() ? 0 : reinterpret_cast<std::uintptr_t>(data.data());
  const int r = sys().ioctl(fd_.get(), abi::iommufd::req::get_hw_info, &arg);
  if (r < 0) return errno_error(-r, op, about(device));
  iommu_hw_info out;
  out.data_type = arg.out_data_type;
  out.data_len = arg.data_len;
  out.capabilities = arg.out_capabilities;
  out.max_pasid_log2 = arg.out_max_pasid_log2;
  return out;
}

inline result<hwpt> iommufd::hwpt_alloc(dev_id device, pt_id pt, std::uint32_t flags) noexcept {
  constexpr const char* op = "IOMMU_HWPT_ALLOC";
  if (!fd_) return errno_error(EBADF, op, about(device));
  abi::iommufd::hwpt_alloc arg{};
  arg.size = sizeof arg;
  arg.flags = flags;
  arg.dev_id = device.value;
  arg.pt_id = pt.value;
  arg.data_type = abi::iommufd::hwpt_data_type::none;
  const int r = sys().ioctl(fd_.get(), abi::iommufd::req::hwpt_alloc, &arg);
  if (r < 0) return errno_error(-r, op, about(device));
  return hwpt(*this, hwpt_id{arg.out_hwpt_id});
}

inline result<void> iommufd::set_dirty_tracking(hwpt_id id, bool enable) noexcept {
  constexpr const char* op = "IOMMU_HWPT_SET_DIRTY_TRACKING";
  if (!fd_) return errno_error(EBADF, op, about(id));
  abi::iommufd::hwpt_set_dirty_tracking arg{};
  arg.size = sizeof arg;
  arg.flags = enable ? abi::iommufd::dirty_tracking_flags::enable : 0;
  arg.hwpt_id = id.value;
  const int r = sys().ioctl(fd_.get(), abi::iommufd::req::hwpt_set_dirty_tracking, &arg);
  if (r < 0) return errno_error(-r, op, about(id));
  return {};
}

inline result<void> iommufd::get_dirty_bitmap(hwpt_id id, std::uint64_t iova, std::uint64_t length,
                                              std::uint64_t page_size, span<std::uint64_t> bitmap,
                                              std::uint32_t flags) noexcept {
  constexpr const char* op = "IOMMU_HWPT_GET_DIRTY_BITMAP";
  if (!fd_) return errno_error(EBADF, op, about(id));
  if (page_size == 0 || (page_size & (page_size - 1)) != 0 || length == 0)
    return error(errc::invalid_argument, "dirty bitmap check", about(id));
  // Bits for every page the range touches, 64 to a word (the kernel's iova_bitmap walks
  // u64 words from `data`).
  const std::uint64_t pages = length / page_size + (length % page_size != 0 ? 1 : 0);
  const std::uint64_t words = pages / 64 + (pages % 64 != 0 ? 1 : 0);
  if (words > bitmap.size()) return error(errc::out_of_bounds, "bitmap size check", about(id));
  abi::iommufd::hwpt_get_dirty_bitmap arg{};
  arg.size = sizeof arg;
  arg.hwpt_id = id.value;
  arg.flags = flags;
  arg.iova = iova;
  arg.length = length;
  arg.page_size = page_size;
  arg.data = reinterpret_cast<std::uintptr_t>(bitmap.data());
  const int r = sys().ioctl(fd_.get(), abi::iommufd::req::hwpt_get_dirty_bitmap, &arg);
  if (r < 0) return errno_error(-r, op, about(id));
  return {};
}

}  // namespace vfio

#endif  // VFIO_IOMMUFD_HPP_INCLUDED
