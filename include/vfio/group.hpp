// vfio::group: owner of a VFIO group (/dev/vfio/N) — viability, attaching to
// a container, and opening the group's devices.
#ifndef VFIO_GROUP_HPP_INCLUDED
#define VFIO_GROUP_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

#include <fcntl.h>

#include "abi/vfio.hpp"
#include "container.hpp"
#include "device.hpp"
#include "error.hpp"
#include "host/pci_address.hpp"
#include "host/sysfs.hpp"
#include "result.hpp"
#include "syscalls.hpp"
#include "unique_fd.hpp"

namespace vfio {

/// VFIO_GROUP_GET_STATUS, decoded.
struct group_status {
  bool viable = false;         ///< every device of the group is bound to a VFIO driver (or none)
  bool container_set = false;  ///< the group is attached to a container (or an iommufd)
};

/// Owns a group descriptor (/dev/vfio/<number>). Move-only. The kernel lets a
/// group node be open only once (drivers/vfio/group.c: vfio_group_fops_open
/// returns -EBUSY while group->opened_file is set), and closing it detaches the
/// group from its container (vfio_group_fops_release). Device descriptors keep
/// the group file referenced, so devices may outlive this object.
class group {
 public:
  /// The longest device string VFIO_GROUP_GET_DEVICE_FD is given, without the NUL
  /// (the name plus " vf_token=<uuid>"). The kernel's own limit is PAGE_SIZE bytes
  /// with the NUL (group.c vfio_group_ioctl_get_device_fd: strndup_user(arg,
  /// PAGE_SIZE), which answers -EINVAL for anything longer, mm/util.c).
  static constexpr std::size_t max_device_string = 255;

  /// An empty group (no descriptor).
  group() noexcept = default;
  group(group&& other) noexcept : fd_(std::move(other.fd_)), number_(std::exchange(other.number_, 0U)) {}
  group& operator=(group&& other) noexcept {
    if (this != &other) {
      fd_ = std::move(other.fd_);  // closes the old group first: the node is single-open
      number_ = std::exchange(other.number_, 0U);
    }
    return *this;
  }
  group(const group&) = delete;
  group& operator=(const group&) = delete;
  ~group() = default;

  /// Opens group `number`: open("/dev/vfio/<number>", O_RDWR|O_CLOEXEC), then
  /// VFIO_GROUP_GET_STATUS; a group that is not viable is closed again and
  /// reported as errc::group_not_viable. A second open of a group that is already
  /// open (in this or another process) fails in open(2) with EBUSY.
  /// Errors: open's errno (ENOENT no such group / vfio-pci not bound; EBUSY
  /// already open; EACCES; EPERM no-IOMMU group without CAP_SYS_RAWIO; ENODEV
  /// group going away), subject /dev/vfio/N; VFIO_GROUP_GET_STATUS's errno
  /// (ENODEV); errc::group_not_viable, subject the group (host::diagnose names
  /// the devices that make it so).
  static result<group> open(unsigned number, syscalls& sys = default_syscalls()) noexcept {
    char path[32] = "/dev/vfio/";
    append_decimal(path, sizeof path, number);
    const int r = sys.open(path, O_RDWR | O_CLOEXEC, 0);
    if (r < 0) return errno_error(-r, "open", subject::group_node(number));
    group g(unique_fd(r, sys), number);
    const auto st = g.status();
    if (!st) return st.error();
    if (!st->viable) return error(errc::group_not_viable, "VFIO_GROUP_GET_STATUS", subject::group(number));
    return g;
  }

  /// Opens the IOMMU group of a PCI device: host::iommu_group_of(bdf) (readlink of
  /// <sysfs_root>/bus/pci/devices/<bdf>/iommu_group), then open(number).
  /// Errors: those of host::iommu_group_of (ENOENT: no such device or no IOMMU
  /// group; errc::parse_error) and of open().
  static result<group> open_for_device(const host::pci_address& bdf, syscalls& sys = default_syscalls(),
                                       const char* sysfs_root = "/sys") noexcept {
    const auto number = host::iommu_group_of(bdf, sys, sysfs_root);
    if (!number) return number.error();
    return open(*number, sys);
  }
  /// open_for_device of a PCI address in text ("0000:00:03.0" or "00:03.0").
  /// Errors: errc::invalid_bdf (host::parse_pci_address), no syscall; then as above.
  static result<group> open_for_device(std::string_view bdf, syscalls& sys = default_syscalls(),
                                       const char* sysfs_root = "/sys") noexcept {
    const auto address = host::parse_pci_address(bdf);
    if (!address) return address.error();
    return open_for_device(*address, sys, sysfs_root);
  }

  /// The group number (the N of /dev/vfio/N); 0 for an empty group.
  unsigned number() const noexcept { return number_; }
  int fd() const noexcept { return fd_.get(); }
  /// The seam this group was opened with.
  syscalls& sys() const noexcept { return fd_.sys(); }
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }

  /// VFIO_GROUP_GET_STATUS with argsz 8. Viable means no device of the group is
  /// bound to a non-VFIO driver; once a container is set the kernel reports both
  /// flags (group.c: vfio_group_ioctl_get_status).
  /// Precondition: *this is open.
  /// Errors: EBADF (empty group, no syscall); ENODEV (the group is being removed).
  result<group_status> status() noexcept {
    if (!fd_) return errno_error(EBADF, "VFIO_GROUP_GET_STATUS");
    abi::group_status st{};
    st.argsz = sizeof st;
    const int r = sys().ioctl(fd_.get(), abi::req::group_get_status, &st);
    if (r < 0) return errno_error(-r, "VFIO_GROUP_GET_STATUS", subject::group(number_));
    return group_status{(st.flags & abi::group_flags::viable) != 0, (st.flags & abi::group_flags::container_set) != 0};
  }

  /// VFIO_GROUP_SET_CONTAINER, passing a pointer to the container's descriptor
  /// (group.c: vfio_group_ioctl_set_container reads it with get_user).
  /// Preconditions: *this and c are open, through the same syscall seam.
  /// Errors: EBADF (an empty object, no syscall); errc::invalid_argument from the
  /// "seam check" (c uses a different seam, so its descriptor number means
  /// nothing here); EINVAL (the
  /// group already has a container); EPERM (a device of the group is bound to a
  /// non-VFIO driver, i.e. not viable, or a no-IOMMU mix); EBUSY (the group's
  /// IOMMU domain is in use elsewhere); EBADFD (c is not a container); ENODEV.
  result<void> set_container(container& c) noexcept {
    if (!fd_ || !c) return errno_error(EBADF, "VFIO_GROUP_SET_CONTAINER");
    if (&c.sys() != &sys()) return error(errc::invalid_argument, "seam check", subject::group(number_));
    int container_fd = c.fd();
    const int r = sys().ioctl(fd_.get(), abi::req::group_set_container, &container_fd);
    if (r < 0) return errno_error(-r, "VFIO_GROUP_SET_CONTAINER", subject::group(number_));
    return {};
  }

  /// VFIO_GROUP_UNSET_CONTAINER (no argument). Removing the last group of a
  /// container also releases its IOMMU and all its DMA mappings
  /// (container.c: vfio_group_detach_container).
  /// Precondition: *this is open; no device of the group is open.
  /// Errors: EBADF (empty group, no syscall); EINVAL (no container set); EBUSY
  /// (devices of the group are still open: group.c:
  /// vfio_group_ioctl_unset_container).
  result<void> unset_container() noexcept {
    if (!fd_) return errno_error(EBADF, "VFIO_GROUP_UNSET_CONTAINER");
    const int r = sys().ioctl(fd_.get(), abi::req::group_unset_container, nullptr);
    if (r < 0) return errno_error(-r, "VFIO_GROUP_UNSET_CONTAINER", subject::group(number_));
    return {};
  }

  /// VFIO_GROUP_GET_DEVICE_FD with "name", or "name vf_token=<uuid>" when a
  /// token is given (needed for a VF whose PF is bound to vfio-pci). The string
  /// is built NUL-terminated in a stack buffer; the new descriptor is owned by the
  /// returned device at once.
  /// Preconditions: *this is open; the group is attached to a container whose
  /// IOMMU is set.
  /// Errors carry the device as subject when the name is a PCI address, else the
  /// group. EBADF (empty group, no syscall); errc::invalid_name from the "device
  /// name check" (name empty, or name or token holding a NUL or a space, or the
  /// whole string longer than max_device_string bytes), no syscall; the
  /// kernel's: EINVAL (no container or
  /// no IOMMU set: group.c vfio_df_group_open; a malformed option after the name),
  /// ENODEV (no device of that name in the group: vfio_device_get_from_name),
  /// EACCES (VF token missing or wrong: vfio_pci_core.c vfio_pci_validate_vf_token),
  /// EBUSY and others from the driver's open.
  result<device> open_device(std::string_view name, std::string_view vf_token = {}) noexcept {
    constexpr const char* op = "VFIO_GROUP_GET_DEVICE_FD";
    constexpr const char* check = "device name check";
    const auto named = host::parse_pci_address(name);
    const subject about = named ? host::subject_of(*named) : subject::group(number_);
    if (!fd_) return errno_error(EBADF, op, about);
    constexpr std::string_view token_key = " vf_token=";
    const auto clean = [](std::string_view s) {
      return s.find('\0') == std::string_view::npos && s.find(' ') == std::string_view::npos;
    };
    if (name.empty() || !clean(name) || !clean(vf_token)) return error(errc::invalid_name, check, about);
    const std::size_t length = name.size() + (vf_token.empty() ? 0 : token_key.size() + vf_token.size());
    if (length > max_device_string) return error(errc::invalid_name, check, about);

    char text[max_device_string + 1];
    std::size_t at = 0;
    const auto put = [&](std::string_view s) {
      std::memcpy(text + at, s.data(), s.size());
      at += s.size();
    };
    put(name);
    if (!vf_token.empty()) {
      put(token_key);
      put(vf_token);
    }
    text[at] = '\0';

    const int r = sys().ioctl(fd_.get(), abi::req::group_get_device_fd, text);
    if (r < 0) return errno_error(-r, op, about);
    return device(unique_fd(r, sys()), name);
  }
  /// open_device of a PCI device by address: vfio-pci names its devices by
  /// their sysfs address (dev_name, "0000:00:03.0"), which host::to_chars spells.
  /// Preconditions and errors: as open_device(name, vf_token).
  result<device> open_device(const host::pci_address& bdf, std::string_view vf_token = {}) noexcept {
    const auto name = host::to_chars(bdf);
    return open_device(std::string_view(name.data(), name.size() - 1), vf_token);
  }

 private:
  group(unique_fd fd, unsigned number) noexcept : fd_(std::move(fd)), number_(number) {}

  /// Appends the decimal digits of v to the NUL-terminated text in buf.
  static void append_decimal(char* buf, std::size_t size, unsigned v) noexcept {
    char digits[10];
    std::size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    std::size_t at = std::strlen(buf);
    while (n > 0 && at + 1 < size) buf[at++] = digits[--n];
    buf[at] = '\0';
  }

  unique_fd fd_;
  unsigned number_ = 0;
};

}  // namespace vfio

#endif  // VFIO_GROUP_HPP_INCLUDED
