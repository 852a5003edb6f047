// vfio::host::diagnose: why a PCI device cannot be opened or DMA-mapped
// through VFIO on this host, as a list of findings, each with a stable
// cause, its subject, a sentence and the command that fixes it.
//
// What it looks at, in order (all through the syscall seam):
//   access /dev/vfio/vfio, /dev/vfio          the vfio module and its nodes
//   open   <sysfs>/module/vfio                vfio loaded but its node missing?
//   open   <sysfs>/bus/pci/drivers/vfio-pci   the vfio-pci module
//   getdents64 <sysfs>/kernel/iommu_groups    the IOMMU (no group at all: off)
//   readlink <sysfs>/bus/pci/devices/<BDF>[/iommu_group, /driver]
//   getdents64 <sysfs>/kernel/iommu_groups/N/devices, readlink each /driver
//   access /dev/vfio/N (R_OK | W_OK)          the caller's permissions
//   getrlimit RLIMIT_MEMLOCK, /proc/self/status CapEff (when DMA bytes are given)
// A check the seam cannot answer (-ENOSYS, an unexpected errno) becomes a
// check_failed finding naming it; it never stops the other checks.
#ifndef VFIO_HOST_DIAGNOSE_HPP_INCLUDED
#define VFIO_HOST_DIAGNOSE_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../error.hpp"
#include "../result.hpp"
#include "../syscalls.hpp"
#include "../unique_fd.hpp"
#include "pci_address.hpp"
#include "sysfs.hpp"

namespace vfio::host {

/// Why a device cannot be used through VFIO. The names (to_string) are stable:
/// tools print them and match on them.
enum class cause : std::uint8_t {
  vfio_not_loaded,         ///< /sys/module/vfio and /dev/vfio/vfio absent
  dev_vfio_missing,        ///< vfio loaded, /dev/vfio absent (no devtmpfs, or a container without it)
  container_node_missing,  ///< /dev/vfio exists, /dev/vfio/vfio does not (e.g. iommufd-only kernel)
  container_node_denied,   ///< /dev/vfio/vfio not readable and writable by this process
  vfio_pci_not_loaded,     ///< /sys/bus/pci/drivers/vfio-pci absent
  iommu_off,               ///< no IOMMU group exists: the IOMMU is off or absent
  device_absent,           ///< no such PCI device
  device_without_group,    ///< the IOMMU is on but the device is in no IOMMU group
  device_unbound,          ///< no driver bound to the device
  device_bound_elsewhere,  ///< the device is bound to a driver other than a VFIO one
  group_not_viable,        ///< another device of the group is bound to a non-VFIO driver (one finding each)
  group_node_missing,      ///< the device is bound to vfio-pci but /dev/vfio/N does not exist
  group_node_denied,       ///< /dev/vfio/N not readable and writable by this process
  memlock_too_low,         ///< RLIMIT_MEMLOCK below the DMA bytes to map, without CAP_IPC_LOCK
  check_failed,            ///< a check could not be made; the sentence says which and why
};

inline const char* to_string(cause c) noexcept {
  switch (c) {
    case cause::vfio_not_loaded: return "vfio_not_loaded";
    case cause::dev_vfio_missing: return "dev_vfio_missing";
    case cause::container_node_missing: return "container_node_missing";
    case cause::container_node_denied: return "container_node_denied";
    case cause::vfio_pci_not_loaded: return "vfio_pci_not_loaded";
    case cause::iommu_off: return "iommu_off";
    case cause::device_absent: return "device_absent";
    case cause::device_without_group: return "device_without_group";
    case cause::device_unbound: return "device_unbound";
    case cause::device_bound_elsewhere: return "device_bound_elsewhere";
    case cause::group_not_viable: return "group_not_viable";
    case cause::group_node_missing: return "group_node_missing";
    case cause::group_node_denied: return "group_node_denied";
    case cause::memlock_too_low: return "memlock_too_low";
    case cause::check_failed: return "check_failed";
  }
  return "?";
}

/// One reason. Text lives in fixed buffers: a diagnosis never allocates.
struct finding {
  cause what = cause::check_failed;
  subject about;            ///< the module path, device, sysfs attribute, group node or limit concerned
  char driver[64] = {};     ///< the driver involved (bound elsewhere, the blocking sibling's), "" if none
  char sentence[384] = {};  ///< what is wrong, for a person
  char fix[384] = {};       ///< the shell command ("; "-joined commands) that fixes it, or the step when no command can
};

/// What diagnose() should also check.
struct diagnose_options {
  /// Bytes the caller plans to map with VFIO_IOMMU_MAP_DMA; 0 skips the
  /// RLIMIT_MEMLOCK check.
  std::uint64_t dma_bytes = 0;
  /// Where sysfs is mounted. /dev/vfio and /proc/self are fixed.
  const char* sysfs_root = "/sys";
};

/// The findings for one device, in the order checked. ok() when there are none.
struct diagnosis {
  static constexpr std::size_t capacity = 16;

  pci_address device;
  bool has_group = false;  ///< group is known (the iommu_group link resolved)
  unsigned group = 0;
  char driver[64] = {};  ///< the driver bound to the device ("" none or unknown)
  std::size_t count = 0;
  bool truncated = false;  ///< more findings than capacity: the last ones were dropped
  finding findings[capacity];

  bool ok() const noexcept { return count == 0; }
  const finding* begin() const noexcept { return findings; }
  const finding* end() const noexcept { return findings + count; }
  /// The first finding with cause c, or null.
  const finding* find(cause c) const noexcept {
    for (const finding& f : *this)
      if (f.what == c) return &f;
    return nullptr;
  }
};

namespace detail {

/// Builds one finding's texts in place.
class finding_writer {
 public:
  explicit finding_writer(diagnosis& d) noexcept : d_(d) {}

  /// Starts a finding; null when the report is full (then marked truncated).
  finding* add(cause c, subject about, std::string_view driver = {}) noexcept {
    if (d_.count == diagnosis::capacity) {
      d_.truncated = true;
      return nullptr;
    }
    finding& f = d_.findings[d_.count++];
    f = finding{};
    f.what = c;
    f.about = about;
    const std::size_t n = driver.size() < sizeof f.driver - 1 ? driver.size() : sizeof f.driver - 1;
    if (n != 0) std::memcpy(f.driver, driver.data(), n);  // an empty view may hold a null pointer
    f.driver[n] = '\0';
    return &f;
  }

 private:
  diagnosis& d_;
};

/// "dddd:bb:dd.f" of a pci_address.
inline vfio::detail::text_sink& put_address(vfio::detail::text_sink& out, const pci_address& a) noexcept {
  return out.put_bdf(pack(a));
}

/// A byte count with its binary unit when it is a whole one ("8388608 bytes (8 MiB)").
inline void put_bytes(vfio::detail::text_sink& out, std::uint64_t n) noexcept {
  out.put_unsigned(n).put(" bytes");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  int unit = -1;
  std::uint64_t v = n;
  while (v >= 1024 && v % 1024 == 0 && unit < 3) {
    v /= 1024;
    ++unit;
  }
  if (unit >= 0) out.put(" (").put_unsigned(v).put(' ').put(units[unit]).put(')');
}

/// 0 when path exists (and, with mode R_OK | W_OK, may be opened read-write),
/// else -errno. Falls back to open(2) for existence when the seam has no access().
inline int check_access(syscalls& sys, const char* path, int mode) noexcept {
  const int r = sys.access(path, mode);
  if (r != -ENOSYS || mode != F_OK) return r;
  const int fd = sys.open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return fd;
  sys.close(fd);
  return 0;
}

/// Calls on_name(std::string_view) for each entry of a directory but "." and
/// "..". Returns 0 or -errno (of open or getdents64).
template <class F>
int list_directory(syscalls& sys, const char* path, F on_name) noexcept {
  const int fd = sys.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return fd;
  unique_fd dir(fd, sys);
  alignas(8) unsigned char buf[4096];
  for (;;) {
    const long n = sys.getdents64(dir.get(), buf, sizeof buf);
    if (n < 0) return static_cast<int>(n);
    if (n == 0) return 0;
    // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
    for (long at = 0; at + 19 < n;) {
      std::uint16_t reclen = 0;
      std::memcpy(&reclen, buf + at + 16, sizeof reclen);
      if (reclen < 20 || at + reclen > n) return -EIO;  // a malformed record: stop rather than misread
      const char* name = reinterpret_cast<const char*>(buf + at + 19);
      const std::string_view s(name, strnlen(name, static_cast<std::size_t>(reclen) - 19));
      if (s != "." && s != "..") on_name(s);
      at += reclen;
    }
  }
}

/// Drivers that leave a group viable: they set driver_managed_dma, so
/// binding them does not claim DMA ownership of the group (pci_dma_configure
/// in drivers/pci/pci-driver.c; iommu_group_dma_owner_claimed in
/// drivers/iommu/iommu.c): vfio-pci and its variant drivers (names holding
/// "vfio"), pci-stub and pcieport; and no driver at all.
inline bool keeps_group_viable(std::string_view driver) noexcept {
  return driver.empty() || driver.find("vfio") != std::string_view::npos || driver == "pci-stub" ||
         driver == "pcieport";
}

/// The fix that binds `a` to vfio-pci through driver_override (the kernel's
/// documented sequence; host::bind_to_driver does the same).
inline void put_bind_fix(vfio::detail::text_sink& out, const pci_address& a, bool bound) noexcept {
  out.put("echo vfio-pci | sudo tee /sys/bus/pci/devices/");
  put_address(out, a).put("/driver_override");
  if (bound) {
    out.put("; echo ");
    put_address(out, a).put(" | sudo tee /sys/bus/pci/devices/");
    put_address(out, a).put("/driver/unbind");
  }
  out.put("; echo ");
  put_address(out, a).put(" | sudo tee /sys/bus/pci/drivers_probe");
}

/// A finding for a check that could not be made.
inline void check_failed(finding_writer& w, subject about, const char* what, int negative_errno) noexcept {
  finding* f = w.add(cause::check_failed, about);
  if (!f) return;
  vfio::detail::text_sink s(f->sentence, sizeof f->sentence);
  s.put("Could not check ").put(what).put(": errno ").put_unsigned(static_cast<std::uint64_t>(-negative_errno));
  s.put(negative_errno == -ENOSYS ? " (the syscall seam does not offer this call)." : ".");
}
inline void check_failed(finding_writer& w, subject about, const char* what, const error& e) noexcept {
  if (e.code().category() == std::system_category()) return check_failed(w, about, what, -e.value());
  finding* f = w.add(cause::check_failed, about);
  if (!f) return;
  vfio::detail::text_sink s(f->sentence, sizeof f->sentence);
  s.put("Could not check ").put(what).put(": ").put(e.operation()).put(" failed with vfio error ");
  s.put_unsigned(static_cast<std::uint64_t>(e.value())).put('.');
}

/// Whether /proc/self/status says the process holds CAP_IPC_LOCK (bit 14 of
/// CapEff), which lifts RLIMIT_MEMLOCK for type1 (vfio_lock_acct passes
/// dma->lock_cap to __account_locked_vm, mm/util.c). False when unreadable.
inline bool has_cap_ipc_lock(syscalls& sys) noexcept {
  char status[4096];
  const auto n = read_attribute("/proc/self/status", status, sizeof status, sys);
  if (!n) return false;
  const std::string_view text(status, *n);
  const auto at = text.find("CapEff:");
  if (at == std::string_view::npos) return false;
  std::uint64_t caps = 0;
  for (std::size_t i = at + 7; i < text.size() && text[i] != '\n'; ++i) {
    const int d = vfio::host::detail::hex_digit_value(text[i]);
    if (d >= 0) caps = caps << 4 | static_cast<std::uint64_t>(d);
  }
  constexpr unsigned cap_ipc_lock = 14;  // include/uapi/linux/capability.h
  return (caps >> cap_ipc_lock & 1U) != 0;
}

}  // namespace detail

/// Explains why `bdf` cannot be opened or DMA-mapped through VFIO on this
/// host: see the top of this header for the calls made. Every descriptor it
/// opens is closed before it returns; it changes nothing on the host.
/// An empty result (ok()) means every check passed: the group node should
/// open, unless another process holds it (open(2) then fails with EBUSY, which
/// only an open can tell: vfio_group_fops_open in drivers/vfio/group.c).
/// Preconditions: options.sysfs_root is not null.
/// Errors: errc::invalid_argument from the "sysfs path check" (null or
/// over-long sysfs_root). Failed checks are findings (cause::check_failed),
/// not errors.
inline result<diagnosis> diagnose(const pci_address& bdf, const diagnose_options& options = {},
                                  syscalls& sys = default_syscalls()) noexcept {
  using detail::finding_writer;
  using vfio::detail::text_sink;
  using host_object = subject::host_object;
  const char* root = options.sysfs_root;
  const auto module_vfio = detail::root_path(root, "/module/vfio");
  const auto driver_dir = detail::root_path(root, "/bus/pci/drivers/vfio-pci");
  const auto groups_dir = detail::root_path(root, "/kernel/iommu_groups");
  auto device_entry = detail::root_path(root, "/bus/pci/devices/");
  device_entry.append(to_chars(bdf).data());
  if (!module_vfio.ok() || !driver_dir.ok() || !groups_dir.ok() || !device_entry.ok()) return detail::path_error();

  diagnosis d;
  d.device = bdf;
  finding_writer w(d);

  // 1. vfio and its device nodes.
  const int container = detail::check_access(sys, "/dev/vfio/vfio", R_OK | W_OK);
  if (container == -ENOENT) {
    const int module = detail::check_access(sys, module_vfio.c_str(), F_OK);
    const int dev_dir = detail::check_access(sys, "/dev/vfio", F_OK);
    if (module == -ENOENT) {
      if (finding* f = w.add(cause::vfio_not_loaded, subject::host(host_object::module_vfio))) {
        text_sink(f->sentence, sizeof f->sentence)
            .put("The vfio module is not loaded: /sys/module/vfio and /dev/vfio/vfio do not exist.");
        text_sink(f->fix, sizeof f->fix).put("sudo modprobe vfio-pci");
      }
    } else if (dev_dir == -ENOENT) {
      if (finding* f = w.add(cause::dev_vfio_missing, subject::host(host_object::dev_vfio))) {
        text_sink(f->sentence, sizeof f->sentence)
            .put(
                "vfio is loaded but /dev/vfio does not exist: /dev is not a devtmpfs, or this container was "
                "started without it.");
        text_sink(f->fix, sizeof f->fix)
            .put("sudo mount -t devtmpfs devtmpfs /dev (in a container: pass /dev/vfio in)");
      }
    } else {
      if (finding* f = w.add(cause::container_node_missing, subject::host(host_object::container_node))) {
        text_sink(f->sentence, sizeof f->sentence)
            .put(
                "vfio is loaded but /dev/vfio/vfio does not exist: the kernel may be built without the legacy "
                "container (CONFIG_VFIO_CONTAINER=n, iommufd only).");
        text_sink(f->fix, sizeof f->fix).put("sudo mknod -m 0666 /dev/vfio/vfio c 10 196");
      }
    }
  } else if (container == -EACCES || container == -EPERM) {
    if (finding* f = w.add(cause::container_node_denied, subject::host(host_object::container_node))) {
      text_sink(f->sentence, sizeof f->sentence).put("/dev/vfio/vfio cannot be opened read-write by this process.");
      text_sink(f->fix, sizeof f->fix).put("sudo chmod 0666 /dev/vfio/vfio");
    }
  } else if (container < 0) {
    detail::check_failed(w, subject::host(host_object::container_node), "/dev/vfio/vfio", container);
  }

  // 2. vfio-pci.
  const int pci_driver = detail::check_access(sys, driver_dir.c_str(), F_OK);
  if (pci_driver == -ENOENT) {
    if (finding* f = w.add(cause::vfio_pci_not_loaded, subject::host(host_object::vfio_pci_driver))) {
      text_sink(f->sentence, sizeof f->sentence)
          .put("The vfio-pci driver is not loaded: /sys/bus/pci/drivers/vfio-pci does not exist.");
      text_sink(f->fix, sizeof f->fix).put("sudo modprobe vfio-pci");
    }
  } else if (pci_driver < 0) {
    detail::check_failed(w, subject::host(host_object::vfio_pci_driver), "the vfio-pci driver", pci_driver);
  }

  // 3. The IOMMU: iommu_group_alloc numbers groups from 0, so no entry at all
  // means no IOMMU driver created any group.
  std::size_t groups = 0;
  const int listed = detail::list_directory(sys, groups_dir.c_str(), [&](std::string_view) { ++groups; });
  const bool iommu_off = listed == -ENOENT || (listed == 0 && groups == 0);
  if (iommu_off) {
    if (finding* f = w.add(cause::iommu_off, subject::host(host_object::iommu_groups))) {
      text_sink(f->sentence, sizeof f->sentence)
          .put(
              "No IOMMU group exists (/sys/kernel/iommu_groups is empty): the IOMMU is off or absent, and "
              "vfio-pci refuses devices without one.");
      text_sink(f->fix, sizeof f->fix)
          .put(
              "enable VT-d / AMD-Vi in the firmware, add intel_iommu=on (Intel) or amd_iommu=on (AMD) to the "
              "kernel command line, reboot");
    }
  } else if (listed < 0) {
    detail::check_failed(w, subject::host(host_object::iommu_groups), "the IOMMU groups", listed);
  }

  // 4. The device, its group and its driver.
  char link[detail::max_sysfs_path];
  const long exists = sys.readlink(device_entry.c_str(), link, sizeof link);
  if (exists == -ENOENT) {
    if (finding* f = w.add(cause::device_absent, subject_of(bdf))) {
      text_sink s(f->sentence, sizeof f->sentence);
      s.put("No PCI device ");
      detail::put_address(s, bdf).put(" exists (/sys/bus/pci/devices/");
      detail::put_address(s, bdf).put(" is missing).");
      text_sink(f->fix, sizeof f->fix)
          .put("lspci -D (the addresses that exist); echo 1 | sudo tee /sys/bus/pci/rescan");
    }
  } else if (exists < 0) {
    detail::check_failed(w, subject_of(bdf), "the device", static_cast<int>(exists));
  }

  if (exists >= 0) {
    const auto group = iommu_group_of(bdf, sys, root);
    if (group) {
      d.has_group = true;
      d.group = *group;
    } else if (group.error() == std::errc::no_such_file_or_directory) {
      if (!iommu_off) {
        if (finding* f = w.add(cause::device_without_group, subject_of(bdf, subject::attribute::iommu_group))) {
          text_sink s(f->sentence, sizeof f->sentence);
          s.put("The IOMMU is on but ");
          detail::put_address(s, bdf).put(" is in no IOMMU group: it is not behind the IOMMU.");
          text_sink(f->fix, sizeof f->fix).put("sudo dmesg | grep -i -e DMAR -e AMD-Vi -e iommu");
        }
      }
    } else {
      detail::check_failed(w, subject_of(bdf, subject::attribute::iommu_group), "the IOMMU group", group.error());
    }

    const auto bound = driver_of(bdf, d.driver, sizeof d.driver, sys, root);
    if (!bound) {
      detail::check_failed(w, subject_of(bdf, subject::attribute::driver), "the bound driver", bound.error());
    } else if (*bound == 0) {
      if (finding* f = w.add(cause::device_unbound, subject_of(bdf, subject::attribute::driver))) {
        text_sink s(f->sentence, sizeof f->sentence);
        detail::put_address(s, bdf).put(" is bound to no driver; it must be bound to vfio-pci.");
        text_sink fix(f->fix, sizeof f->fix);
        detail::put_bind_fix(fix, bdf, false);
      }
    } else if (std::string_view(d.driver).find("vfio") == std::string_view::npos) {
      if (finding* f = w.add(cause::device_bound_elsewhere, subject_of(bdf, subject::attribute::driver), d.driver)) {
        text_sink s(f->sentence, sizeof f->sentence);
        detail::put_address(s, bdf).put(" is bound to ").put(d.driver).put(", not vfio-pci.");
        text_sink fix(f->fix, sizeof f->fix);
        detail::put_bind_fix(fix, bdf, true);
      }
    }

    // 5. The other devices of the group: any bound to a driver that claims DMA
    // makes the group not viable (VFIO_GROUP_GET_STATUS clears VIABLE).
    if (d.has_group) {
      auto members = detail::root_path(root, "/kernel/iommu_groups/");
      char number[12];
      text_sink(number, sizeof number).put_unsigned(d.group);
      members.append(number).append("/devices");
      const int r = detail::list_directory(sys, members.c_str(), [&](std::string_view name) {
        const auto other = parse_pci_address(name);
        if (!other || *other == bdf) return;
        char driver[64];
        const auto n = driver_of(*other, driver, sizeof driver, sys, root);
        if (!n) {
          detail::check_failed(w, subject_of(*other, subject::attribute::driver), "a group member's driver", n.error());
          return;
        }
        if (detail::keeps_group_viable(std::string_view(driver, *n))) return;
        if (finding* f = w.add(cause::group_not_viable, subject_of(*other, subject::attribute::driver),
                               std::string_view(driver, *n))) {
          text_sink s(f->sentence, sizeof f->sentence);
          detail::put_address(s, *other).put(", in the same IOMMU group ").put_unsigned(d.group);
          s.put(", is bound to ")
              .put(driver)
              .put(": the group is not viable until it is bound to vfio-pci or unbound.");
          text_sink fix(f->fix, sizeof f->fix);
          detail::put_bind_fix(fix, *other, true);
        }
      });
      if (r < 0) detail::check_failed(w, subject::group(d.group), "the devices of the IOMMU group", r);
    }

    // 6. The group node, once the device is bound to a VFIO driver.
    if (d.has_group && *d.driver && std::string_view(d.driver).find("vfio") != std::string_view::npos &&
        container != -ENOENT) {
      char node[32];
      text_sink(node, sizeof node).put("/dev/vfio/").put_unsigned(d.group);
      const int a = detail::check_access(sys, node, R_OK | W_OK);
      if (a == -ENOENT) {
        if (finding* f = w.add(cause::group_node_missing, subject::group_node(d.group))) {
          text_sink s(f->sentence, sizeof f->sentence);
          detail::put_address(s, bdf).put(" is bound to ").put(d.driver).put(" but ").put(node);
          s.put(" does not exist: udev has not created it, or /dev is not a devtmpfs.");
          text_sink(f->fix, sizeof f->fix).put("sudo udevadm trigger --subsystem-match=vfio; ls -l /dev/vfio");
        }
      } else if (a == -EACCES || a == -EPERM) {
        if (finding* f = w.add(cause::group_node_denied, subject::group_node(d.group))) {
          text_sink s(f->sentence, sizeof f->sentence);
          s.put(node).put(" cannot be opened read-write by this process. Without a udev rule vfio's group nodes are ");
          s.put(R"(root's with mode 0600; a lasting fix is a rule such as SUBSYSTEM=="vfio", OWNER="<user>".)");
          text_sink(f->fix, sizeof f->fix).put("sudo chown $(id -u) ").put(node);
        }
      } else if (a < 0) {
        detail::check_failed(w, subject::group_node(d.group), node, a);
      }
    }
  }

  // 7. RLIMIT_MEMLOCK: type1 pins every mapped page and charges it to the
  // process's locked memory (vfio_pin_pages_remote / vfio_lock_acct in
  // drivers/vfio/vfio_iommu_type1.c); past the limit VFIO_IOMMU_MAP_DMA fails
  // with ENOMEM, unless the process has CAP_IPC_LOCK.
  if (options.dma_bytes > 0) {
    rlimit limit{};
    const int r = sys.getrlimit(RLIMIT_MEMLOCK, &limit);
    if (r < 0) {
      detail::check_failed(w, subject::host(host_object::rlimit_memlock), "RLIMIT_MEMLOCK", r);
    } else if (limit.rlim_cur != RLIM_INFINITY && static_cast<std::uint64_t>(limit.rlim_cur) < options.dma_bytes &&
               !detail::has_cap_ipc_lock(sys)) {
      if (finding* f = w.add(cause::memlock_too_low, subject::host(host_object::rlimit_memlock))) {
        text_sink s(f->sentence, sizeof f->sentence);
        s.put("RLIMIT_MEMLOCK is ");
        detail::put_bytes(s, static_cast<std::uint64_t>(limit.rlim_cur));
        s.put(", less than the ");
        detail::put_bytes(s, options.dma_bytes);
        s.put(" to map: VFIO_IOMMU_MAP_DMA will fail with ENOMEM (memory already locked counts too). Raise it ");
        s.put("where the program starts: ulimit -l in its shell, LimitMEMLOCK= in its systemd unit, or memlock in ");
        s.put("/etc/security/limits.conf.");
        const std::uint64_t kib = (options.dma_bytes + 1023) / 1024;
        text_sink(f->fix, sizeof f->fix).put("ulimit -l ").put_unsigned(kib);
      }
    }
  }
  return d;
}

}  // namespace vfio::host

#endif  // VFIO_HOST_DIAGNOSE_HPP_INCLUDED
