// `vfioctl doctor`: why a PCI device can or cannot be used through VFIO, each
// cause with the command that fixes it. The findings are the library's
// (vfio::host::diagnose); the tool adds the one check only an open can make
// (another process holds the group node) and names its own bind command as
// the fix where it has one.
#ifndef VFIOCTL_DOCTOR_HPP_INCLUDED
#define VFIOCTL_DOCTOR_HPP_INCLUDED

#include <fcntl.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include <vfio/host/diagnose.hpp>
#include <vfio/host/pci_address.hpp>
#include <vfio/result.hpp>

#include "machine.hpp"

namespace vfioctl {

struct finding {
  std::string cause;     ///< vfio::host::to_string(cause), or "group_busy" (stable: scripts match on it)
  std::string subject;   ///< the BDF, device node, module or limit concerned
  std::string sentence;  ///< what is wrong, in one sentence
  std::string fix;       ///< the command that fixes it ("" when none applies)
  bool blocking = true;  ///< false: VFIO works, with a limitation
};

/// Guest RAM doctor assumes a VMM maps when checking RLIMIT_MEMLOCK.
constexpr std::uint64_t default_dma_bytes = std::uint64_t{1} << 30;

/// The library's diagnosis of addr (see <vfio/host/diagnose.hpp> for the
/// checks and their order), then, when it found nothing blocking the group
/// node, an open of /dev/vfio/N: EBUSY there means another process holds it
/// (vfio_group_fops_open, drivers/vfio/group.c). Errors: diagnose()'s.
inline vfio::result<std::vector<finding>> diagnose(machine& m, const vfio::host::pci_address& addr,
                                                   std::uint64_t dma_bytes = default_dma_bytes) {
  vfio::host::diagnose_options options;
  options.dma_bytes = dma_bytes;
  auto d = vfio::host::diagnose(addr, options, m.sys());
  if (!d) return d.error();
  const std::string bdf = vfio::host::to_chars(addr).data();
  std::vector<finding> out;
  for (const vfio::host::finding& f : *d) {
    finding x{vfio::host::to_string(f.what), f.about.to_string(), f.sentence, f.fix};
    switch (f.what) {
      case vfio::host::cause::device_unbound:
      case vfio::host::cause::device_bound_elsewhere: x.fix = "vfioctl bind " + bdf; break;
      case vfio::host::cause::group_not_viable: x.fix = "vfioctl bind " + bdf + " --group"; break;
      case vfio::host::cause::memlock_too_low: x.blocking = false; break;
      default: break;
    }
    out.push_back(std::move(x));
  }
  if (d->truncated) out.push_back({"check_failed", bdf, "more findings than a diagnosis holds: fix these first.", ""});
  if (d->has_group && !d->find(vfio::host::cause::group_node_missing) &&
      !d->find(vfio::host::cause::group_node_denied)) {
    const std::string node = "/dev/vfio/" + std::to_string(d->group);
    const int g = m.sys().open(node.c_str(), O_RDWR | O_CLOEXEC, 0);
    if (g >= 0)
      m.sys().close(g);
    else if (g == -EBUSY)
      out.push_back({"group_busy", node, node + " is open in another process (a running VM?).", "fuser -v " + node});
  }
  return out;
}

}  // namespace vfioctl

#endif  // VFIOCTL_DOCTOR_HPP_INCLUDED
