// The open-file objects of a simulated kernel and the tables that hold them:
// containers (struct vfio_container), groups (struct vfio_group), device
// files, eventfds and sysfs files behind fake descriptor numbers, and the
// memory mappings made through device files.
#ifndef VFIO_TESTING_SIM_DESCRIPTORS_HPP_INCLUDED
#define VFIO_TESTING_SIM_DESCRIPTORS_HPP_INCLUDED

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "eventfd.hpp"
#include "inspection.hpp"
#include "iommufd.hpp"
#include "pci_function.hpp"
#include "sysfs.hpp"
#include "type1_iommu.hpp"

namespace vfio::testing::sim {

class migration_file;  // sim/migration_device.hpp

/// struct vfio_container: alive while its descriptor is open or a group is
/// attached (the groups hold a reference: vfio_container_attach_group).
struct container_object {
  bool fd_open = true;
  std::vector<unsigned> groups;        ///< container->group_list
  std::unique_ptr<type1_iommu> iommu;  ///< container->iommu_driver (type1) once SET_IOMMU succeeded
};

/// struct vfio_group of one IOMMU group.
struct group_object {
  unsigned id = 0;
  bool opened = false;   ///< group->opened_file: the node is open (fd or device files hold it)
  bool fd_open = false;  ///< the descriptor itself is still open
  int device_refs = 0;   ///< device files holding the group file (vfio_group_use_container: get_file)
  std::shared_ptr<container_object> container;
  /// group->iommufd: the iommufd passed to VFIO_GROUP_SET_CONTAINER instead of a
  /// container (its compat IOAS serves the VFIO ioctls; devices bind on first open).
  std::shared_ptr<iommufd_ctx> iommufd;
  int container_users = 0;          ///< 1 for the attachment + 1 per device with open_count > 0
  int cdev_device_open_cnt = 0;     ///< cdev-bound devices of the group: they block the node (group.c)
  const void* dma_owner = nullptr;  ///< iommu_group owner claimed by an iommufd (iommu_device_claim_dma_owner)
  int dma_owner_cnt = 0;
};

/// An open device file (anon inode "[vfio-device]"). Mappings hold a file
/// reference too, so the device is released only when the descriptor is
/// closed and every mapping is gone.
struct device_file {
  std::string bdf;
  unsigned group = 0;
  bool fd_open = true;
  int mappings = 0;
  std::uint64_t pos = 0;  ///< the file position read(2) / write(2) use
  /// Opened through /dev/vfio/devices/vfioN (df->group == NULL); such a file
  /// grants nothing until VFIO_DEVICE_BIND_IOMMUFD succeeds (access_granted).
  bool cdev = false;
  bool access_granted = true;         ///< a group-opened file is granted from the start
  std::shared_ptr<iommufd_ctx> ictx;  ///< the iommufd bound to (df->iommufd)
  std::uint32_t devid = 0;            ///< its device object there (df->devid)
};

struct descriptor {
  descriptor_kind kind = descriptor_kind::sysfs;
  std::shared_ptr<container_object> container;
  unsigned group = 0;
  std::shared_ptr<device_file> device;
  std::shared_ptr<eventfd_counter> eventfd;
  std::shared_ptr<sysfs_file> sysfs;
  std::shared_ptr<iommufd_ctx> iommufd;       ///< /dev/iommu: the context lives while a bound device holds it too
  std::shared_ptr<migration_file> migration;  ///< a migration data_fd
};

/// Fake descriptor numbers from 1000 up, the lowest free one first (as the
/// kernel hands out the lowest free descriptor), so they never collide with
/// real descriptors of a test process. Numbers closed below the highest ever
/// handed out wait in `freed_`, so add() is O(log n) like find() and erase().
class descriptor_table {
 public:
  static constexpr int first = first_descriptor;

  int add(descriptor d) {
    // The open and freed numbers together are exactly [first, first + both
    // sizes): with nothing freed the next one up is the lowest free number.
    int fd = first + static_cast<int>(table_.size());
    if (!freed_.empty()) {
      fd = *freed_.begin();
      freed_.erase(freed_.begin());
    }
    table_.emplace(fd, std::move(d));
    return fd;
  }
  descriptor* find(int fd) {
    auto it = table_.find(fd);
    return it == table_.end() ? nullptr : &it->second;
  }
  bool erase(int fd) {
    if (!table_.erase(fd)) return false;
    freed_.insert(fd);
    return true;
  }
  std::size_t size() const noexcept { return table_.size(); }
  std::size_t count(descriptor_kind k) const noexcept {
    std::size_t n = 0;
    for (const auto& kv : table_) n += kv.second.kind == k ? 1 : 0;
    return n;
  }
  const std::map<int, descriptor>& all() const noexcept { return table_; }

 private:
  std::map<int, descriptor> table_;
  std::set<int> freed_;  ///< closed numbers below first + table_.size() + freed_.size()
};

/// One mmap of a BAR. The address is the BAR's simulated memory at the
/// mapped offset, so every mapping of the same range aliases the same bytes,
/// as mappings of real device memory do, and pread/pwrite through the
/// device file see what was stored through a mapping. The memory stays valid
/// until munmap even if the device is closed or removed meanwhile.
struct mapping_record {
  unsigned char* addr = nullptr;
  std::size_t length = 0;
  std::shared_ptr<device_memory> memory;
  std::shared_ptr<device_file> file;
  std::string bdf;
  std::uint32_t region = 0;
};

class mapping_table {
 public:
  void add(mapping_record m) {
    const auto key = reinterpret_cast<std::uintptr_t>(m.addr);
    maps_.emplace(key, std::move(m));
  }
  /// A mapping whose range contains addr (the latest of several aliases).
  const mapping_record* containing(const void* addr) const {
    const auto a = reinterpret_cast<std::uintptr_t>(addr);
    const mapping_record* best = nullptr;
    for (auto it = maps_.begin(); it != maps_.end() && it->first <= a; ++it)
      if (a < it->first + it->second.length) best = &it->second;
    return best;
  }
  /// Removes a mapping starting at addr of the given length (rounded up to
  /// pages; any length when none matches exactly); false if there is none.
  bool take(void* addr, std::size_t length, mapping_record& out) {
    const auto key = reinterpret_cast<std::uintptr_t>(addr);
    const std::size_t page = device_memory::page_size;
    const std::size_t want = (length + page - 1) & ~(page - 1);
    auto range = maps_.equal_range(key);
    auto pick = range.first;
    for (auto it = range.first; it != range.second; ++it)
      if (((it->second.length + page - 1) & ~(page - 1)) == want) pick = it;
    if (pick == range.second) return false;
    out = std::move(pick->second);
    maps_.erase(pick);
    return true;
  }
  std::size_t size() const noexcept { return maps_.size(); }
  template <class F>
  void for_each(F f) const {
    for (const auto& kv : maps_) f(kv.second);
  }

 private:
  std::multimap<std::uintptr_t, mapping_record> maps_;
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_DESCRIPTORS_HPP_INCLUDED
