// Helpers the scenarios share: opening the device under test through the
// run's path (container/group or iommufd/cdev), waiting for runtime PM to settle, and formatting.
#ifndef VFIO_TESTS_SCENARIOS_COMMON_HPP_INCLUDED
#define VFIO_TESTS_SCENARIOS_COMMON_HPP_INCLUDED

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <vfio/abi/pci.hpp>
#include <vfio/cdev.hpp>
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/host/power.hpp>
#include <vfio/iommufd.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/pci/power.hpp>

#include "scenario.hpp"

namespace ktest {

/// What a scenario opens to reach its device. On the group path: the
/// container, the group, the device (VFIO type1). On the cdev path
/// (context::cdev_path()): the iommufd, an IOAS, the device's cdev bound to
/// the iommufd and attached to the IOAS; container and group stay empty.
/// Members are destroyed in reverse order: the device first (closing its cdev
/// unbinds it from the iommufd, vfio_df_unbind_iommufd), then the IOAS
/// (IOMMU_DESTROY, refused while a device is attached), the iommufd, the group
/// and the container.
struct stack {
  vfio::container container;
  vfio::group group;
  vfio::iommufd iommufd;
  vfio::ioas ioas;
  vfio::device device;
  vfio::dev_id devid{};  ///< the device's id in the iommufd (cdev path)
  vfio::hwpt_id hwpt{};  ///< the page table the attach reported (cdev path)

  /// A descriptor of the stack that is not an eventfd (for the refusals that
  /// need one): the group's, or the iommufd's on the cdev path.
  int other_fd() const { return group ? group.fd() : iommufd.fd(); }
};

/// `n` pages of anonymous memory for DMA, mapped outside the seam (the
/// process's own memory, alike in the guest and in the model) and unmapped at
/// scope exit. False when the mmap failed.
class pages {
 public:
  static constexpr std::size_t page_size = 4096;
  explicit pages(std::size_t n) : size_(n * page_size) {
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<unsigned char*>(p);
  }
  ~pages() {
    if (base_) ::munmap(base_, size_);
  }
  pages(const pages&) = delete;
  pages& operator=(const pages&) = delete;
  unsigned char* at(std::size_t i) const { return base_ + i * page_size; }
  explicit operator bool() const { return base_ != nullptr; }

 private:
  std::size_t size_;
  unsigned char* base_ = nullptr;
};

/// Opens the device of the context's path. Group path: /dev/vfio/vfio (the
/// compat path: /dev/iommu), the device's group, attaches it, sets the best
/// type1 IOMMU and opens the device. Cdev path: /dev/iommu, the device's cdev bound to it
/// (vfio::cdev::open_device), an IOAS (IOMMU_IOAS_ALLOC) and the attach
/// (VFIO_DEVICE_ATTACH_IOMMUFD_PT). Records a failure and returns false when
/// a step fails.
inline bool open_stack(context& ctx, stack& s) {
  if (ctx.cdev_path()) {
    auto ictx = vfio::iommufd::open(vfio::iommufd::default_path, ctx.sys());
    if (!ictx) {
      ctx.fail(__FILE__, __LINE__, "iommufd::open: " + outcome(ictx));
      return false;
    }
    s.iommufd = std::move(*ictx);
    auto bound = vfio::cdev::open_device(ctx.dut().address, s.iommufd);
    if (!bound) {
      ctx.fail(__FILE__, __LINE__, "cdev::open_device: " + outcome(bound));
      return false;
    }
    s.device = std::move(bound->dev);
    s.devid = bound->devid;
    auto space = s.iommufd.ioas_alloc();
    if (!space) {
      ctx.fail(__FILE__, __LINE__, "ioas_alloc: " + outcome(space));
      return false;
    }
    s.ioas = std::move(*space);
    auto attached = vfio::cdev::attach(s.device, s.ioas.id());
    if (!attached) {
      ctx.fail(__FILE__, __LINE__, "cdev::attach: " + outcome(attached));
      return false;
    }
    s.hwpt = *attached;
    return true;
  }
  auto c = vfio::container::open(ctx.container_node(), ctx.sys());
  if (!c) {
    ctx.fail(__FILE__, __LINE__, "container::open: " + outcome(c));
    return false;
  }
  s.container = std::move(*c);
  auto g = vfio::group::open(ctx.dut().group, ctx.sys());
  if (!g) {
    ctx.fail(__FILE__, __LINE__, "group::open: " + outcome(g));
    return false;
  }
  s.group = std::move(*g);
  if (auto r = s.group.set_container(s.container); !r) {
    ctx.fail(__FILE__, __LINE__, "set_container: " + outcome(r));
    return false;
  }
  auto type = s.container.set_best_iommu();
  if (!type) {
    ctx.fail(__FILE__, __LINE__, "set_best_iommu: " + outcome(type));
    return false;
  }
  auto d = s.group.open_device(ctx.dut().bdf);
  if (!d) {
    ctx.fail(__FILE__, __LINE__, "open_device: " + outcome(d));
    return false;
  }
  s.device = std::move(*d);
  return true;
}

/// Opens the device again after the scenario closed it, on the stack's path:
/// VFIO_GROUP_GET_DEVICE_FD of the group, or the device's cdev bound to the
/// stack's iommufd and attached to its IOAS.
inline vfio::result<void> reopen_device(context& ctx, stack& s) {
  if (ctx.cdev_path()) {
    auto bound = vfio::cdev::open_device(ctx.dut().address, s.iommufd);
    if (!bound) return bound.error();
    s.device = std::move(bound->dev);
    s.devid = bound->devid;
    auto attached = vfio::cdev::attach(s.device, s.ioas.id());
    if (!attached) return attached.error();
    s.hwpt = *attached;
    return {};
  }
  auto d = s.group.open_device(ctx.dut().bdf);
  if (!d) return d.error();
  s.device = std::move(*d);
  return {};
}

/// True, with the note "group path only: <why>", when the scenario runs on
/// the cdev path and has no equivalent there: the scenario then ends.
inline bool group_path_only(context& ctx, const char* why) {
  if (!ctx.cdev_path()) return false;
  ctx.note("group path only: %s", why);
  return true;
}

/// Runs `op` and answers how many calls it made: the lines it added to the trace
/// (every traced call is one line but a run of sysfs reads, which the tracer folds).
template <class Op>
std::size_t calls(context& ctx, Op&& op) {
  const std::size_t before = ctx.sys().lines().size();
  op();
  return ctx.sys().lines().size() - before;
}

/// True, with a note, on the cdev and compat paths, for a scenario that opens
/// what it needs itself, the same way on every path (cdev_iommufd,
/// mtty_migration, compat_container): it runs once per run, in the group pass.
inline bool once_per_run(context& ctx) {
  if (!ctx.cdev_path() && !ctx.compat_path()) return false;
  ctx.note("opens its devices itself, the same on every path: runs in the group pass");
  return true;
}

/// Waits (through the traced seam, so the settled values land in the trace)
/// until power/runtime_status and power_state read the expected values.
/// Deadline 3 s: runtime suspend settles within ~25 ms under QEMU, so only a
/// device that never gets there waits that long.
inline vfio::result<vfio::host::power_sample> settle(context& ctx, std::optional<vfio::host::runtime_status> status,
                                                     std::optional<vfio::host::power_state> state) {
  vfio::host::settle_options o;
  o.expect_status = status;
  o.expect_state = state;
  o.timeout_ns = 3'000'000'000;
  o.interval_ns = 2'000'000;
  vfio::host::power_sample last;
  auto r = vfio::host::wait_for_power_settle(ctx.dut().address, o, &last, ctx.sys(), "/sys");
  if (!r)
    ctx.note("settle failed (%s): last runtime_status=%s power_state=%s", outcome(r).c_str(),
             vfio::host::to_string(last.status), vfio::host::to_string(last.state));
  return r;
}

/// Waits until the values stop changing (no expectation: for states where
/// runtime PM is not expected to act, e.g. power/control=on).
inline vfio::result<vfio::host::power_sample> settle_stable(context& ctx) {
  vfio::host::settle_options o;
  o.timeout_ns = 3'000'000'000;
  o.interval_ns = 5'000'000;
  o.stable_ns = 60'000'000;
  return vfio::host::wait_for_power_settle(ctx.dut().address, o, ctx.sys(), "/sys");
}

inline std::string hex(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

inline std::string limits_text(std::uint32_t limits) {
  std::string s;
  for (auto l : vfio::host::all_power_limits) {
    if (!(limits & static_cast<std::uint32_t>(l))) continue;
    if (!s.empty()) s += "; ";
    s += vfio::host::to_string(l);
  }
  return s.empty() ? "-" : s;
}

/// Records a power report as a note and returns it.
inline vfio::result<vfio::host::power_report> report(context& ctx, const char* label,
                                                     vfio::host::capability_presence pm) {
  auto r = vfio::host::read_power_report(ctx.dut().address, pm, ctx.sys(), "/sys");
  if (!r) {
    ctx.note("report %s: %s", label, outcome(r).c_str());
    return r;
  }
  ctx.note("report %s: deepest=%s limits=%s", label, vfio::host::to_string(r->deepest), limits_text(r->limits).c_str());
  return r;
}

/// The largest BAR region that can be mmap()ed (the lowest index among equals),
/// if any. The largest is the device's register BAR on every device of the
/// machine, never the one holding only the MSI-X table, whose reads vfio-pci
/// fills in itself.
inline std::optional<std::uint32_t> largest_mappable_bar(vfio::device& dev) {
  std::optional<std::uint32_t> best;
  std::uint64_t best_size = 0;
  for (std::uint32_t i = 0; i <= 5; ++i) {
    auto ri = dev.region(i);
    if (ri && (*ri)->mappable() && (*ri)->size >= 4 && (*ri)->size > best_size) {
      best = i;
      best_size = (*ri)->size;
    }
  }
  return best;
}

/// Whether the device has a PM capability, as the library finds it.
inline vfio::host::capability_presence presence(vfio::pci::power& pw) {
  auto c = pw.capability();
  if (c) return vfio::host::capability_presence::present;
  if (c.error() == vfio::errc::no_pm_capability) return vfio::host::capability_presence::absent;
  return vfio::host::capability_presence::unknown;
}

/// Reads the vendor ID through the config region (every device has one).
inline bool config_read_ok(context& ctx, vfio::device& dev) {
  auto v = vfio::pci::config(dev).read16(vfio::abi::pci::vendor_id);
  if (!v) ctx.note("config read: %s", outcome(v).c_str());
  return v && *v != 0xffff;
}

/// Maps the largest mappable BAR (see largest_mappable_bar), noting which.
inline vfio::result<vfio::region_mapping> map_first_bar(context& ctx, vfio::device& dev) {
  auto bar = largest_mappable_bar(dev);
  if (!bar) return vfio::error(vfio::errc::not_mappable, "mmap");
  ctx.note("mapping BAR %u", *bar);
  return dev.map(*bar);
}

}  // namespace ktest

#endif  // VFIO_TESTS_SCENARIOS_COMMON_HPP_INCLUDED
