// The host around a simulated VFIO kernel: which modules are loaded, whether
// the IOMMU is on, who the calling process is and what it may open, and its
// RLIMIT_MEMLOCK. Each field is one cause host::diagnose reports, so a test
// can build the broken host it wants to explain.
#ifndef VFIO_TESTING_SIM_HOST_ENVIRONMENT_HPP_INCLUDED
#define VFIO_TESTING_SIM_HOST_ENVIRONMENT_HPP_INCLUDED

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vfio::testing::sim {

/// Owner and mode of a /dev/vfio/N node.
struct node_access {
  unsigned uid = 0;
  unsigned gid = 0;
  /// vfio's group class sets no devnode mode (drivers/vfio/group.c:
  /// vfio_devnode), so without a udev rule the node is root's, 0600.
  unsigned mode = 0600;
};

/// Owner and mode of /dev/vfio/N by group number N, for the few groups a test
/// sets (host_environment::group_nodes): `table[3] = node_access{0, 1000, 0660};`.
/// A list searched in order, not a std::map: a test sets a handful, and <map> was
/// a tenth of the compile cost of <vfio/testing/simulated_kernel.hpp>.
class group_node_table {
 public:
  /// The entry of `group`, added as node_access{} when absent (as std::map's).
  node_access& operator[](unsigned group) {
    for (auto& e : entries_)
      if (e.group == group) return e.access;
    entries_.push_back({group, node_access{}});
    return entries_.back().access;
  }
  /// The entry of `group`, or null when none was set.
  const node_access* find(unsigned group) const noexcept {
    for (const auto& e : entries_)
      if (e.group == group) return &e.access;
    return nullptr;
  }
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  void clear() noexcept { entries_.clear(); }

 private:
  struct entry {
    unsigned group;
    node_access access;
  };
  std::vector<entry> entries_;
};

struct host_environment {
  /// The vfio module: /sys/module/vfio, /dev/vfio and /dev/vfio/vfio exist.
  bool vfio_loaded = true;
  /// The vfio-pci module: /sys/module/vfio_pci and /sys/bus/pci/drivers/vfio-pci
  /// exist, and functions can bind to vfio-pci.
  bool vfio_pci_loaded = true;
  /// An IOMMU is on: functions have iommu_group links and
  /// /sys/kernel/iommu_groups/N exist. Without one vfio-pci's probe fails
  /// (vfio_group_find_or_alloc in drivers/vfio/group.c: no iommu_group and no
  /// noiommu mode is -EINVAL), so functions stay unbound.
  bool iommu_enabled = true;

  /// The calling process's effective uid and groups (0 bypasses permissions,
  /// as CAP_DAC_OVERRIDE does).
  unsigned uid = 0;
  std::vector<unsigned> gids = {0};
  /// Owner and mode of /dev/vfio/N by N; absent entries are node_access{}.
  group_node_table group_nodes;

  /// RLIMIT_MEMLOCK (soft and hard) in bytes: MLOCK_LIMIT, 8 MiB since Linux
  /// 5.16 (include/uapi/linux/resource.h).
  std::uint64_t memlock_limit = 8ULL << 20;

  /// generic_permission's owner / group / other check for `mode` (R_OK, W_OK).
  bool may_access(const node_access& n, int mode) const {
    if (uid == 0) return true;
    unsigned bits = n.mode & 07;
    if (uid == n.uid) {
      bits = (n.mode >> 6) & 07;
    } else {
      for (unsigned g : gids)
        if (g == n.gid) bits = (n.mode >> 3) & 07;
    }
    const unsigned want = ((mode & R_OK) ? 4U : 0U) | ((mode & W_OK) ? 2U : 0U) | ((mode & X_OK) ? 1U : 0U);
    return (bits & want) == want;
  }
  node_access group_node(unsigned n) const {
    const node_access* set = group_nodes.find(n);
    return set ? *set : node_access{};
  }
  /// The access an open(2) with `flags` needs.
  static int open_mode(int flags) {
    const int acc = flags & O_ACCMODE;
    return acc == O_RDONLY ? R_OK : acc == O_WRONLY ? W_OK : R_OK | W_OK;
  }
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_HOST_ENVIRONMENT_HPP_INCLUDED
