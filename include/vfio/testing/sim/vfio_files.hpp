// The VFIO descriptors of a simulated kernel: /dev/vfio/vfio containers
// (drivers/vfio/container.c), /dev/vfio/N groups (drivers/vfio/group.c),
// device files (drivers/vfio/vfio_main.c), their ioctls, I/O, mmap and the
// release order that ties them together.
#ifndef VFIO_TESTING_SIM_VFIO_FILES_HPP_INCLUDED
#define VFIO_TESTING_SIM_VFIO_FILES_HPP_INCLUDED

#include <sys/mman.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "../../abi/vfio.hpp"
#include "descriptors.hpp"
#include "kernel_state.hpp"
#include "type1_iommu.hpp"

namespace vfio::testing::sim::vfio_files {

/// vfio_group_has_iommu: a container or an iommufd is set.
inline bool has_iommu(const group_object& g) { return g.container || g.iommufd; }

/// vfio_fops_open: every open of /dev/vfio/vfio is a new container.
inline int open_container(kernel_state& k) {
  descriptor d;
  d.kind = descriptor_kind::container;
  d.container = std::make_shared<container_object>();
  return k.fds.add(std::move(d));
}

/// vfio_group_fops_open: the node exists while a device of the group is bound
/// to vfio-pci; "Do we need multiple instances of the group open? Seems not."
inline int open_group(kernel_state& k, unsigned id) {
  if (!k.group_has_vfio_device(id)) return -ENOENT;
  group_object& g = k.groups[id];
  g.id = id;
  if (g.cdev_device_open_cnt) return -EBUSY;  // a device of the group is bound through its cdev
  if (g.opened) return -EBUSY;
  g.opened = true;
  g.fd_open = true;
  descriptor d;
  d.kind = descriptor_kind::group;
  d.group = id;
  return k.fds.add(std::move(d));
}

/// vfio_group_detach_container: detaching the last group deprivileges the
/// container (the IOMMU driver and its mappings go away).
inline void detach_container(group_object& g) {
  auto& c = *g.container;
  c.groups.erase(std::remove(c.groups.begin(), c.groups.end(), g.id), c.groups.end());
  if (c.groups.empty()) c.iommu.reset();
  g.container.reset();
  g.container_users = 0;
}

/// vfio_group_fops_release: runs once the descriptor is closed and no open
/// device holds the group file.
inline void release_group_file(kernel_state& k, group_object& g) {
  if (g.container) detach_container(g);
  g.iommufd.reset();  // iommufd_ctx_put
  g.opened = false;
  k.forget_group_if_unused(g.id);
}

/// iommu_device_claim_dma_owner for `ictx` (iommufd_device_bind): -EPERM
/// while another owner (an iommufd, or a kernel driver using the DMA API on a
/// function of the group) holds the group.
inline int claim_dma_owner(const kernel_state& k, group_object& g, const iommufd_ctx* ictx) {
  if (g.dma_owner_cnt ? g.dma_owner != ictx : !k.group_viable(g.id)) return -EPERM;
  g.dma_owner = ictx;
  ++g.dma_owner_cnt;
  return 0;
}

/// iommu_device_release_dma_owner.
inline void release_dma_owner(group_object& g) {
  if (g.dma_owner_cnt > 0 && --g.dma_owner_cnt == 0) g.dma_owner = nullptr;
}

// --- device cdevs (drivers/vfio/device_cdev.c) ------------------------------------

/// vfio_device_fops_cdev_open: a device file that grants nothing until
/// BIND_IOMMUFD. The node exists only while the device is registered (the
/// caller's path walk answers ENOENT otherwise).
inline int open_cdev(kernel_state& k, sim_function& fn) {
  auto file = std::make_shared<device_file>();
  file->bdf = fn.hw->desc().bdf;
  file->group = fn.hw->desc().iommu_group;
  file->cdev = true;
  file->access_granted = false;
  descriptor d;
  d.kind = descriptor_kind::device;
  d.device = std::move(file);
  return k.fds.add(std::move(d));
}

/// vfio_df_ioctl_bind_iommufd (6.12: flags must be 0; the VF-token flag of
/// later kernels is not modelled) -> vfio_df_open -> vfio_df_iommufd_bind ->
/// iommufd_device_bind, then vfio-pci's open_device.
inline long cdev_bind(kernel_state& k, device_file& f, void* arg) {
  if (!arg) return -EFAULT;
  abi::device_bind_iommufd bind{};
  constexpr std::size_t minsz = offsetof(abi::device_bind_iommufd, out_devid) + 4;  // 16
  std::memcpy(&bind, arg, minsz);
  if (bind.argsz < minsz || bind.flags || bind.iommufd < 0) return -EINVAL;
  sim_function* fn = k.function(f.bdf);
  if (!fn || !fn->vfio) return -ENODEV;
  group_object& g = k.groups[f.group];
  g.id = f.group;
  if (g.opened) return -EBUSY;           // vfio_device_block_group: the group node is open
  if (f.access_granted) return -EINVAL;  // "one device cannot be bound twice"
  descriptor* d = k.fds.find(bind.iommufd);
  if (!d) return -EBADF;                                    // iommufd_ctx_from_fd: fget
  if (d->kind != descriptor_kind::iommufd) return -EBADFD;  // not iommufd_fops
  if (fn->open_count) return -EINVAL;  // vfio_df_open: "the device cdev path doesn't have a secure way"
  iommufd_ctx* ictx = d->iommufd.get();
  if (const int r = claim_dma_owner(k, g, ictx)) return r;
  const std::uint32_t devid = ictx->bind(f.bdf, f.group);
  ++g.cdev_device_open_cnt;
  fn->open_count = 1;
  fn->vfio->enable();
  fn->cdev_opened = true;
  fn->ictx = ictx;
  fn->devid = devid;
  f.ictx = d->iommufd;
  f.devid = devid;
  f.access_granted = true;
  std::memcpy(static_cast<unsigned char*>(arg) + offsetof(abi::device_bind_iommufd, out_devid), &devid, 4);
  return 0;
}

/// vfio_df_ioctl_attach_pt -> vfio_iommufd_physical_attach_ioas (6.12:
/// flags must be 0, argsz covers pt_id); the HWPT id is written back.
inline long cdev_attach(device_file& f, void* arg) {
  if (!arg) return -EFAULT;
  abi::device_attach_iommufd_pt a{};
  constexpr std::size_t minsz = offsetof(abi::device_attach_iommufd_pt, pt_id) + 4;  // 12
  std::memcpy(&a, arg, minsz);
  if (a.argsz < minsz || a.flags) return -EINVAL;
  std::uint32_t pt = a.pt_id;
  if (const int r = f.ictx->attach(f.devid, pt)) return r;
  std::memcpy(static_cast<unsigned char*>(arg) + offsetof(abi::device_attach_iommufd_pt, pt_id), &pt, 4);
  return 0;
}

/// vfio_df_ioctl_detach_pt -> vfio_iommufd_physical_detach_ioas.
inline long cdev_detach(device_file& f, void* arg) {
  if (!arg) return -EFAULT;
  abi::device_detach_iommufd_pt a{};
  constexpr std::size_t minsz = offsetof(abi::device_detach_iommufd_pt, flags) + 4;  // 8
  std::memcpy(&a, arg, minsz);
  if (a.argsz < minsz || a.flags) return -EINVAL;
  f.ictx->detach(f.devid);
  return 0;
}

/// vfio_device_fops_unl_ioctl for a cdev-opened file: BIND first; nothing
/// else before the bind (-EINVAL); ATTACH/DETACH inside the runtime-PM
/// get/put like every device ioctl; the rest is vfio-pci's.
inline long cdev_ioctl(kernel_state& k, device_file& f, unsigned long request, void* arg) {
  if (request == abi::req::device_bind_iommufd) return cdev_bind(k, f, arg);
  if (!f.access_granted) return -EINVAL;
  sim_function* fn = k.function(f.bdf);
  if (!fn || !fn->vfio) return -ENODEV;
  if (request == abi::req::device_attach_iommufd_pt || request == abi::req::device_detach_iommufd_pt) {
    fn->pm->get();
    const long r = request == abi::req::device_attach_iommufd_pt ? cdev_attach(f, arg) : cdev_detach(f, arg);
    fn->pm->put();
    return r;
  }
  return fn->vfio->ioctl(request, arg);
}

/// vfio_device_fops_release -> vfio_df_unbind_iommufd: nothing for a file
/// never bound; else the last close (close_device, then the iommufd unbind
/// that detaches and destroys the device object), the DMA ownership and the
/// group block go.
inline void release_cdev_file(kernel_state& k, device_file& f) {
  if (!f.access_granted) return;
  f.access_granted = false;
  sim_function* fn = k.function(f.bdf);
  if (fn && fn->open_count && --fn->open_count == 0) {
    if (fn->vfio) fn->vfio->disable();
    fn->cdev_opened = false;
    fn->ictx = nullptr;
    fn->devid = 0;
  }
  if (f.ictx) f.ictx->unbind(f.devid);
  auto it = k.groups.find(f.group);
  if (it != k.groups.end()) {
    group_object& g = it->second;
    release_dma_owner(g);
    if (g.cdev_device_open_cnt > 0) --g.cdev_device_open_cnt;
  }
  f.ictx.reset();  // iommufd_ctx_put
}

/// vfio_device_fops_release -> vfio_df_group_close: the last close of the
/// device runs vfio-pci's close_device and drops the group's container use
/// (vfio_group_unuse_container: fput of the group file). A cdev-opened file
/// unbinds instead (release_cdev_file).
inline void release_device_file(kernel_state& k, device_file& f) {
  if (f.cdev) {
    release_cdev_file(k, f);
    return;
  }
  sim_function* fn = k.function(f.bdf);
  if (!fn || !fn->open_count) return;
  if (--fn->open_count) return;
  if (fn->vfio) fn->vfio->disable();
  auto it = k.groups.find(f.group);
  if (fn->ictx) {
    // vfio_df_device_last_close -> vfio_df_iommufd_unbind: a device opened
    // through a group attached to an iommufd was bound there.
    fn->ictx->unbind(fn->devid);
    fn->ictx = nullptr;
    fn->devid = 0;
    if (it != k.groups.end()) release_dma_owner(it->second);
  }
  if (it == k.groups.end()) return;
  group_object& g = it->second;
  if (g.container_users > 1) --g.container_users;
  if (g.device_refs > 0) --g.device_refs;
  if (!g.fd_open && !g.device_refs) release_group_file(k, g);
}

/// vfio_fops_unl_ioctl (container.c) and, once SET_IOMMU succeeded, the
/// type1 driver's vfio_iommu_type1_ioctl.
inline long container_ioctl(kernel_state& k, container_object& c, unsigned long request, unsigned long value,
                            void* arg) {
  namespace r = abi::req;
  if (request == r::get_api_version) return abi::api_version;
  if (request == r::check_extension) {
    // Without a driver every registered driver is asked (type1 with no
    // iommu: DMA_CC is 0); with one, only that driver.
    return type1_iommu::check_extension(value, k.opt, c.iommu != nullptr);
  }
  if (request == r::set_iommu) {
    // vfio_ioctl_set_iommu: needs a group and no driver yet; a type no
    // driver reports is -ENODEV, one type1 reports but cannot open (e.g.
    // VFIO_UNMAP_ALL) is its open's -EINVAL.
    if (c.groups.empty() || c.iommu) return -EINVAL;
    if (type1_iommu::check_extension(value, k.opt, false) <= 0) return -ENODEV;
    if (value != abi::extension::type1_iommu && value != abi::extension::type1v2_iommu &&
        value != abi::extension::type1_nesting_iommu)
      return -EINVAL;
    c.iommu = std::make_unique<type1_iommu>(value != abi::extension::type1_iommu, k.opt);
    return 0;
  }
  if (!c.iommu) return -EINVAL;  // no driver: unrecognized ioctls are -EINVAL
  if (request == r::iommu_get_info) return c.iommu->get_info(arg);
  if (request == r::iommu_map_dma) return c.iommu->map_dma(arg);
  if (request == r::iommu_unmap_dma) return c.iommu->unmap_dma(arg);
  if (request == r::iommu_dirty_pages) return c.iommu->dirty_pages(arg);
  return -ENOTTY;
}

/// vfio_pci_core_match: the device name, then optional " vf_token=<uuid>"
/// arguments. Returns 1 (match), 0 (no match) or -EINVAL.
inline int match_device_name(const std::string& bdf, const char* buf) {
  const std::string s = buf;
  if (s.compare(0, bdf.size(), bdf) != 0) return 0;
  if (s.size() == bdf.size()) return 1;
  if (s[bdf.size()] != ' ') return 0;
  bool token = false;
  for (std::size_t i = bdf.size(); i < s.size();) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    static const std::string key = "vf_token=";
    if (!token && s.compare(i, key.size(), key) == 0) {
      i += key.size();
      if (s.size() - i < 36) return -EINVAL;  // UUID_STRING_LEN
      for (std::size_t j = 0; j < 36; ++j) {
        const char c = s[i + j];
        const bool dash = j == 8 || j == 13 || j == 18 || j == 23;
        if (dash ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return -EINVAL;  // uuid_parse
      }
      token = true;
      i += 36;
    } else {
      return -EINVAL;  // unknown or duplicate option
    }
  }
  // vfio_pci_validate_vf_token: neither a PF nor a VF takes a token.
  return token ? -EINVAL : 1;
}

/// vfio_group_ioctl_get_device_fd -> vfio_df_group_open -> vfio_df_open.
inline int get_device_fd(kernel_state& k, group_object& g, const char* name) {
  if (!name) return -EFAULT;
  if (::strnlen(name, 4096) >= 4096) return -EINVAL;  // strndup_user(arg, PAGE_SIZE)
  sim_function* fn = nullptr;
  for (auto& kv : k.functions) {
    sim_function& f = *kv.second;
    if (!f.vfio || f.hw->desc().iommu_group != g.id) continue;
    const int m = match_device_name(kv.first, name);
    if (m < 0) return m;
    if (m > 0) {
      fn = &f;
      break;
    }
  }
  if (!fn) return -ENODEV;
  if (!has_iommu(g)) return -EINVAL;  // vfio_df_group_open
  if (fn->open_count == 0) {
    if (g.iommufd) {
      // vfio_df_device_first_open -> vfio_df_iommufd_bind (iommufd_device_bind
      // claims DMA ownership: -EPERM while a kernel driver or another owner
      // holds the group), open_device, then vfio_iommufd_compat_attach_ioas
      // (-ENODEV once the compat IOAS is gone); a failed attach closes again.
      iommufd_ctx* ictx = g.iommufd.get();
      if (const int c = claim_dma_owner(k, g, ictx)) return c;
      const std::uint32_t devid = ictx->bind(fn->hw->desc().bdf, g.id);
      fn->vfio->enable();
      std::uint32_t pt = 0;
      int r = ictx->compat_ioas_id(pt);
      if (!r) r = ictx->attach(devid, pt);
      if (r) {
        fn->vfio->disable();
        ictx->unbind(devid);
        release_dma_owner(g);
        return r;
      }
      fn->ictx = ictx;
      fn->devid = devid;
    } else {
      // vfio_device_first_open -> vfio_group_use_container: SET_IOMMU first.
      if (!g.container->iommu) return -EINVAL;
      ++g.container_users;
      fn->vfio->enable();
    }
    ++g.device_refs;
  }
  ++fn->open_count;
  auto file = std::make_shared<device_file>();
  file->bdf = fn->hw->desc().bdf;
  file->group = g.id;
  file->ictx = g.iommufd;  // df->iommufd: keeps the context alive while the device is bound
  descriptor d;
  d.kind = descriptor_kind::device;
  d.device = std::move(file);
  return k.fds.add(std::move(d));
}

/// vfio_group_fops_unl_ioctl.
inline long group_ioctl(kernel_state& k, group_object& g, unsigned long request, void* arg) {
  namespace r = abi::req;
  const bool removed = !k.group_has_vfio_device(g.id);  // group->iommu_group cleared
  if (request == r::group_get_status) {
    if (!arg) return -EFAULT;
    abi::group_status st{};
    std::memcpy(&st, arg, sizeof st);
    if (st.argsz < sizeof st) return -EINVAL;
    if (removed) return -ENODEV;
    st.flags = 0;
    // With an iommufd, DMA ownership is claimed at GET_DEVICE_FD: VIABLE here
    // does not promise that the device opens.
    if (has_iommu(g))
      st.flags = abi::group_flags::container_set | abi::group_flags::viable;
    else if (k.group_viable(g.id))
      st.flags = abi::group_flags::viable;
    std::memcpy(arg, &st, sizeof st);
    return 0;
  }
  if (request == r::group_set_container) {
    if (!arg) return -EFAULT;
    int cfd = -1;
    std::memcpy(&cfd, arg, sizeof cfd);
    descriptor* d = k.fds.find(cfd);
    if (!d) return -EBADF;
    if (has_iommu(g)) return -EINVAL;
    if (removed) return -ENODEV;
    if (d->kind == descriptor_kind::iommufd) {
      // iommufd_ctx_from_file: an iommufd (/dev/iommu, or /dev/vfio/vfio with
      // CONFIG_IOMMUFD_VFIO_CONTAINER) gets its compat IOAS; no DMA ownership
      // is claimed yet.
      if (const int r = d->iommufd->compat_ioas_create()) return r;
      g.iommufd = d->iommufd;
      return 0;
    }
    if (d->kind != descriptor_kind::container) return k.opt.set_container_foreign_fd_errno();
    // vfio_container_attach_group: iommu_group_claim_dma_owner fails with
    // -EPERM while a kernel driver owns DMA for a device of the group.
    if (!k.group_viable(g.id)) return -EPERM;
    if (d->container->iommu && d->container->iommu->any_vaddr_invalid()) return -EBUSY;  // type1 attach_group
    g.container = d->container;
    g.container_users = 1;
    d->container->groups.push_back(g.id);
    return 0;
  }
  if (request == r::group_unset_container) {
    if (!has_iommu(g)) return -EINVAL;
    if (g.container) {
      if (g.container_users != 1) return -EBUSY;
      detach_container(g);
    }
    // An iommufd is let go even while devices are open: each bound device
    // holds the context itself.
    g.iommufd.reset();
    return 0;
  }
  if (request == r::group_get_device_fd) return get_device_fd(k, g, static_cast<const char*>(arg));
  return -ENOTTY;
}

/// mmap(2) of a device file: page-aligned offset and a length first (the
/// mm's checks), then vfio_pci_core_mmap. The mapping holds the file.
inline int mmap_device(kernel_state& k, descriptor& d, void** addr, std::size_t length, int flags,
                       std::int64_t offset) {
  if (!length || offset < 0 || (offset & 0xfff)) return -EINVAL;
  if (!d.device->access_granted) return -EINVAL;  // vfio_device_fops_mmap: an unbound cdev
  sim_function* fn = k.function(d.device->bdf);
  if (!fn || !fn->vfio) return -ENODEV;
  std::shared_ptr<device_memory> mem;
  std::size_t at = 0;
  if (const int r = fn->vfio->mmap(static_cast<std::uint64_t>(offset), length, flags, mem, at); r < 0) return r;
  mapping_record m;
  m.addr = mem->data() + at;
  m.length = length;
  m.memory = std::move(mem);
  m.file = d.device;
  m.bdf = d.device->bdf;
  m.region = region_index(static_cast<std::uint64_t>(offset));
  *addr = m.addr;
  ++d.device->mappings;
  k.mappings.add(std::move(m));
  return 0;
}

/// munmap(2) of a mapping made through mmap_device. Linux returns 0 for a
/// range nothing is mapped at; the simulation knows only its own mappings
/// and answers -EINVAL so that a test notices a stray unmap.
inline int munmap_device(kernel_state& k, void* addr, std::size_t length) {
  mapping_record m;
  if (!addr || !length || !k.mappings.take(addr, length, m)) return -EINVAL;
  if (m.file && m.file->mappings > 0 && --m.file->mappings == 0 && !m.file->fd_open) release_device_file(k, *m.file);
  return 0;
}

/// close(2) of a VFIO descriptor; each kind releases what it holds.
inline void close_vfio_descriptor(kernel_state& k, descriptor& d) {
  switch (d.kind) {
    case descriptor_kind::container:
      d.container->fd_open = false;  // vfio_fops_release: the groups keep it alive
      break;
    case descriptor_kind::group: {
      auto it = k.groups.find(d.group);
      if (it == k.groups.end()) break;
      it->second.fd_open = false;
      if (!it->second.device_refs) release_group_file(k, it->second);
      break;
    }
    case descriptor_kind::device:
      d.device->fd_open = false;
      if (!d.device->mappings) release_device_file(k, *d.device);
      break;
    default: break;
  }
}

}  // namespace vfio::testing::sim::vfio_files

#endif  // VFIO_TESTING_SIM_VFIO_FILES_HPP_INCLUDED
