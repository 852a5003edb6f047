// The iommufd of a simulated kernel (/dev/iommu, drivers/iommu/iommufd/ of
// Linux 6.12): its objects (IOAS, paging HWPT, bound device) under u32 ids,
// the IO page table of each IOAS (areas, reserved and allowed ranges, IOVA
// alignment), the ioctls of main.c, ioas.c, hw_pagetable.c and device.c
// with their errnos, and the device side VFIO calls (bind, attach, detach,
// unbind: drivers/vfio/iommufd.c -> device.c).
//
// The simulated IOMMU is QEMU's intel-iommu as kernel_options describes it:
// one paging domain type whose smallest page is the lowest bit of
// iova_pgsizes, an aperture and per-device reserved regions taken from
// iova_ranges (the part below the first and above the last range belongs to
// the domain's aperture, the gaps between ranges are the device's reserved
// regions, e.g. the x86 MSI window), dirty tracking when
// iommu_dirty_tracking. Pages are pinned (checked through the pin function
// simulated_kernel gives, as type1's MAP_DMA does) whenever a domain holds
// the IOAS: at IOAS_MAP / COPY once a domain is there, and at the attach or
// HWPT_ALLOC that brings the first domain for what is already mapped.
//
// Not modelled: RLIMIT_MEMLOCK accounting (the model's caller is root, which
// has CAP_IPC_LOCK: iopt_alloc_pages picks IOPT_PAGES_ACCOUNT_NONE), nested
// HWPTs, fault queues, vIOMMU objects, in-kernel accesses (mdev) and the
// no-IOMMU mode of the VFIO compatibility container. The ioctls follow the
// 6.12 sources for every release the model imitates.
//
// The VFIO compatibility container (vfio_compat.c) is modelled: every
// iommufd answers the legacy container ioctls (VFIO_CHECK_EXTENSION,
// SET_IOMMU, IOMMU_GET_INFO, MAP_DMA, UNMAP_DMA) on its compat IOAS, which
// VFIO_GROUP_SET_CONTAINER creates when a group is attached to the iommufd
// (vfio_files.hpp), and IOMMU_VFIO_IOAS gets, sets or clears that IOAS.
#ifndef VFIO_TESTING_SIM_IOMMUFD_HPP_INCLUDED
#define VFIO_TESTING_SIM_IOMMUFD_HPP_INCLUDED

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../../abi/iommufd.hpp"
#include "../../abi/vfio.hpp"
#include "../callback.hpp"
#include "inspection.hpp"
#include "options.hpp"

namespace vfio::testing::sim {

/// Whether [vaddr, vaddr + length) of the test process can be pinned (with
/// FOLL_WRITE when `write`): 0 or -errno.
using pin_pages_fn = callback<int(std::uint64_t vaddr, std::uint64_t length, bool write)>;

class iommufd_ctx {
 public:
  static constexpr std::uint64_t page_size = 4096;         ///< PAGE_SIZE
  static constexpr std::uint64_t huge_page = 2ULL << 20;   ///< HPAGE_SIZE (x86, THP on)
  static constexpr std::uint64_t ulong_max = ~0ULL;        ///< ULONG_MAX on 64-bit
  static constexpr std::uint32_t ioctl_table_size = 0x0f;  ///< IOMMU_DESTROY .. IOMMU_FAULT_QUEUE_ALLOC

  iommufd_ctx(const kernel_options& options, pin_pages_fn pin) : opt_(&options), pin_(std::move(pin)) {}

  // --- the descriptor ----------------------------------------------------------

  /// iommufd_fops_ioctl: the command table, then the VFIO compatibility
  /// ioctls for numbers outside it (iommufd_vfio_ioctl).
  long ioctl(unsigned long request, void* arg) {
    namespace q = abi::iommufd::req;
    const unsigned long nr = request & 0xff;
    if (nr < abi::iommufd::cmd_base || nr - abi::iommufd::cmd_base >= ioctl_table_size)
      return vfio_compat_ioctl(request, arg);
    if (request == q::destroy) return destroy_ioctl(arg);
    if (request == q::ioas_alloc) return ioas_alloc(arg);
    if (request == q::ioas_allow_iovas) return allow_iovas(arg);
    if (request == q::ioas_copy) return copy(arg);
    if (request == q::ioas_iova_ranges) return iova_ranges(arg);
    if (request == q::ioas_map) return map(arg);
    if (request == q::ioas_unmap) return unmap(arg);
    if (request == q::option) return option(arg);
    if (request == q::hwpt_alloc) return hwpt_alloc(arg);
    if (request == q::get_hw_info) return get_hw_info(arg);
    if (request == q::hwpt_set_dirty_tracking) return set_dirty_tracking(arg);
    if (request == q::hwpt_get_dirty_bitmap) return get_dirty_bitmap(arg);
    if (request == q::vfio_ioas) return vfio_ioas_ioctl(arg);
    // HWPT_INVALIDATE, FAULT_QUEUE_ALLOC are not modelled;
    // a number whose direction or size bits differ is -ENOIOCTLCMD too
    // (`op->ioctl_num != cmd`).
    return -ENOTTY;
  }

  // --- the VFIO side (drivers/vfio/iommufd.c -> iommufd/device.c) -------------

  /// iommufd_device_bind, after vfio has checked the group: a device object.
  /// The caller claims DMA ownership of the group (iommu_device_claim_dma_owner).
  std::uint32_t bind(const std::string& bdf, unsigned group) {
    object o;
    o.type = object_type::device;
    o.users = 2;  // "The calling driver is a user until iommufd_device_unbind()"
    o.dev.bdf = bdf;
    o.dev.group = group;
    const std::uint32_t id = alloc_id();
    objects_.emplace(id, std::move(o));
    return id;
  }
  /// vfio_iommufd_physical_unbind: detach if attached, then
  /// iommufd_device_unbind destroys the object.
  void unbind(std::uint32_t devid) {
    detach(devid);
    objects_.erase(devid);
  }
  /// vfio_iommufd_physical_attach_ioas: iommufd_device_replace when attached,
  /// else iommufd_device_attach. On success pt_id is the HWPT attached.
  int attach(std::uint32_t devid, std::uint32_t& pt_id) {
    object* dev = get(devid, object_type::device);
    if (!dev) return -EINVAL;  // WARN_ON(!vdev->iommufd_device)
    const bool replace = dev->dev.hwpt != 0;
    // iommufd_device_change_pt: any object by id, -ENOENT when there is none.
    object* pt = get_any(pt_id);
    if (!pt) return -ENOENT;
    int r;
    if (pt->type == object_type::hwpt)
      r = replace ? do_replace(devid, pt_id) : do_attach(devid, pt_id);
    else if (pt->type == object_type::ioas)
      r = auto_get_domain(devid, pt_id, replace);
    else
      return -EINVAL;
    if (r) return r;
    if (!replace) ++get(devid, object_type::device)->users;  // iommufd_device_attach: refcount_inc
    return 0;
  }
  /// vfio_iommufd_physical_detach_ioas -> iommufd_device_detach: nothing when
  /// not attached.
  void detach(std::uint32_t devid) {
    object* dev = get(devid, object_type::device);
    if (!dev || !dev->dev.hwpt) return;
    const std::uint32_t hwpt = hwpt_detach(devid);
    put_hwpt(hwpt);
    if (object* d = get(devid, object_type::device)) --d->users;
  }
  /// iommufd_ctx_has_group: a device of the group is bound here.
  bool has_group(unsigned group) const {
    for (const auto& kv : objects_)
      if (kv.second.type == object_type::device && kv.second.dev.group == group) return true;
    return false;
  }
  /// Whether the device's DMA of [iova, iova + length) translates: attached,
  /// and the range covered by areas that allow the access. A write marks the
  /// pages dirty while the HWPT tracks them.
  bool dma(std::uint32_t devid, std::uint64_t iova, std::uint64_t length, bool write) {
    const object* dev = get(devid, object_type::device);
    if (!dev || !dev->dev.hwpt || !length || iova + length - 1 < iova) return false;
    object* hwpt = get(dev->dev.hwpt, object_type::hwpt);
    const object* ioas = hwpt ? get(hwpt->hwpt.ioas, object_type::ioas) : nullptr;
    if (!ioas) return false;
    const std::uint64_t last = iova + length - 1;
    for (std::uint64_t at = iova;;) {
      const ioas_mapping* a = area_at(ioas->ioas, at);
      if (!a || !(write ? a->writable : a->readable)) return false;
      const std::uint64_t area_last = a->iova + a->length - 1;
      if (area_last >= last) break;
      at = area_last + 1;
    }
    if (write && hwpt->hwpt.tracking)
      for (std::uint64_t p = iova / page_size; p <= last / page_size; ++p) hwpt->hwpt.dirty.insert(p);
    return true;
  }

  // --- the VFIO compatibility container (vfio_compat.c) --------------------------

  /// iommufd_vfio_compat_ioas_create, from VFIO_GROUP_SET_CONTAINER: an IOAS
  /// for the VFIO ioctls unless one is already assigned.
  int compat_ioas_create() {
    if (vfio_ioas_ && get(vfio_ioas_, object_type::ioas)) return 0;
    object o;
    o.type = object_type::ioas;
    const std::uint32_t id = alloc_id();
    objects_.emplace(id, std::move(o));
    vfio_ioas_ = id;
    return 0;
  }
  /// iommufd_vfio_compat_ioas_get_id: -ENODEV while there is none.
  int compat_ioas_id(std::uint32_t& id) const {
    if (!vfio_ioas_ || !get(vfio_ioas_, object_type::ioas)) return -ENODEV;
    id = vfio_ioas_;
    return 0;
  }
  /// The ictx of /dev/vfio/vfio itself (CONFIG_IOMMUFD_VFIO_CONTAINER):
  /// iommufd_fops_open charges its pinned pages to the mm (IOPT_PAGES_ACCOUNT_MM).
  void opened_as_vfio_container() { account_mm_ = true; }

  // --- inspection ------------------------------------------------------------

  std::vector<ioas_mapping> mappings(std::uint32_t ioas_id) const {
    std::vector<ioas_mapping> v;
    if (const object* o = get(ioas_id, object_type::ioas))
      for (const auto& kv : o->ioas.areas) v.push_back(kv.second);
    return v;
  }
  /// The HWPT a device is attached to (0: none).
  std::uint32_t attached_hwpt(std::uint32_t devid) const {
    const object* o = get(devid, object_type::device);
    return o ? o->dev.hwpt : 0;
  }
  std::size_t object_count() const noexcept { return objects_.size(); }

 private:
  enum class object_type { ioas, hwpt, device };

  struct reserved_range {
    std::uint64_t start = 0;
    std::uint64_t last = 0;
    std::uint32_t owner = 0;  ///< the HWPT (domain aperture) or device (reserved regions) id
  };
  /// struct io_pagetable of an IOAS.
  struct iopt {
    std::map<std::uint64_t, ioas_mapping> areas;    ///< area_itree, by iova
    std::vector<abi::iommufd::iova_range> allowed;  ///< allowed_itree
    std::vector<reserved_range> reserved;           ///< reserved_itree
    std::uint64_t iova_alignment = 1;               ///< iopt_init_table
    bool disable_large_pages = false;
    std::vector<std::uint32_t> domains;  ///< the paging HWPTs on it, in hwpt_list order
  };
  struct hwpt_state {
    std::uint32_t ioas = 0;
    bool auto_domain = false;
    bool dirty_ops = false;  ///< allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING
    bool tracking = false;
    std::set<std::uint64_t> dirty;  ///< dirty 4K page numbers
  };
  struct device_state {
    std::string bdf;
    unsigned group = 0;
    std::uint32_t hwpt = 0;  ///< attached HWPT (0: blocked)
  };
  struct object {
    object_type type = object_type::ioas;
    int users = 1;  ///< obj.users
    iopt ioas;
    hwpt_state hwpt;
    device_state dev;
  };
  /// struct iommufd_group: the HWPT a group of this iommufd is attached to.
  struct igroup {
    std::uint32_t hwpt = 0;
    std::vector<std::uint32_t> devices;  ///< device_list
  };

  // --- objects (main.c) --------------------------------------------------------

  /// xa_alloc with XA_FLAGS_ALLOC1: the lowest free id from 1.
  std::uint32_t alloc_id() const {
    std::uint32_t id = 1;
    for (const auto& kv : objects_) {
      if (kv.first != id) break;
      ++id;
    }
    return id;
  }
  object* get_any(std::uint32_t id) {
    auto it = objects_.find(id);
    return it == objects_.end() ? nullptr : &it->second;
  }
  /// iommufd_get_object of one type: -ENOENT for a missing id or another type.
  object* get(std::uint32_t id, object_type t) {
    object* o = get_any(id);
    return o && o->type == t ? o : nullptr;
  }
  const object* get(std::uint32_t id, object_type t) const {
    auto it = objects_.find(id);
    return it != objects_.end() && it->second.type == t ? &it->second : nullptr;
  }

  /// iommufd_fops_ioctl's read of a command: the caller's size first (EFAULT
  /// without a buffer), below the minimum -EINVAL, then copy_struct_from_user:
  /// bytes past the kernel's struct must be zero (-E2BIG), missing ones read 0.
  template <class T>
  static int read_cmd(void* arg, std::uint32_t min_size, T& cmd, std::uint32_t& user_size) {
    if (!arg) return -EFAULT;
    std::memcpy(&user_size, arg, sizeof user_size);
    if (user_size < min_size) return -EINVAL;
    const auto* bytes = static_cast<const unsigned char*>(arg);
    for (std::size_t i = sizeof(T); i < user_size; ++i)
      if (bytes[i]) return -E2BIG;
    std::memset(static_cast<void*>(&cmd), 0, sizeof cmd);
    std::memcpy(static_cast<void*>(&cmd), arg, std::min<std::size_t>(user_size, sizeof cmd));
    return 0;
  }
  /// iommufd_ucmd_respond: min(user size, kernel size) bytes back.
  template <class T>
  static void respond(void* arg, const T& cmd, std::uint32_t user_size) {
    std::memcpy(arg, static_cast<const void*>(&cmd), std::min<std::size_t>(user_size, sizeof cmd));
  }

  /// iommufd_destroy -> iommufd_object_remove: -ENOENT, -EBUSY while in use.
  long destroy_ioctl(void* arg) {
    abi::iommufd::destroy cmd{};
    std::uint32_t size = 0;
    if (const int r = read_cmd(arg, abi::iommufd::min_size::destroy, cmd, size)) return r;
    object* o = get_any(cmd.id);
    if (!o) return -ENOENT;
    if (o->users != 1) return -EBUSY;  // refcount_dec_if_one
    destroy_object(cmd.id);
    return 0;
  }
  void destroy_object(std::uint32_t id) {
    object* o = get_any(id);
    if (!o) return;
    if (o->type == object_type::hwpt) {
      // iommufd_hwpt_paging_destroy: iopt_table_remove_domain, put the IOAS.
      if (object* ioas = get(o->hwpt.ioas, object_type::ioas)) {
        remove_domain(ioas->ioas, id);
        --ioas->users;
      }
    }
    if (id == vfio_ioas_) vfio_ioas_ = 0;  // iommufd_object_remove
    objects_.erase(id);                    // an IOAS: iommufd_ioas_destroy unmaps everything with it
  }

  // --- IOAS (ioas.c) ---------------------------------------------------------------

  /// iommufd_ioas_alloc_ioctl.
  long ioas_alloc(void* arg) {
    abi::iommufd::ioas_alloc cmd{};
    std::uint32_t size = 0;
    if (const int r = read_cmd(arg, abi::iommufd::min_size::ioas_alloc, cmd, size)) return r;
    if (cmd.flags) return -EOPNOTSUPP;
    const std::uint32_t id = alloc_id();
    object o;
    o.type = object_type::ioas;
    objects_.emplace(id, std::move(o));
    cmd.out_ioas_id = id;
    respond(arg, cmd, size);
    return 0;
  }

  /// iommufd_ioas_iova_ranges: the holes of the reserved ranges; num_iovas
  /// becomes the total, -EMSGSIZE (after the reply) when it exceeds the array.
  long iova_ranges(void* arg) {
    abi::iommufd::ioas_iova_ranges cmd{};
    std::uint32_t size = 0;
    if (const int r = read_cmd(arg, abi::iommufd::min_size::ioas_iova_ranges, cmd, size)) return r;
    if (cmd.reserved) return -EOPNOTSUPP;
    const object* o = get(cmd.ioas_id, object_type::ioas);
    if (!o) return -ENOENT;
    const std::uint32_t max = cmd.num_iovas;
    auto* out = reinterpret_cast<abi::iommufd::iova_range*>(  // NOLINT(performance-no-int-to-ptr)
        static_cast<std::uintptr_t>(cmd.allowed_iovas));
    cmd.num_iovas = 0;
    cmd.out_iova_alignment = o->ioas.iova_alignment;
    for (const auto& h : holes(reserved_intervals(o->ioas), 0, ulong_max)) {
      if (cmd.num_iovas < max) {
        if (!out) return -EFAULT;
        out[cmd.num_iovas] = h;
      }
      ++cmd.num_iovas;
    }
    respond(arg, cmd, size);
    return cmd.num_iovas > max ? -EMSGSIZE : 0;
  }

  /// iommufd_ioas_allow_iovas -> iommufd_ioas_load_iovas, iopt_set_allow_iova.
  long allow_iovas(void* arg) {
    abi::iommufd::ioas_allow_iovas cmd{};
    std::uint32_t size = 0;
    if (const int r = read_cmd(arg, abi::iommufd::min_size::ioas_allow_iovas, cmd, size)) return r;
    if (cmd.reserved) return -EOPNOTSUPP;
    object* o = get(cmd.ioas_id, object_type::ioas);
    if (!o) return -ENOENT;
    const auto* in = reinterpret_cast<const abi::iommufd::iova_range*>(  // NOLINT(performance-no-int-to-ptr)
        static_cast<std::uintptr_t>(cmd.allowed_iovas));
    std::vector<abi::iommufd::iova_range> next;
    for (std::uint32_t i = 0; i < cmd.num_iovas; ++i) {
      if (!in) return -EFAULT;
      const abi::iommufd::iova_range r = in[i];
      if (r.start >= r.last) return -EINVAL;
      for (const auto& n : next)
        if (n.start <= r.last && r.start <= n.last) return -EINVAL;  // overlaps one loaded before
      next.push_back(r);
    }
    for (const auto& r : next)
      if (reserved_overlaps(o->ioas, r.start, r.last)) return -EADDRINUSE;  // the old list stays
    std::sort(next.begin(), next.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
    o->ioas.allowed = std::move(next);
    return 0;
  }

  struct piece {
    std::uint64_t user_va = 0;
    std::uint64_t length = 0;
    bool pages_writable = false;
  };

  /// iommufd_ioas_map -> iopt_map_user_pages.
  long map(void* arg) {
    namespace f = abi::iommufd::map_flags;
    abi::iommufd::ioas_map cmd{};
    std::uint32_t size = 0;
    if (const int r = read_cmd(arg, abi::iommufd::min_size::ioas_map, cmd, size)) return r;
    if ((cmd.flags & ~(f::fixed_iova | f::writeable | f::readable)) || cmd.reserved) return -EOPNOTSUPP;
    if (cmd.iova >= ulong_max || cmd.length >= ulong_max) return -EOVERFLOW;
    if (!(cmd.flags & (f::writeable | f::readable))) return -EINVAL;
    object* o = get(cmd.ioas_id, object_type::ioas);
    if (!o) return -ENOENT;
    std::uint64_t iova = cmd.iova;
    const int r = map_user_pages(o->ioas, cmd.user_va, cmd.length, iova, cmd.flags, !(cmd.flags & f::fixed_iova));
    if (r) return r;
    cmd.iova = iova;
    respond(arg, cmd, size);
    return 0;
  }

  /// iommufd_ioas_copy -> iopt_get_pages, iopt_map_pages.
  long copy(void* arg) {
    namespace f = abi::iommufd::map_flags;
    abi::iommufd::ioas_copy cmd{};
    std::uint32_t size = 0;
    if (const int r = read_cmd(arg, abi::iommufd::min_size::ioas_copy, cmd, size)) return r;
    if (cmd.flags & ~(f::fixed_iova | f::writeable | f::readable)) return -EOPNOTSUPP;
    if (cmd.length >= ulong_max || cmd.src_iova >= ulong_max || cmd.dst_iova >= ulong_max) return -EOVERFLOW;
    if (!(cmd.flags & (f::writeable | f::readable))) return -EINVAL;
    const object* src = get(cmd.src_ioas_id, object_type::ioas);
    if (!src) return -ENOENT;
    // iopt_get_pages: the range covered by areas without a gap, else -ENOENT.
    if (!cmd.length) return -EINVAL;
    const std::uint64_t last = cmd.src_iova + cmd.length - 1;
    if (last < cmd.src_iova) return -EOVERFLOW;
    std::vector<piece> pieces;
    for (std::uint64_t at = cmd.src_iova;;) {
      const ioas_mapping* a = area_at(src->ioas, at);
      if (!a) return -ENOENT;
      const std::uint64_t end = std::min(last, a->iova + a->length - 1);
      pieces.push_back({a->user_va + (at - a->iova), end - at + 1, a->pages_writable});
      if (end == last) break;
      at = end + 1;
    }
    object* dst = get(cmd.dst_ioas_id, object_type::ioas);
    if (!dst) return -ENOENT;
    std::uint64_t iova = cmd.dst_iova;
    const int r = map_pages(dst->ioas, pieces, cmd.length, iova, cmd.flags, !(cmd.flags & f::fixed_iova));
    if (r) return r;
    cmd.dst_iova = iova;
    respond(arg, cmd, size);
    return 0;
  }

  /// iommufd_ioas_unmap -> iopt_unmap_all / iopt_unmap_iova.
  long unmap(void* arg) {
    abi::iommufd::ioas_unmap cmd{};
    std::uint32_t size = 0;
    if (const int r = read_cmd(arg, abi::iommufd::min_size::ioas_unmap, cmd, size)) return r;
    object* o = get(cmd.ioas_id, object_type::ioas);
    if (!o) return -ENOENT;
    std::uint64_t unmapped = 0;
    if (cmd.iova == 0 && cmd.length == ~0ULL) {
      unmapped = unmap_range(o->ioas, 0, ulong_max, nullptr);  // empty is success
    } else {
      if (cmd.iova >= ulong_max || cmd.length >= ulong_max) return -EOVERFLOW;
      if (const int rc = unmap_iova(o->ioas, cmd.iova, cmd.length, unmapped)) return rc;
      if (!unmapped) return -ENOENT;
    }
    cmd.length = unmapped;
    respond(arg, cmd, size);
    return 0;
  }

  /// iommufd_option -> iommufd_option_rlimit_mode / iommufd_ioas_option.
  long option(void* arg) {
    namespace id = abi::iommufd::option_id;
    namespace op = abi::iommufd::option_op;
    abi::iommufd::option cmd{};
    std::uint32_t size = 0;
    if (const int r = read_cmd(arg, abi::iommufd::min_size::option, cmd, size)) return r;
    if (cmd.reserved) return -EOPNOTSUPP;
    if (cmd.option_id == id::rlimit_mode) {
      if (cmd.object_id) return -EOPNOTSUPP;
      if (cmd.op == op::get) {
        cmd.val64 = account_mm_ ? 1 : 0;
      } else if (cmd.op == op::set) {
        if (opt_->host.uid != 0) return -EPERM;  // capable(CAP_SYS_RESOURCE)
        if (!objects_.empty()) return -EBUSY;
        if (cmd.val64 > 1) return -EINVAL;
        account_mm_ = cmd.val64 == 1;
      } else {
        return -EOPNOTSUPP;
      }
    } else if (cmd.option_id == id::huge_pages) {
      object* o = get(cmd.object_id, object_type::ioas);
      if (!o) return -ENOENT;
      iopt& io = o->ioas;
      if (cmd.op == op::get) {
        cmd.val64 = io.disable_large_pages ? 0 : 1;
      } else if (cmd.op == op::set) {
        if (cmd.val64 == 0) {
          if (const int r = disable_large_pages(io)) return r;
        } else if (cmd.val64 == 1) {
          io.disable_large_pages = false;  // iopt_enable_large_pages
          (void)recalculate_alignment(io);
        } else {
          return -EINVAL;
        }
      } else {
        return -EOPNOTSUPP;
      }
    } else {
      return -EOPNOTSUPP;
    }
    respond(arg, cmd, size);
    return 0;
  }

  /// iommufd_vfio_ioas: IOMMU_VFIO_IOAS get / set / clear the compat IOAS.
  long vfio_ioas_ioctl(void* arg) {
    namespace op = abi::iommufd::vfio_ioas_op;
    abi::iommufd::vfio_ioas cmd{};
    std::uint32_t size = 0;
    if (const int r = read_cmd(arg, abi::iommufd::min_size::vfio_ioas, cmd, size)) return r;
    if (cmd.reserved) return -EOPNOTSUPP;
    switch (cmd.op) {
      case op::get:
        if (const int r = compat_ioas_id(cmd.ioas_id)) return r;
        respond(arg, cmd, size);
        return 0;
      case op::set:
        if (!get(cmd.ioas_id, object_type::ioas)) return -ENOENT;  // iommufd_get_ioas
        vfio_ioas_ = cmd.ioas_id;
        return 0;
      case op::clear: vfio_ioas_ = 0; return 0;
      default: return -EOPNOTSUPP;
    }
  }

  /// iommufd_vfio_ioctl: the numbers outside iommufd's table. A VFIO ioctl
  /// the compat container lacks (VFIO_IOMMU_DIRTY_PAGES among them) and any
  /// other number is -ENOIOCTLCMD, which ioctl(2) reports as ENOTTY.
  long vfio_compat_ioctl(unsigned long request, void* arg) {
    namespace r = abi::req;
    // CHECK_EXTENSION and SET_IOMMU take their argument by value.
    const auto value = static_cast<unsigned long>(reinterpret_cast<std::uintptr_t>(arg));
    if (request == r::get_api_version) return abi::api_version;
    if (request == r::check_extension) return compat_check_extension(value);
    if (request == r::set_iommu) return compat_set_iommu(value);
    if (request == r::iommu_get_info) return compat_get_info(arg);
    if (request == r::iommu_map_dma) return compat_map_dma(arg);
    if (request == r::iommu_unmap_dma) return compat_unmap_dma(arg);
    return -ENOTTY;
  }

  /// iommufd_vfio_check_extension.
  long compat_check_extension(unsigned long type) {
    namespace x = abi::extension;
    switch (type) {
      case x::type1_iommu:
      case x::type1v2_iommu:
      case x::unmap_all: return no_iommu_mode_ ? 0 : 1;
      // IS_ENABLED(CONFIG_VFIO_NOIOMMU): set in Debian's configs and the
      // project's own kernel, whatever the enable_unsafe_noiommu_mode parameter.
      case x::noiommu_iommu: return 1;
      case x::dma_cc_iommu: {
        // iommufd_vfio_cc_iommu: 1 unless a paging HWPT of the compat IOAS
        // does not enforce cache coherency.
        std::uint32_t id = 0;
        if (const int e = compat_ioas_id(id)) return e;
        return get(id, object_type::ioas)->ioas.domains.empty() || opt_->dma_cache_coherent ? 1 : 0;
      }
      default: return 0;  // TYPE1_NESTING, UPDATE_VADDR, SPAPR, ...
    }
  }

  /// iommufd_vfio_set_iommu: TYPE1 or TYPE1v2 once the compat IOAS exists;
  /// TYPE1 disables large pages so that any range can be unmapped.
  long compat_set_iommu(unsigned long type) {
    if (type != abi::extension::type1_iommu && type != abi::extension::type1v2_iommu) return -EINVAL;
    if (no_iommu_mode_) return -EINVAL;
    std::uint32_t id = 0;
    if (const int e = compat_ioas_id(id)) return e;
    if (type != abi::extension::type1_iommu) return 0;
    return disable_large_pages(get(id, object_type::ioas)->ioas);
  }

  /// iommufd_get_pagesizes: what every domain of the IOAS maps, at least
  /// PAGE_SIZE granular (ULONG_MAX & PAGE_MASK | PAGE_SIZE with no domain).
  std::uint64_t compat_pagesizes(const iopt& io) const {
    std::uint64_t bitmap = ulong_max;
    if (!io.domains.empty()) bitmap &= opt_->iova_pgsizes;
    if (bitmap & (page_size - 1)) {
      bitmap &= ~(page_size - 1);
      bitmap |= page_size;
    }
    return std::max(bitmap, io.iova_alignment);
  }

  /// iommufd_vfio_iommu_get_info: page sizes, then the DMA_AVAIL capability
  /// (always U32_MAX) and the IOVA ranges (the holes of the reserved
  /// ranges). Each capability is written only where it fits; argsz becomes
  /// the size of the whole chain, cap_offset is set only when all of it fit.
  long compat_get_info(void* arg) {
    if (!arg) return -EFAULT;
    abi::iommu_type1_info info{};
    constexpr std::uint32_t minsz = offsetof(abi::iommu_type1_info, cap_offset);  // offsetofend(iova_pgsizes)
    std::memcpy(&info, arg, minsz);
    if (info.argsz < minsz) return -EINVAL;
    const std::size_t copy_back = std::min<std::size_t>(info.argsz, sizeof info);
    std::uint32_t id = 0;
    if (const int e = compat_ioas_id(id)) return e;
    const iopt& io = get(id, object_type::ioas)->ioas;
    info.flags = abi::iommu_info_flags::pgsizes;
    info.iova_pgsizes = compat_pagesizes(io);
    info.cap_offset = 0;
    auto* base = static_cast<unsigned char*>(arg);
    const std::vector<abi::iommufd::iova_range> ranges = holes(reserved_intervals(io), 0, ulong_max);
    std::uint32_t total = sizeof info;
    std::uint32_t last_cap = 0;
    for (int cap = 0; cap < 2; ++cap) {
      const std::uint32_t avail = info.argsz > total ? info.argsz - total : 0;
      unsigned char* cur = base + total;
      std::uint32_t cap_size;
      if (cap == 0) {  // iommufd_fill_cap_dma_avail
        abi::iommu_type1_info_dma_avail dma{};
        dma.header.id = abi::iommu_cap::dma_avail;
        dma.header.version = 1;
        dma.avail = 0xffffffffU;
        if (avail >= sizeof dma) std::memcpy(cur, &dma, sizeof dma);
        cap_size = sizeof dma;
      } else {  // iommufd_fill_cap_iova
        abi::iommu_type1_info_cap_iova_range hdr{};
        hdr.header.id = abi::iommu_cap::iova_range;
        hdr.header.version = 1;
        for (const auto& h : ranges) {
          if (avail >= sizeof hdr + (hdr.nr_iovas + 1) * sizeof(abi::iova_range)) {
            const abi::iova_range r{h.start, h.last};
            std::memcpy(cur + sizeof hdr + hdr.nr_iovas * sizeof r, &r, sizeof r);
          }
          ++hdr.nr_iovas;
        }
        cap_size = static_cast<std::uint32_t>(sizeof hdr + hdr.nr_iovas * sizeof(abi::iova_range));
        if (avail >= cap_size) std::memcpy(cur, &hdr, sizeof hdr);
      }
      cap_size = (cap_size + 7U) & ~7U;
      if (last_cap && info.argsz >= total) {
        const std::uint32_t next = total;
        std::memcpy(base + last_cap + offsetof(abi::info_cap_header, next), &next, sizeof next);
      }
      last_cap = total;
      total += cap_size;
    }
    if (info.argsz >= total) info.cap_offset = sizeof info;
    info.argsz = total;
    info.flags |= abi::iommu_info_flags::caps;
    std::memcpy(arg, &info, copy_back);
    return 0;
  }

  /// iommufd_vfio_map_dma -> iopt_map_user_pages at the caller's IOVA. Only
  /// READ and WRITE are flags here; neither is accepted while no domain holds
  /// the IOAS (the IOMMU driver refuses it once one does: map_pages).
  long compat_map_dma(void* arg) {
    namespace f = abi::iommufd::map_flags;
    if (!arg) return -EFAULT;
    abi::iommu_type1_dma_map map{};
    std::memcpy(&map, arg, sizeof map);  // minsz: offsetofend(size) is the whole struct
    if (map.argsz < sizeof map || (map.flags & ~(abi::dma_map_flags::read | abi::dma_map_flags::write))) return -EINVAL;
    std::uint32_t id = 0;
    if (const int e = compat_ioas_id(id)) return e;
    std::uint32_t flags = 0;
    if (map.flags & abi::dma_map_flags::read) flags |= f::readable;
    if (map.flags & abi::dma_map_flags::write) flags |= f::writeable;
    std::uint64_t iova = map.iova;
    return map_user_pages(get(id, object_type::ioas)->ioas, map.vaddr, map.size, iova, flags, false);
  }

  /// iommufd_vfio_unmap_dma: ALL is the only flag; with large pages disabled
  /// (SET_IOMMU TYPE1) the areas are first cut at both ends of the range.
  /// `size` is written back with what was unmapped, also when the unmap
  /// stopped at an area crossing an end (-ENOENT) or refused the range.
  long compat_unmap_dma(void* arg) {
    if (!arg) return -EFAULT;
    abi::iommu_type1_dma_unmap unmap{};
    constexpr std::size_t minsz = sizeof unmap;  // offsetofend(size)
    std::memcpy(&unmap, arg, minsz);
    if (unmap.argsz < minsz || (unmap.flags & ~abi::dma_unmap_flags::all)) return -EINVAL;
    std::uint32_t id = 0;
    if (const int e = compat_ioas_id(id)) return e;
    iopt& io = get(id, object_type::ioas)->ioas;
    int rc = 0;
    std::uint64_t unmapped = 0;
    if (unmap.flags & abi::dma_unmap_flags::all) {
      if (unmap.iova || unmap.size) return -EINVAL;
      unmapped = unmap_range(io, 0, ulong_max, &rc);
    } else {
      if (io.disable_large_pages) {
        const std::uint64_t cuts[] = {unmap.iova + unmap.size - 1, unmap.iova - 1};
        for (int i = 0; i < (unmap.iova ? 2 : 1); ++i)
          if (const int e = cut_area(io, cuts[i])) return e;
      }
      rc = unmap_iova(io, unmap.iova, unmap.size, unmapped);
    }
    unmap.size = unmapped;
    std::memcpy(arg, &unmap, minsz);
    return rc;
  }

  /// iopt_cut_iova -> iopt_area_split: the area holding `iova` becomes
  /// [start, iova] and [iova + 1, last]; nothing to do at either end.
  static int cut_area(iopt& io, std::uint64_t iova) {
    const ioas_mapping* found = area_at(io, iova);
    if (!found) return 0;
    ioas_mapping a = *found;
    const std::uint64_t last = a.iova + a.length - 1;
    if (iova == a.iova || iova == last) return 0;
    const std::uint64_t new_start = iova + 1;
    const std::uint64_t align = io.iova_alignment;
    if ((new_start & (align - 1)) || ((a.user_va % page_size + (new_start - a.iova)) & (align - 1))) return -EINVAL;
    ioas_mapping lhs = a;
    lhs.length = new_start - a.iova;
    ioas_mapping rhs = a;
    rhs.iova = new_start;
    rhs.length = last - iova;
    rhs.user_va = a.user_va + lhs.length;
    io.areas.erase(a.iova);
    io.areas.emplace(lhs.iova, lhs);
    io.areas.emplace(rhs.iova, rhs);
    return 0;
  }

  // --- HW info and HWPTs (device.c, hw_pagetable.c) --------------------------------

  /// iommufd_get_hw_info with intel_iommu_hw_info's data.
  long get_hw_info(void* arg) {
    abi::iommufd::hw_info cmd{};
    std::uint32_t size = 0;
    if (const int r = read_cmd(arg, abi::iommufd::min_size::get_hw_info, cmd, size)) return r;
    if (cmd.flags || cmd.reserved[0] || cmd.reserved[1] || cmd.reserved[2]) return -EOPNOTSUPP;
    if (!get(cmd.dev_id, object_type::device)) return -ENOENT;
    abi::iommufd::hw_info_vtd vtd{};
    vtd.cap_reg = opt_->vtd_cap_reg;
    vtd.ecap_reg = opt_->vtd_ecap_reg;
    cmd.out_data_type = abi::iommufd::hw_info_type::intel_vtd;
    const std::uint32_t copy_len = std::min<std::uint32_t>(cmd.data_len, sizeof vtd);
    auto* user = reinterpret_cast<unsigned char*>(  // NOLINT(performance-no-int-to-ptr)
        static_cast<std::uintptr_t>(cmd.data_uptr));
    if (cmd.data_len && !user) return -EFAULT;
    if (copy_len) std::memcpy(user, &vtd, copy_len);
    if (copy_len < cmd.data_len) std::memset(user + copy_len, 0, cmd.data_len - copy_len);  // clear_user
    cmd.data_len = sizeof vtd;
    cmd.out_capabilities = opt_->iommu_dirty_tracking ? abi::iommufd::hw_cap::dirty_tracking : 0;
    cmd.out_max_pasid_log2 = 0;  // no PASID-capable function is modelled
    respond(arg, cmd, size);
    return 0;
  }

  /// iommufd_hwpt_alloc: a paging HWPT on an IOAS (iommufd_hwpt_paging_alloc
  /// without immediate attach: the domain joins the IOAS now).
  long hwpt_alloc(void* arg) {
    namespace f = abi::iommufd::hwpt_alloc_flags;
    abi::iommufd::hwpt_alloc cmd{};
    std::uint32_t size = 0;
    if (const int r = read_cmd(arg, abi::iommufd::min_size::hwpt_alloc, cmd, size)) return r;
    if (cmd.reserved) return -EOPNOTSUPP;
    const bool none = cmd.data_type == abi::iommufd::hwpt_data_type::none;
    if ((none && cmd.data_len) || (!none && !cmd.data_len)) return -EINVAL;
    if (!get(cmd.dev_id, object_type::device)) return -ENOENT;  // iommufd_get_device
    const object* pt = get_any(cmd.pt_id);
    if (!pt) return -EINVAL;  // "pt_obj = iommufd_get_object(...); if (IS_ERR) rc = -EINVAL"
    if (pt->type == object_type::hwpt) {
      // iommufd_hwpt_nested_alloc: flags or no user data are -EOPNOTSUPP; the
      // parent would need NEST_PARENT, which this IOMMU never grants.
      if (cmd.flags || none) return -EOPNOTSUPP;
      return -EINVAL;
    }
    if (pt->type != object_type::ioas) return -EINVAL;
    // iommufd_hwpt_paging_alloc
    if (cmd.flags & ~(f::nest_parent | f::dirty_tracking)) return -EOPNOTSUPP;
    if ((cmd.flags & f::dirty_tracking) && !opt_->iommu_dirty_tracking) return -EOPNOTSUPP;  // IOMMU_CAP_DIRTY_TRACKING
    // intel_iommu_domain_alloc_user: a nesting parent needs nested
    // translation (ecap NEST), which QEMU's default VT-d lacks; user data for
    // a paging domain is refused too (assumed, not checked on a guest).
    if ((cmd.flags & f::nest_parent) || !none) return -EOPNOTSUPP;
    const std::uint32_t id = alloc_id();
    object h;
    h.type = object_type::hwpt;
    h.hwpt.ioas = cmd.pt_id;
    h.hwpt.dirty_ops = (cmd.flags & f::dirty_tracking) != 0;
    objects_.emplace(id, std::move(h));
    object* ioas = get(cmd.pt_id, object_type::ioas);
    ++ioas->users;
    if (const int r = add_domain(ioas->ioas, id)) {
      --ioas->users;
      objects_.erase(id);  // iommufd_object_abort_and_destroy
      return r;
    }
    cmd.out_hwpt_id = id;
    respond(arg, cmd, size);
    return 0;
  }

  /// iommufd_hwpt_set_dirty_tracking -> iopt_set_dirty_tracking.
  long set_dirty_tracking(void* arg) {
    abi::iommufd::hwpt_set_dirty_tracking cmd{};
    std::uint32_t size = 0;
    if (const int r = read_cmd(arg, abi::iommufd::min_size::hwpt_set_dirty_tracking, cmd, size)) return r;
    if (cmd.flags & ~abi::iommufd::dirty_tracking_flags::enable) return -EOPNOTSUPP;
    object* h = get(cmd.hwpt_id, object_type::hwpt);
    if (!h) return -ENOENT;
    if (!h->hwpt.dirty_ops) return -EOPNOTSUPP;  // domain->dirty_ops
    const bool enable = cmd.flags & abi::iommufd::dirty_tracking_flags::enable;
    if (enable) h->hwpt.dirty.clear();  // iopt_clear_dirty_data
    h->hwpt.tracking = enable;
    return 0;
  }

  /// iommufd_hwpt_get_dirty_bitmap -> iopt_read_and_clear_dirty_data.
  long get_dirty_bitmap(void* arg) {
    abi::iommufd::hwpt_get_dirty_bitmap cmd{};
    std::uint32_t size = 0;
    if (const int r = read_cmd(arg, abi::iommufd::min_size::hwpt_get_dirty_bitmap, cmd, size)) return r;
    if ((cmd.flags & ~abi::iommufd::dirty_bitmap_flags::no_clear) || cmd.reserved) return -EOPNOTSUPP;
    object* h = get(cmd.hwpt_id, object_type::hwpt);
    if (!h) return -ENOENT;
    const object* ioas = get(h->hwpt.ioas, object_type::ioas);
    if (!ioas) return -ENOENT;
    // iommufd_check_iova_range
    const std::uint64_t align = ioas->ioas.iova_alignment;
    if (!cmd.length) return -EINVAL;
    const std::uint64_t last = cmd.iova + cmd.length - 1;
    if (last < cmd.iova) return -EOVERFLOW;
    if ((cmd.iova & (align - 1)) || ((last + 1) & (align - 1))) return -EINVAL;
    if (!cmd.page_size) return -EINVAL;
    if ((cmd.iova & (cmd.page_size - 1)) || ((last + 1) & (cmd.page_size - 1))) return -EINVAL;
    // iommu_read_and_clear_dirty
    if (!h->hwpt.dirty_ops) return -EOPNOTSUPP;
    if (!cmd.data) return -EFAULT;  // iova_bitmap cannot pin the user bitmap
    // intel_iommu_read_and_clear_dirty: a bitmap read while tracking is off is -EINVAL.
    if (!h->hwpt.tracking) return -EINVAL;
    // __iommu_read_and_clear_dirty: areas must cover the range without a gap.
    for (std::uint64_t at = cmd.iova;;) {
      const ioas_mapping* a = area_at(ioas->ioas, at);
      if (!a) return -EINVAL;
      const std::uint64_t area_last = a->iova + a->length - 1;
      if (area_last >= last) break;
      at = area_last + 1;
    }
    auto* words = reinterpret_cast<std::uint64_t*>(  // NOLINT(performance-no-int-to-ptr)
        static_cast<std::uintptr_t>(cmd.data));
    const bool clear = !(cmd.flags & abi::iommufd::dirty_bitmap_flags::no_clear);
    auto& dirty = h->hwpt.dirty;
    for (auto it = dirty.lower_bound(cmd.iova / page_size); it != dirty.end() && *it <= last / page_size;) {
      const std::uint64_t bit = (*it * page_size - cmd.iova) / cmd.page_size;
      words[bit / 64] |= 1ULL << (bit % 64);
      it = clear ? dirty.erase(it) : std::next(it);
    }
    return 0;
  }

  // --- io_pagetable.c ------------------------------------------------------------

  static const ioas_mapping* area_at(const iopt& io, std::uint64_t at) {
    auto it = io.areas.upper_bound(at);
    if (it == io.areas.begin()) return nullptr;
    --it;
    return at - it->second.iova < it->second.length ? &it->second : nullptr;
  }
  static bool area_overlaps(const iopt& io, std::uint64_t start, std::uint64_t last) {
    auto it = io.areas.upper_bound(last);
    if (it == io.areas.begin()) return false;
    --it;  // the highest area starting at or below `last`
    return it->second.iova + it->second.length - 1 >= start;
  }
  static bool reserved_overlaps(const iopt& io, std::uint64_t start, std::uint64_t last) {
    for (const auto& r : io.reserved)
      if (r.start <= last && start <= r.last) return true;
    return false;
  }
  static bool allowed_overlaps(const iopt& io, std::uint64_t start, std::uint64_t last) {
    for (const auto& r : io.allowed)
      if (r.start <= last && start <= r.last) return true;
    return false;
  }
  static std::vector<abi::iommufd::iova_range> reserved_intervals(const iopt& io) {
    std::vector<abi::iommufd::iova_range> v;
    for (const auto& r : io.reserved) v.push_back({r.start, r.last});
    return v;
  }
  /// The gaps of `used` (any order, may overlap) inside [lo, hi].
  static std::vector<abi::iommufd::iova_range> holes(std::vector<abi::iommufd::iova_range> used, std::uint64_t lo,
                                                     std::uint64_t hi) {
    std::sort(used.begin(), used.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
    std::vector<abi::iommufd::iova_range> out;
    std::uint64_t at = lo;
    bool done = false;
    for (const auto& u : used) {
      if (u.last < at) continue;
      if (u.start > hi) break;
      if (u.start > at) out.push_back({at, std::min(hi, u.start - 1)});
      if (u.last >= hi) {
        done = true;
        break;
      }
      at = u.last + 1;
    }
    if (!done && at <= hi) out.push_back({at, hi});
    return out;
  }

  /// __alloc_iova_check_range.
  static bool check_range(std::uint64_t& start, std::uint64_t last, std::uint64_t length, std::uint64_t align,
                          std::uint64_t page_offset) {
    if (start + (align - 1) < start) return false;
    std::uint64_t aligned = (start + (align - 1)) & ~(align - 1);
    aligned |= page_offset;
    if (aligned >= last || last - aligned < length - 1) return false;
    start = aligned;
    return true;
  }
  static std::uint64_t roundup_pow_of_two(std::uint64_t v) {
    std::uint64_t p = 1;
    while (p < v) p <<= 1;
    return p;
  }

  /// iopt_alloc_iova: the first fit inside the allowed ranges (all of
  /// [PAGE_SIZE, ULONG_MAX - PAGE_SIZE] when none are set), aligned like the
  /// user address up to a huge page.
  static int alloc_iova(const iopt& io, std::uint64_t& iova, std::uint64_t uptr, std::uint64_t length) {
    const std::uint64_t page_offset = uptr % page_size;
    if (length == 0 || length >= ulong_max / 2) return -EOVERFLOW;
    std::uint64_t align = roundup_pow_of_two(length);
    if (uptr) align = std::min<std::uint64_t>(align, uptr & (~uptr + 1));  // 1UL << __ffs64(uptr)
    if (align >= huge_page) align = huge_page;
    if (align < io.iova_alignment) return -EINVAL;
    std::vector<abi::iommufd::iova_range> spans;
    if (io.allowed.empty()) {
      spans.push_back({page_size, ulong_max - page_size});
    } else {
      for (const auto& a : io.allowed) {
        const std::uint64_t s = std::max(a.start, page_size);
        const std::uint64_t l = std::min(a.last, ulong_max - page_size);
        if (s <= l) spans.push_back({s, l});
      }
    }
    std::vector<abi::iommufd::iova_range> used = reserved_intervals(io);
    for (const auto& kv : io.areas) used.push_back({kv.second.iova, kv.second.iova + kv.second.length - 1});
    for (auto span : spans) {
      if (!check_range(span.start, span.last, length, align, page_offset)) continue;
      for (auto hole : holes(used, span.start, span.last)) {
        if (!check_range(hole.start, hole.last, length, align, page_offset)) continue;
        iova = hole.start;
        return 0;
      }
    }
    return -ENOSPC;
  }

  /// iopt_check_iova.
  static int check_iova(const iopt& io, std::uint64_t iova, std::uint64_t length) {
    if (iova & (io.iova_alignment - 1)) return -EINVAL;
    const std::uint64_t last = iova + length - 1;
    if (last < iova) return -EOVERFLOW;
    if (reserved_overlaps(io, iova, last)) return -EINVAL;
    if (area_overlaps(io, iova, last)) return -EEXIST;
    return 0;
  }

  /// The pinning a domain needs: every page the piece touches
  /// (iopt_area_fill_domains -> pfn_reader -> pin_user_pages_remote).
  int pin(const piece& p) const {
    if (!pin_) return 0;
    const std::uint64_t first = p.user_va & ~(page_size - 1);
    const std::uint64_t end = (p.user_va + p.length + page_size - 1) & ~(page_size - 1);
    return pin_(first, end - first, p.pages_writable);
  }

  /// iopt_map_pages -> iopt_alloc_area_pages, iopt_insert_area, then
  /// iopt_fill_domains_pages when a domain holds the IOAS.
  int map_pages(iopt& io, const std::vector<piece>& pieces, std::uint64_t length, std::uint64_t& iova,
                std::uint32_t flags, bool alloc) {
    namespace f = abi::iommufd::map_flags;
    if ((length & (io.iova_alignment - 1)) || !length) return -EINVAL;
    const int r = alloc ? alloc_iova(io, iova, pieces.front().user_va, length) : check_iova(io, iova, length);
    if (r) return r;
    const bool writable = flags & f::writeable;
    std::uint64_t at = iova;
    for (const piece& p : pieces) {
      if (writable && !p.pages_writable) return -EPERM;
      if ((p.user_va % page_size) & (io.iova_alignment - 1)) return -EINVAL;
      if (at + p.length - 1 < at) return -EOVERFLOW;
      at += p.length;
    }
    if (!io.domains.empty()) {
      for (const piece& p : pieces)
        if (const int e = pin(p)) return e;
      // The domain's map (intel-iommu __domain_mapping) refuses a mapping
      // that is neither readable nor writable; only the VFIO compat MAP_DMA
      // can ask for one.
      if (!(flags & (f::readable | f::writeable))) return -EINVAL;
    }
    at = iova;
    for (const piece& p : pieces) {
      ioas_mapping m;
      m.iova = at;
      m.length = p.length;
      m.user_va = p.user_va;
      m.readable = flags & f::readable;
      m.writable = writable;
      m.pages_writable = p.pages_writable;
      io.areas.emplace(at, m);
      at += p.length;
    }
    return 0;
  }

  /// iopt_map_user_pages: iopt_alloc_pages's checks of the user range, then
  /// map_pages of it as one piece (at `iova`, or at an IOVA found when `alloc`).
  int map_user_pages(iopt& io, std::uint64_t user_va, std::uint64_t length, std::uint64_t& iova, std::uint32_t flags,
                     bool alloc) {
    if (length > ulong_max - page_size || !length) return -EINVAL;
    if (user_va + length < user_va) return -EOVERFLOW;
    const std::vector<piece> pieces = {{user_va, length, (flags & abi::iommufd::map_flags::writeable) != 0}};
    return map_pages(io, pieces, length, iova, flags, alloc);
  }

  /// iopt_unmap_iova: [iova, iova + length) checked, then unmap_range;
  /// `unmapped` is what went, also when the result is an error.
  static int unmap_iova(iopt& io, std::uint64_t iova, std::uint64_t length, std::uint64_t& unmapped) {
    unmapped = 0;
    if (!length) return -EINVAL;
    const std::uint64_t last = iova + length - 1;
    if (last < iova) return -EOVERFLOW;
    int rc = 0;
    unmapped = unmap_range(io, iova, last, &rc);
    return rc;
  }

  /// iopt_disable_large_pages: refused once a domain holds mappings.
  int disable_large_pages(iopt& io) const {
    if (io.disable_large_pages) return 0;
    if (!io.domains.empty() && !io.areas.empty()) return -EINVAL;
    io.disable_large_pages = true;
    if (const int r = recalculate_alignment(io)) {
      io.disable_large_pages = false;
      return r;
    }
    return 0;
  }

  /// iopt_unmap_iova_range: areas inside [start, last] go, in IOVA order,
  /// until one crosses either end (-ENOENT, the ones before stay unmapped).
  static std::uint64_t unmap_range(iopt& io, std::uint64_t start, std::uint64_t last, int* rc) {
    std::uint64_t unmapped = 0;
    auto it = io.areas.upper_bound(start);
    if (it != io.areas.begin()) {
      auto prev = std::prev(it);
      if (prev->second.iova + prev->second.length - 1 >= start) it = prev;
    }
    while (it != io.areas.end() && it->second.iova <= last) {
      const std::uint64_t first = it->second.iova;
      const std::uint64_t area_last = first + it->second.length - 1;
      if (first < start || area_last > last) {
        if (rc) *rc = -ENOENT;
        return unmapped;
      }
      unmapped += it->second.length;
      it = io.areas.erase(it);
    }
    return unmapped;
  }

  /// The domain's smallest page: the IOVA alignment a domain imposes.
  std::uint64_t domain_alignment() const {
    const std::uint64_t bits = opt_->iova_pgsizes ? opt_->iova_pgsizes : page_size;
    return bits & (~bits + 1);
  }
  /// iopt_check_iova_alignment: every area must already be aligned.
  static int check_alignment(const iopt& io, std::uint64_t align) {
    for (const auto& kv : io.areas) {
      const ioas_mapping& a = kv.second;
      if ((a.iova & (align - 1)) || (a.length & (align - 1)) || ((a.user_va % page_size) & (align - 1)))
        return -EADDRINUSE;
    }
    return 0;
  }
  /// iopt_calculate_iova_alignment.
  int recalculate_alignment(iopt& io) const {
    std::uint64_t align = io.disable_large_pages ? page_size : 1;
    if (!io.domains.empty()) align = std::max(align, domain_alignment());
    if (align > io.iova_alignment)
      if (const int r = check_alignment(io, align)) return r;
    io.iova_alignment = align;
    return 0;
  }

  /// The IOVA outside the domain's aperture (below the first usable range,
  /// above the last) and the device's reserved regions (between ranges).
  std::vector<abi::iommufd::iova_range> aperture_reserved() const {
    std::vector<abi::iommufd::iova_range> v;
    auto r = opt_->iova_ranges;
    if (r.empty()) return v;
    std::sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
    if (r.front().start > 0) v.push_back({0, r.front().start - 1});
    if (r.back().end < ulong_max) v.push_back({r.back().end + 1, ulong_max});
    return v;
  }
  std::vector<abi::iommufd::iova_range> device_reserved() const {
    std::vector<abi::iommufd::iova_range> v;
    auto r = opt_->iova_ranges;
    std::sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
    for (std::size_t i = 1; i < r.size(); ++i)
      if (r[i].start > r[i - 1].end + 1) v.push_back({r[i - 1].end + 1, r[i].start - 1});
    return v;
  }
  static void remove_reserved(iopt& io, std::uint32_t owner) {
    io.reserved.erase(std::remove_if(io.reserved.begin(), io.reserved.end(),
                                     [owner](const reserved_range& r) { return r.owner == owner; }),
                      io.reserved.end());
  }
  /// iopt_reserve_iova for each range: a mapping or an allowed range in the
  /// way is -EADDRINUSE (and what this owner reserved is dropped again).
  static int reserve(iopt& io, const std::vector<abi::iommufd::iova_range>& ranges, std::uint32_t owner) {
    for (const auto& r : ranges) {
      if (area_overlaps(io, r.start, r.last) || allowed_overlaps(io, r.start, r.last)) {
        remove_reserved(io, owner);
        return -EADDRINUSE;
      }
      io.reserved.push_back({r.start, r.last, owner});
    }
    return 0;
  }

  /// iopt_table_add_domain: alignment, the aperture, then iopt_fill_domain
  /// pins what is mapped.
  int add_domain(iopt& io, std::uint32_t hwpt) {
    const std::uint64_t align = std::max(domain_alignment(), io.iova_alignment);
    if (align > page_size) return -EINVAL;
    if (align != io.iova_alignment)
      if (const int r = check_alignment(io, align)) return r;
    if (const int r = reserve(io, aperture_reserved(), hwpt)) return r;
    for (const auto& kv : io.areas) {
      const ioas_mapping& a = kv.second;
      int r = pin(piece{a.user_va, a.length, a.pages_writable});
      if (!r && !a.readable && !a.writable) r = -EINVAL;  // __domain_mapping, as in map_pages
      if (r) {
        remove_reserved(io, hwpt);
        return r;
      }
    }
    io.iova_alignment = align;
    io.domains.push_back(hwpt);
    return 0;
  }
  /// iopt_table_remove_domain.
  void remove_domain(iopt& io, std::uint32_t hwpt) {
    io.domains.erase(std::remove(io.domains.begin(), io.domains.end(), hwpt), io.domains.end());
    remove_reserved(io, hwpt);
    (void)recalculate_alignment(io);
  }

  // --- device attachment (device.c) -----------------------------------------------

  /// iommufd_hw_pagetable_attach: the group follows one HWPT; the device's
  /// reserved regions join the IOAS (iommufd_device_attach_reserved_iova).
  int hwpt_attach(std::uint32_t devid, std::uint32_t hwpt) {
    object* dev = get(devid, object_type::device);
    object* h = get(hwpt, object_type::hwpt);
    object* ioas = h ? get(h->hwpt.ioas, object_type::ioas) : nullptr;
    if (!dev || !ioas) return -EINVAL;
    igroup& g = groups_[dev->dev.group];
    if (g.hwpt && g.hwpt != hwpt) return -EINVAL;
    if (const int r = reserve(ioas->ioas, device_reserved(), devid)) return r;
    if (g.devices.empty()) g.hwpt = hwpt;
    ++h->users;
    g.devices.push_back(devid);
    dev->dev.hwpt = hwpt;
    return 0;
  }
  /// iommufd_hw_pagetable_detach: returns the HWPT left (the caller puts it).
  std::uint32_t hwpt_detach(std::uint32_t devid) {
    object* dev = get(devid, object_type::device);
    const std::uint32_t hwpt = dev->dev.hwpt;
    igroup& g = groups_[dev->dev.group];
    g.devices.erase(std::remove(g.devices.begin(), g.devices.end(), devid), g.devices.end());
    if (g.devices.empty()) g.hwpt = 0;
    if (object* h = get(hwpt, object_type::hwpt))
      if (object* ioas = get(h->hwpt.ioas, object_type::ioas)) remove_reserved(ioas->ioas, devid);
    dev->dev.hwpt = 0;
    return hwpt;
  }
  /// iommufd_hw_pagetable_put: an automatic domain goes with its last user.
  void put_hwpt(std::uint32_t hwpt) {
    object* h = get(hwpt, object_type::hwpt);
    if (!h) return;
    --h->users;
    if (h->hwpt.auto_domain && h->users == 1) destroy_object(hwpt);
  }

  int do_attach(std::uint32_t devid, std::uint32_t hwpt) { return hwpt_attach(devid, hwpt); }

  /// iommufd_device_do_replace: the whole group moves to the new HWPT.
  int do_replace(std::uint32_t devid, std::uint32_t hwpt) {
    object* dev = get(devid, object_type::device);
    igroup& g = groups_[dev->dev.group];
    if (!g.hwpt || !dev->dev.hwpt) return -EINVAL;
    if (hwpt == g.hwpt) return 0;
    const std::uint32_t old = g.hwpt;
    object* nh = get(hwpt, object_type::hwpt);
    object* oh = get(old, object_type::hwpt);
    object* nioas = get(nh->hwpt.ioas, object_type::ioas);
    const bool same_ioas = oh && oh->hwpt.ioas == nh->hwpt.ioas;
    if (!same_ioas) {
      for (std::uint32_t d : g.devices) {
        if (const int r = reserve(nioas->ioas, device_reserved(), d)) {
          for (std::uint32_t u : g.devices) remove_reserved(nioas->ioas, u);
          return r;
        }
      }
      if (oh)
        if (object* oioas = get(oh->hwpt.ioas, object_type::ioas))
          for (std::uint32_t d : g.devices) remove_reserved(oioas->ioas, d);
    }
    g.hwpt = hwpt;
    nh->users += static_cast<int>(g.devices.size());
    for (std::uint32_t d : g.devices) get(d, object_type::device)->dev.hwpt = hwpt;
    if (oh) {
      oh->users -= static_cast<int>(g.devices.size()) - 1;
      put_hwpt(old);
    }
    return 0;
  }

  /// iommufd_device_auto_get_domain: an automatic HWPT of the IOAS the device
  /// can join (-EINVAL from one means "incompatible, try the next"), else a
  /// new one (with immediate attach for a first attach).
  int auto_get_domain(std::uint32_t devid, std::uint32_t& pt_id, bool replace) {
    const std::uint32_t ioas_id = pt_id;
    const std::vector<std::uint32_t> domains = get(ioas_id, object_type::ioas)->ioas.domains;
    for (std::uint32_t h : domains) {
      const object* ho = get(h, object_type::hwpt);
      if (!ho || !ho->hwpt.auto_domain) continue;
      const int r = replace ? do_replace(devid, h) : do_attach(devid, h);
      if (r == -EINVAL) continue;
      if (r) return r;
      pt_id = h;
      return 0;
    }
    const std::uint32_t id = alloc_id();
    object h;
    h.type = object_type::hwpt;
    h.hwpt.ioas = ioas_id;
    objects_.emplace(id, std::move(h));
    ++get(ioas_id, object_type::ioas)->users;
    const auto abort = [&] {
      --get(ioas_id, object_type::ioas)->users;
      objects_.erase(id);
    };
    if (!replace) {
      if (const int r = hwpt_attach(devid, id)) {
        abort();
        return r;
      }
      if (const int r = add_domain(get(ioas_id, object_type::ioas)->ioas, id)) {
        hwpt_detach(devid);
        abort();
        return r;
      }
    } else {
      if (const int r = add_domain(get(ioas_id, object_type::ioas)->ioas, id)) {
        abort();
        return r;
      }
      if (const int r = do_replace(devid, id)) {
        remove_domain(get(ioas_id, object_type::ioas)->ioas, id);
        abort();
        return r;
      }
      // The new HWPT holds only the group's devices: the reference the
      // replace took for this call is the one its creation held.
    }
    get(id, object_type::hwpt)->hwpt.auto_domain = true;
    pt_id = id;
    return 0;
  }

  const kernel_options* opt_;
  pin_pages_fn pin_;
  bool account_mm_ = false;      ///< IOPT_PAGES_ACCOUNT_MM (RLIMIT_MODE 1); USER by default for /dev/iommu
  std::uint32_t vfio_ioas_ = 0;  ///< ictx->vfio_ioas: the IOAS of the VFIO compatibility ioctls (0: none)
  bool no_iommu_mode_ = false;   ///< ictx->no_iommu_mode (never set: no-IOMMU groups are not modelled)
  std::map<std::uint32_t, object> objects_;
  std::map<unsigned, igroup> groups_;
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_IOMMUFD_HPP_INCLUDED
