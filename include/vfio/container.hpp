// vfio::container: owner of a VFIO container (/dev/vfio/vfio) — IOMMU model
// selection, IOMMU information and DMA mapping (Type1 / Type1v2).
#ifndef VFIO_CONTAINER_HPP_INCLUDED
#define VFIO_CONTAINER_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <utility>
#include <vector>

#include <fcntl.h>

#include "abi/iommufd.hpp"
#include "abi/vfio.hpp"
#include "detail/info_buffer.hpp"
#include "error.hpp"
#include "heap_array.hpp"
#include "result.hpp"
#include "span.hpp"
#include "syscalls.hpp"
#include "unique_fd.hpp"

namespace vfio {

/// One usable IOVA range; `end` is the last usable address (inclusive), as the
/// kernel reports it in VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE.
struct iova_range {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
};

/// VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION: the IOMMU's dirty-page tracking support.
struct iommu_migration_info {
  std::uint32_t flags = 0;
  std::uint64_t pgsize_bitmap = 0;          ///< page sizes usable for dirty tracking
  std::uint64_t max_dirty_bitmap_size = 0;  ///< bytes
};

/// What VFIO_IOMMU_GET_INFO reports for a Type1 container.
struct iommu_info {
  std::uint32_t flags = 0;                 ///< abi::iommu_info_flags
  std::uint64_t iova_pgsizes = 0;          ///< supported IOMMU page sizes (bitmap); 0 without the PGSIZES flag
  heap_array<iova_range> iova_ranges;      ///< empty when the kernel reports no IOVA_RANGE capability
  std::optional<std::uint32_t> dma_avail;  ///< DMA mappings still allowed (VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL)
  std::optional<iommu_migration_info> migration;
};

/// Which kernel code answers a container's ioctls (container::provider()).
enum class container_provider {
  vfio,     ///< VFIO's own container (drivers/vfio/container.c) and its IOMMU driver (type1)
  iommufd,  ///< iommufd's VFIO compatibility (drivers/iommu/iommufd/vfio_compat.c)
};

/// Owns a container descriptor (/dev/vfio/vfio). Move-only. Attached groups hold
/// their own reference to the kernel container (drivers/vfio/container.c:
/// vfio_container_attach_group), so closing this descriptor does not detach them;
/// the IOMMU and its mappings go away when the last group is detached
/// (vfio_group_detach_container).
///
/// Order of use: open(), attach at least one group (group::set_container), then
/// set_iommu()/set_best_iommu(), then map_dma(). The kernel refuses SET_IOMMU on a
/// container without groups (vfio_ioctl_set_iommu: -EINVAL), and passes the
/// IOMMU ioctls (GET_INFO, MAP_DMA, UNMAP_DMA) to an IOMMU driver only once one
/// is set (vfio_fops_unl_ioctl answers -EINVAL before that).
///
/// On kernels built with CONFIG_IOMMUFD_VFIO_CONTAINER (and without
/// CONFIG_VFIO_CONTAINER), /dev/vfio/vfio is iommufd's compatibility container
/// (drivers/iommu/iommufd/vfio_compat.c). On every kernel with CONFIG_IOMMUFD,
/// open("/dev/iommu") gives the same thing: an iommufd that VFIO_GROUP_SET_CONTAINER
/// accepts (group.c vfio_group_ioctl_set_container), and that answers the container
/// ioctls through the same functions. provider() tells the two kinds apart. This
/// class works on it unchanged; the kernel's answers differ from the type1 driver's
/// as follows (read from 6.12's source, and checked on the project's own 6.12 build
/// through /dev/iommu):
/// - VFIO_GROUP_SET_CONTAINER creates the compatibility IOAS and claims nothing: a
///   group that is not viable attaches, and VFIO_GROUP_GET_DEVICE_FD fails with
///   -EPERM instead; the first GET_DEVICE_FD of a device binds it to the iommufd
///   and attaches it to that IOAS. VFIO_GROUP_UNSET_CONTAINER succeeds while
///   devices are open (type1: -EBUSY); the IOAS and its mappings stay with the
///   iommufd, also after the last group is detached (type1 drops them).
/// - Until a device is open, no IOMMU domain holds the IOAS: GET_INFO reports every
///   page size from 4 KiB up and the whole 64-bit space as one IOVA range; the
///   domain's page sizes, aperture and reserved regions (the MSI window) appear
///   once a device is open. type1 reports them from the group attach on.
/// - VFIO_CHECK_EXTENSION: TYPE1, TYPE1v2 and UNMAP_ALL answer 1; UPDATE_VADDR and
///   TYPE1_NESTING answer 0, so supports_update_vaddr() is false and the live-update
///   calls fail with errc::extension_unsupported; DMA_CC_IOMMU follows the attached
///   domains, and is -ENODEV before a group is attached.
/// - SET_IOMMU takes TYPE1 or TYPE1v2 (TYPE1 disables large IOMMU pages), and may be
///   repeated; another type is -EINVAL. It and the IOMMU ioctls answer -ENODEV
///   before a group is attached, not -EINVAL: the compatibility IOAS is created by
///   VFIO_GROUP_SET_CONTAINER. The IOMMU ioctls work without SET_IOMMU.
/// - MAP_DMA takes only the READ and WRITE flags (VADDR: -EINVAL); without either it
///   is -EINVAL once a device is open (the IOMMU driver's map refuses it; intel-iommu
///   __domain_mapping), and accepted before; UNMAP_DMA takes only
///   ALL (GET_DIRTY_BITMAP, VADDR: -EINVAL); unmapping part of a mapping is -ENOENT
///   (type1v2: -EINVAL); an unmap that finds nothing succeeds with size 0, as in type1.
/// - GET_INFO reports the page sizes, DMA_AVAIL (always U32_MAX) and the IOVA ranges,
///   never the migration capability; VFIO_IOMMU_DIRTY_PAGES is -ENOTTY. Dirty
///   tracking on such a kernel is the device's (dma_logging) or an iommufd HWPT's.
class container {
 public:
  /// An empty container (no descriptor).
  container() noexcept = default;
  container(container&& other) noexcept : fd_(std::move(other.fd_)), iommu_type_(std::exchange(other.iommu_type_, 0)) {}
  container& operator=(container&& other) noexcept {
    if (this != &other) {
      fd_ = std::move(other.fd_);
      iommu_type_ = std::exchange(other.iommu_type_, 0);
    }
    return *this;
  }
  container(const container&) = delete;
  container& operator=(const container&) = delete;
  ~container() = default;

  /// Opens a container: open(path, O_RDWR|O_CLOEXEC), then VFIO_GET_API_VERSION,
  /// which must return abi::api_version. The descriptor is closed on every failure.
  /// Errors: open's errno (ENOENT: vfio not loaded; EACCES); VFIO_GET_API_VERSION's
  /// errno (ENOTTY: path is not a VFIO container); errc::api_version_mismatch.
  static result<container> open(const char* path = "/dev/vfio/vfio", syscalls& sys = default_syscalls()) noexcept {
    // A caller's own path cannot be kept without allocating: only the default is named.
    const subject about = path && std::strcmp(path, "/dev/vfio/vfio") == 0
                              ? subject::host(subject::host_object::container_node)
                              : subject();
    const int r = sys.open(path, O_RDWR | O_CLOEXEC, 0);
    if (r < 0) return errno_error(-r, "open", about);
    unique_fd fd(r, sys);
    const int version = sys.ioctl(fd.get(), abi::req::get_api_version, nullptr);
    if (version < 0) return errno_error(-version, "VFIO_GET_API_VERSION", about);
    if (version != abi::api_version) return error(errc::api_version_mismatch, "VFIO_GET_API_VERSION", about);
    return container(std::move(fd));
  }

  int fd() const noexcept { return fd_.get(); }
  /// The seam this container was opened with.
  syscalls& sys() const noexcept { return fd_.sys(); }
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }
  /// The IOMMU type set by set_iommu()/set_best_iommu() (abi::extension::*), 0 until then.
  std::uint32_t iommu_type() const noexcept { return iommu_type_; }

  /// Whether VFIO's container or iommufd's compatibility container answers, asked
  /// with IOMMU_VFIO_IOAS(IOMMU_VFIO_IOAS_GET), which changes nothing: iommufd
  /// answers it (0 with the compatibility IOAS, -ENODEV before a group is attached:
  /// vfio_compat.c iommufd_vfio_ioas); VFIO's container passes it to its IOMMU
  /// driver (-EINVAL before SET_IOMMU, container.c vfio_fops_unl_ioctl; type1's
  /// -ENOTTY after). One ioctl, not cached.
  /// Precondition: *this is open.
  /// Errors: EBADF (empty container, no syscall); any other errno of the ioctl.
  result<container_provider> provider() noexcept {
    if (!fd_) return errno_error(EBADF, "IOMMU_VFIO_IOAS");
    abi::iommufd::vfio_ioas cmd{};
    cmd.size = sizeof cmd;
    cmd.op = abi::iommufd::vfio_ioas_op::get;
    const int r = sys().ioctl(fd_.get(), abi::iommufd::req::vfio_ioas, &cmd);
    if (r == 0 || r == -ENODEV) return container_provider::iommufd;
    if (r == -EINVAL || r == -ENOTTY) return container_provider::vfio;
    return errno_error(-r, "IOMMU_VFIO_IOAS");
  }

  /// VFIO_CHECK_EXTENSION, the extension passed by value (abi::extension::*).
  /// Before an IOMMU is set the kernel asks every registered IOMMU driver; after,
  /// only the one in use (container.c: vfio_container_ioctl_check_extension).
  /// Precondition: *this is open.
  /// Errors: EBADF (empty container, no syscall); the ioctl's errno (rare).
  result<bool> check_extension(std::uint32_t extension) noexcept {
    if (!fd_) return errno_error(EBADF, "VFIO_CHECK_EXTENSION");
    const int r = sys().ioctl_value(fd_.get(), abi::req::check_extension, extension);
    if (r < 0) return errno_error(-r, "VFIO_CHECK_EXTENSION");
    return r > 0;
  }

  /// VFIO_SET_IOMMU with `type` by value (abi::extension::type1v2_iommu, ...),
  /// after VFIO_CHECK_EXTENSION(type). A type no registered IOMMU driver offers is
  /// reported as errc::extension_unsupported without issuing SET_IOMMU (the kernel
  /// would answer -ENODEV: vfio_ioctl_set_iommu skips every driver whose
  /// CHECK_EXTENSION is <= 0 and keeps its initial -ENODEV).
  /// Preconditions: *this is open; at least one group is attached.
  /// Errors: EBADF (empty container); errc::extension_unsupported; EINVAL (no group
  /// attached yet, or an IOMMU is already set); EPERM (no-IOMMU without
  /// CAP_SYS_RAWIO); errors from attaching the groups to the new IOMMU domain.
  result<void> set_iommu(std::uint32_t type) noexcept {
    const auto offered = check_extension(type);
    if (!offered) return offered.error();
    if (!*offered) return error(errc::extension_unsupported, "VFIO_SET_IOMMU");
    return do_set_iommu(type);
  }

  /// Sets the best Type1 model the container offers: Type1v2 (strict unmap
  /// semantics, abi::extension::type1v2_iommu), else Type1. Returns the type set.
  /// Issues VFIO_CHECK_EXTENSION(Type1v2) [, VFIO_CHECK_EXTENSION(Type1)], VFIO_SET_IOMMU.
  /// Preconditions and errors: as set_iommu(); errc::extension_unsupported when
  /// neither is offered.
  result<std::uint32_t> set_best_iommu() noexcept {
    for (const std::uint32_t type : {abi::extension::type1v2_iommu, abi::extension::type1_iommu}) {
      const auto offered = check_extension(type);
      if (!offered) return offered.error();
      if (!*offered) continue;
      if (auto set = do_set_iommu(type); !set) return set.error();
      return type;
    }
    return error(errc::extension_unsupported, "VFIO_SET_IOMMU");
  }

  /// VFIO_IOMMU_GET_INFO. Calls once with argsz = 512 from a stack buffer
  /// (detail::iommu_info_stack_size), which holds what Type1 reports in practice;
  /// when the kernel raises argsz (it does so whenever capabilities do not fit,
  /// vfio_iommu_type1.c: vfio_iommu_type1_get_info, leaving cap_offset 0), calls
  /// again with the raised argsz in a heap buffer. Parses the IOVA_RANGE, DMA_AVAIL
  /// and MIGRATION capabilities; unknown capabilities are skipped. The only
  /// allocation in the usual case is the returned iova_ranges array.
  /// Not cached: DMA_AVAIL changes with every map and unmap (made through any
  /// descriptor of the container, also another process's), and the IOVA ranges and
  /// page sizes change when a group attaches or detaches through group::set_container
  /// / unset_container, which this object does not see.
  /// Precondition: an IOMMU is set (set_iommu).
  /// Errors: EBADF (empty container); EINVAL (no IOMMU set); ENOMEM;
  /// errc::argsz_too_large (the kernel asks for more than detail::max_info_argsz,
  /// or keeps raising argsz); errc::malformed_capability_chain (an offset outside
  /// the buffer, inside the header, misaligned, a loop, a repeated or truncated
  /// capability).
  result<iommu_info> get_iommu_info() noexcept;

  /// VFIO_IOMMU_MAP_DMA: makes [vaddr, vaddr + size) of this process visible to
  /// the devices of the container's groups at [iova, iova + size).
  /// Preconditions: an IOMMU is set; vaddr, iova and size are multiples of the
  /// smallest IOMMU page size (iommu_info::iova_pgsizes); the range lies in one
  /// of iommu_info::iova_ranges; the memory stays mapped until unmapped here.
  /// Errors (vfio_iommu_type1.c: vfio_iommu_type1_map_dma, vfio_dma_do_map):
  /// EBADF (empty container); EINVAL (misaligned, zero size, neither read nor
  /// write, IOVA outside the valid ranges, no IOMMU set); iova + size or
  /// vaddr + size wrapping around: EINVAL on 6.1 and 6.12, EOVERFLOW on 7.x
  /// ("vfio/type1: sanitize for overflow using check_*_overflow", about
  /// v6.19: check_add_overflow in vfio_dma_do_map); EEXIST (overlaps an existing
  /// mapping); ENOSPC (no DMA mappings left, see dma_avail); ENOMEM
  /// (RLIMIT_MEMLOCK); EFAULT when the pages cannot be pinned
  /// (vfio_pin_pages_remote -> vaddr_get_pfns): part of the range is not
  /// mapped, or the memory is read-only and flags include
  /// VFIO_DMA_MAP_FLAG_WRITE (or not even readable).
  result<void> map_dma(std::uint64_t vaddr, std::uint64_t iova, std::uint64_t size,
                       std::uint32_t flags = abi::dma_map_flags::read | abi::dma_map_flags::write) noexcept {
    if (!fd_) return errno_error(EBADF, "VFIO_IOMMU_MAP_DMA");
    abi::iommu_type1_dma_map map{};
    map.argsz = sizeof map;
    map.flags = flags;
    map.vaddr = vaddr;
    map.iova = iova;
    map.size = size;
    const int r = sys().ioctl(fd_.get(), abi::req::iommu_map_dma, &map);
    if (r < 0) return errno_error(-r, "VFIO_IOMMU_MAP_DMA");
    return {};
  }

  /// map_dma of the caller's memory [memory, memory + size) at iova, without a
  /// pointer cast. The device may read and write it unless flags says otherwise.
  /// Preconditions and errors: as map_dma(vaddr, ...); memory is page-aligned.
  result<void> map_dma(void* memory, std::uint64_t iova, std::size_t size,
                       std::uint32_t flags = abi::dma_map_flags::read | abi::dma_map_flags::write) noexcept {
    return map_dma(reinterpret_cast<std::uintptr_t>(memory), iova, size, flags);
  }
  /// map_dma of read-only memory: the device may only read it
  /// (VFIO_DMA_MAP_FLAG_READ alone). Preconditions and errors: as map_dma(vaddr, ...).
  result<void> map_dma(const void* memory, std::uint64_t iova, std::size_t size) noexcept {
    return map_dma(reinterpret_cast<std::uintptr_t>(memory), iova, size, abi::dma_map_flags::read);
  }
  /// map_dma of a span of bytes at iova (read and write unless flags says
  /// otherwise). Preconditions and errors: as map_dma(vaddr, ...).
  result<void> map_dma(span<std::byte> memory, std::uint64_t iova,
                       std::uint32_t flags = abi::dma_map_flags::read | abi::dma_map_flags::write) noexcept {
    return map_dma(static_cast<void*>(memory.data()), iova, memory.size(), flags);
  }

  /// VFIO_IOMMU_UNMAP_DMA of [iova, iova + size). Returns the number of bytes the
  /// kernel actually unmapped, which it writes back into the struct's size field
  /// (vfio_dma_do_unmap: "Report how much was unmapped"); 0 when nothing was mapped
  /// there. Type1 (v1) may unmap more than asked; Type1v2 refuses to split a mapping.
  /// Precondition: an IOMMU is set; iova and size are page-aligned.
  /// Errors: EBADF (empty container); EINVAL (misaligned, zero size, Type1v2
  /// range bisecting a mapping, no IOMMU set); iova + size wrapping around:
  /// EINVAL on 6.1 and 6.12, EOVERFLOW on 7.x (vfio_dma_do_unmap).
  result<std::uint64_t> unmap_dma(std::uint64_t iova, std::uint64_t size) noexcept { return do_unmap(iova, size, 0); }

  /// VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_ALL (iova 0 and size 0, which
  /// the kernel requires with that flag: vfio_dma_do_unmap). Checks
  /// VFIO_CHECK_EXTENSION(VFIO_UNMAP_ALL) first. Returns the bytes unmapped.
  /// Precondition: an IOMMU is set.
  /// Errors: EBADF (empty container); errc::extension_unsupported (no
  /// VFIO_UNMAP_ALL); EINVAL (no IOMMU set).
  result<std::uint64_t> unmap_all_dma() noexcept {
    const auto offered = check_extension(abi::extension::unmap_all);
    if (!offered) return offered.error();
    if (!*offered) return error(errc::extension_unsupported, "VFIO_IOMMU_UNMAP_DMA");
    return do_unmap(0, 0, abi::dma_unmap_flags::all);
  }

  // Live update of DMA vaddrs (VFIO_UPDATE_VADDR): a VMM that re-executes itself keeps
  // the IOMMU mappings (and the device's DMA) while the process memory behind them
  // changes address. Type1's rules (drivers/vfio/vfio_iommu_type1.c):
  // - before the old vaddrs go away, invalidate them: UNMAP_DMA with FLAG_VADDR keeps
  //   every mapping inside [iova, iova + size) (or all, with FLAG_ALL) but marks its
  //   vaddr invalid (vfio_dma_do_unmap); a range holding an already-invalid one is
  //   EINVAL and the call is undone.
  // - then supply each new vaddr: MAP_DMA with FLAG_VADDR alone (no READ/WRITE), the
  //   same iova and size as the mapping (vfio_dma_do_map: no mapping there ENOENT; a
  //   different iova or size, or a vaddr still valid, EINVAL). The locked-memory
  //   accounting moves to the calling process (vfio_change_dma_owner: ENOMEM past its
  //   RLIMIT_MEMLOCK).
  // - while any vaddr is invalid, attaching another group to the container is EBUSY
  //   (vfio_iommu_type1_attach_group), and emulated (mdev) devices cannot pin pages.
  // - with an emulated (mdev) group attached, the extension reads 0 and FLAG_VADDR
  //   unmaps are EBUSY. Before SET_IOMMU the extension reads 0 (no IOMMU to ask).

  /// VFIO_CHECK_EXTENSION(VFIO_UPDATE_VADDR). Precondition: an IOMMU is set (before,
  /// the kernel answers 0).
  /// Errors: as check_extension().
  result<bool> supports_update_vaddr() noexcept { return check_extension(abi::extension::update_vaddr); }

  /// VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_VADDR over [iova, iova + size), after
  /// VFIO_CHECK_EXTENSION(VFIO_UPDATE_VADDR): the mappings stay (and the device keeps
  /// DMAing into the same pages) but their vaddrs become invalid until
  /// update_dma_vaddr(). Returns the bytes of the mappings invalidated.
  /// Precondition: an IOMMU is set; iova and size page-aligned.
  /// Errors: EBADF (empty container); errc::extension_unsupported; EINVAL (misaligned,
  /// a vaddr in the range already invalid, no IOMMU set); EBUSY (an emulated group).
  result<std::uint64_t> invalidate_dma_vaddr(std::uint64_t iova, std::uint64_t size) noexcept {
    const auto offered = supports_update_vaddr();
    if (!offered) return offered.error();
    if (!*offered) return error(errc::extension_unsupported, "VFIO_IOMMU_UNMAP_DMA");
    return do_unmap(iova, size, abi::dma_unmap_flags::vaddr);
  }

  /// VFIO_IOMMU_UNMAP_DMA with FLAG_VADDR | FLAG_ALL (iova 0, size 0): invalidates the
  /// vaddr of every mapping. Checks VFIO_UPDATE_VADDR and VFIO_UNMAP_ALL first.
  /// Errors: as invalidate_dma_vaddr(); errc::extension_unsupported (either missing).
  result<std::uint64_t> invalidate_all_dma_vaddr() noexcept {
    for (const std::uint32_t ext : {abi::extension::update_vaddr, abi::extension::unmap_all}) {
      const auto offered = check_extension(ext);
      if (!offered) return offered.error();
      if (!*offered) return error(errc::extension_unsupported, "VFIO_IOMMU_UNMAP_DMA");
    }
    return do_unmap(0, 0, abi::dma_unmap_flags::vaddr | abi::dma_unmap_flags::all);
  }

  /// VFIO_IOMMU_MAP_DMA with VFIO_DMA_MAP_FLAG_VADDR only, after
  /// VFIO_CHECK_EXTENSION(VFIO_UPDATE_VADDR): the mapping at exactly [iova, iova + size),
  /// whose vaddr was invalidated, now reads from [vaddr, vaddr + size) of this process.
  /// The access rights stay those of the original map.
  /// Precondition: the new memory holds the same contents (the pages stay pinned; the
  /// kernel does not copy or re-pin them).
  /// Errors: EBADF (empty container); errc::extension_unsupported; ENOENT (no mapping
  /// at iova); EINVAL (iova/size not those of one mapping, its vaddr still valid,
  /// misaligned, wrap-around); ENOMEM (RLIMIT_MEMLOCK of the new owner).
  result<void> update_dma_vaddr(std::uint64_t vaddr, std::uint64_t iova, std::uint64_t size) noexcept {
    const auto offered = supports_update_vaddr();
    if (!offered) return offered.error();
    if (!*offered) return error(errc::extension_unsupported, "VFIO_IOMMU_MAP_DMA");
    return map_dma(vaddr, iova, size, abi::dma_map_flags::vaddr);
  }

 private:
  explicit container(unique_fd fd) noexcept : fd_(std::move(fd)) {}

  result<void> do_set_iommu(std::uint32_t type) noexcept {
    const int r = sys().ioctl_value(fd_.get(), abi::req::set_iommu, type);
    if (r < 0) return errno_error(-r, "VFIO_SET_IOMMU");
    iommu_type_ = type;
    return {};
  }

  result<std::uint64_t> do_unmap(std::uint64_t iova, std::uint64_t size, std::uint32_t flags) noexcept {
    if (!fd_) return errno_error(EBADF, "VFIO_IOMMU_UNMAP_DMA");
    abi::iommu_type1_dma_unmap unmap{};
    unmap.argsz = sizeof unmap;
    unmap.flags = flags;
    unmap.iova = iova;
    unmap.size = size;
    // The kernel copies the struct back (with the unmapped size) only on success
    // (vfio_iommu_type1_unmap_dma).
    const int r = sys().ioctl(fd_.get(), abi::req::iommu_unmap_dma, &unmap);
    if (r < 0) return errno_error(-r, "VFIO_IOMMU_UNMAP_DMA");
    return std::uint64_t{unmap.size};
  }

  unique_fd fd_;
  std::uint32_t iommu_type_ = 0;
};

namespace detail {

/// The argsz of the first VFIO_IOMMU_GET_INFO, on the stack: the 24-byte header and
/// 488 bytes of capabilities. Type1 reports MIGRATION (32), DMA_AVAIL (16) and an
/// IOVA_RANGE of 16 + 16 per range (vfio_iommu_type1_get_info): up to 26 ranges fit,
/// where x86 hosts usually report two or three (the aperture minus the MSI window and
/// reserved regions).
inline constexpr std::uint32_t iommu_info_stack_size = 512;

/// Copies a trivially copyable T out of buf at offset (bounds already checked).
template <class T>
T load_at(const std::uint8_t* buf, std::size_t offset) noexcept {
  T v{};
  std::memcpy(&v, buf + offset, sizeof v);
  return v;
}

/// Parses the capability chain of a filled VFIO_IOMMU_GET_INFO reply, buf[0, size), into out.
inline result<void> parse_iommu_info_caps(const std::uint8_t* buf, std::uint32_t size, std::uint32_t cap_offset,
                                          iommu_info& out) noexcept {
  constexpr const char* op = "VFIO_IOMMU_GET_INFO";
  bool seen_iova = false, seen_avail = false, seen_migration = false;
  result<void> parsed;
  const auto fail = [&]() {
    parsed = error(errc::malformed_capability_chain, op);
    return false;
  };
  auto walked = walk_info_caps(
      buf, size, sizeof(abi::iommu_type1_info), cap_offset, op,
      [&](std::uint16_t id, std::uint16_t /*version*/, std::uint32_t offset, std::uint32_t available) {
        switch (id) {
          case abi::iommu_cap::iova_range: {
            using cap_t = abi::iommu_type1_info_cap_iova_range;
            if (seen_iova || available < sizeof(cap_t)) return fail();
            seen_iova = true;
            const auto cap = load_at<cap_t>(buf, offset);
            const std::uint64_t needed =
                sizeof(cap_t) + static_cast<std::uint64_t>(cap.nr_iovas) * sizeof(abi::iova_range);
            if (needed > available) return fail();
            if (!out.iova_ranges.allocate(cap.nr_iovas)) {
              parsed = errno_error(ENOMEM, op);
              return false;
            }
            for (std::uint32_t i = 0; i < cap.nr_iovas; ++i) {
              const auto r = load_at<abi::iova_range>(buf, offset + sizeof(cap_t) + i * sizeof(abi::iova_range));
              out.iova_ranges[i] = iova_range{r.start, r.end};
            }
            return true;
          }
          case abi::iommu_cap::dma_avail: {
            using cap_t = abi::iommu_type1_info_dma_avail;
            if (seen_avail || available < sizeof(cap_t)) return fail();
            seen_avail = true;
            out.dma_avail = load_at<cap_t>(buf, offset).avail;
            return true;
          }
          case abi::iommu_cap::migration: {
            using cap_t = abi::iommu_type1_info_cap_migration;
            if (seen_migration || available < sizeof(cap_t)) return fail();
            seen_migration = true;
            const auto cap = load_at<cap_t>(buf, offset);
            out.migration = iommu_migration_info{cap.flags, cap.pgsize_bitmap, cap.max_dirty_bitmap_size};
            return true;
          }
          default: return true;  // a capability this library does not know: skip it
        }
      });
  if (!walked) return walked;
  return parsed;
}

}  // namespace detail

inline result<iommu_info> container::get_iommu_info() noexcept {
  constexpr const char* op = "VFIO_IOMMU_GET_INFO";
  if (!fd_) return errno_error(EBADF, op);
  // The first call's buffer is on the stack and fits the usual reply; the kernel
  // raises argsz only when capabilities do not fit. Their size can change between
  // calls (groups attached meanwhile), so allow a few rounds.
  constexpr int max_attempts = 4;
  detail::stack_info_buffer<detail::iommu_info_stack_size> first;
  detail::info_buffer grown;  // allocated only when the kernel asks for more
  std::uint32_t argsz = first.size();
  std::memcpy(first.data(), &argsz, sizeof argsz);
  abi::iommu_type1_info info{};
  for (int attempt = 0;; ++attempt) {
    std::uint8_t* buf = attempt == 0 ? first.data() : grown.data();
    const int r = sys().ioctl(fd_.get(), abi::req::iommu_get_info, buf);
    if (r < 0) return errno_error(-r, op);
    info = detail::load_at<abi::iommu_type1_info>(buf, 0);
    if (info.argsz <= argsz) break;
    if (info.argsz > detail::max_info_argsz || attempt + 1 == max_attempts) return error(errc::argsz_too_large, op);
    argsz = info.argsz;
    if (!grown.allocate(argsz)) return errno_error(ENOMEM, op);
    std::memcpy(grown.data(), &argsz, sizeof argsz);
  }

  // The reply is in the buffer of the last call: the grown one if there was a second.
  const std::uint8_t* reply = grown.size() != 0 ? grown.data() : first.data();
  const std::uint32_t reply_size = grown.size() != 0 ? grown.size() : first.size();
  iommu_info out;
  out.flags = info.flags;
  if (info.flags & abi::iommu_info_flags::pgsizes) out.iova_pgsizes = info.iova_pgsizes;
  if ((info.flags & abi::iommu_info_flags::caps) && info.cap_offset != 0) {
    if (auto caps = detail::parse_iommu_info_caps(reply, reply_size, info.cap_offset, out); !caps) return caps.error();
  }
  return out;
}

}  // namespace vfio

#endif  // VFIO_CONTAINER_HPP_INCLUDED
