// sysfs helpers for PCI devices: attribute read/write, IOMMU group lookup,
// the bound driver, and rebinding a device to a driver (e.g. vfio-pci).
// Every call goes through the syscall seam; the sysfs root is a parameter so
// tests and containers can point it elsewhere.
#ifndef VFIO_HOST_SYSFS_HPP_INCLUDED
#define VFIO_HOST_SYSFS_HPP_INCLUDED

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include <fcntl.h>

#include "../error.hpp"
#include "../result.hpp"
#include "../syscalls.hpp"
#include "../unique_fd.hpp"
#include "pci_address.hpp"

namespace vfio::host {

namespace detail {

/// Longest path the helpers build or read back (Linux PATH_MAX).
inline constexpr std::size_t max_sysfs_path = 4096;

/// A NUL-terminated path assembled on the stack. Appends past the capacity
/// mark it overflowed instead of truncating.
class path_buffer {
 public:
  // Only buf_[0, len_] is ever read, so the rest stays uninitialized: zeroing
  // the whole array for every path would be wasted work.
  path_buffer() noexcept { buf_[0] = '\0'; }  // NOLINT(cppcoreguidelines-pro-type-member-init)
  path_buffer& append(std::string_view s) noexcept {
    if (overflow_ || s.size() >= sizeof buf_ - len_) {
      overflow_ = true;
      return *this;
    }
    std::memcpy(buf_ + len_, s.data(), s.size());
    len_ += s.size();
    buf_[len_] = '\0';
    return *this;
  }
  /// Marks the path unusable (e.g. a null root).
  void fail() noexcept { overflow_ = true; }
  bool ok() const noexcept { return !overflow_; }
  const char* c_str() const noexcept { return buf_; }
  /// Bytes held, without the NUL.
  std::size_t size() const noexcept { return len_; }
  /// Cuts the path back to its first n bytes, to append another leaf to a directory
  /// built once. Preconditions: n is a size() taken while ok(); appends since then
  /// left that prefix intact (an overflowing append changes nothing), so the path is
  /// usable again.
  void truncate(std::size_t n) noexcept {
    if (n > len_) return;
    len_ = n;
    buf_[len_] = '\0';
    overflow_ = false;
  }

 private:
  char buf_[max_sysfs_path];  // NOLINT(modernize-use-default-member-init): see the constructor
  std::size_t len_ = 0;
  bool overflow_ = false;
};

/// "<root><suffix>"; a null root fails.
inline path_buffer root_path(const char* sysfs_root, std::string_view suffix) noexcept {
  path_buffer p;
  if (sysfs_root == nullptr)
    p.fail();
  else
    p.append(sysfs_root).append(suffix);
  return p;
}

/// "<root>/bus/pci/devices/<bdf>/<leaf>".
inline path_buffer device_path(const char* sysfs_root, const pci_address& bdf, std::string_view leaf) noexcept {
  const auto name = to_chars(bdf);
  path_buffer p = root_path(sysfs_root, "/bus/pci/devices/");
  p.append(name.data()).append("/").append(leaf);
  return p;
}

inline error path_error() noexcept { return error(errc::invalid_argument, "sysfs path check"); }

/// The subject an error about `path` carries: the last component that is a
/// whole PCI address ("/sys/bus/pci/devices/0000:00:03.0/power/control", also
/// under /sys/devices/...) and the known attribute after it; none otherwise.
inline subject subject_of_path(const char* path) noexcept {
  if (path == nullptr) return {};
  const std::string_view p(path);
  constexpr std::size_t bdf_len = 12;
  subject found;
  for (std::size_t slash = p.find('/'); slash != std::string_view::npos; slash = p.find('/', slash + 1)) {
    const std::size_t start = slash + 1;
    if (p.size() - start < bdf_len || (p.size() - start > bdf_len && p[start + bdf_len] != '/')) continue;
    const auto bdf = parse_pci_address(p.substr(start, bdf_len));
    if (!bdf) continue;
    const std::string_view rest = p.size() - start > bdf_len ? p.substr(start + bdf_len + 1) : std::string_view();
    found = subject_of(*bdf);
    for (auto a = std::uint16_t{1}; a < static_cast<std::uint16_t>(subject::attribute::count_); ++a) {
      const auto attr = static_cast<subject::attribute>(a);
      if (!rest.empty() && rest == to_string(attr)) found = subject_of(*bdf, attr);
    }
  }
  return found;
}

/// The text after the last '/' (the whole text when there is none).
inline std::string_view basename(std::string_view path) noexcept {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

/// Longest file name component (Linux NAME_MAX).
inline constexpr std::size_t max_name_component = 255;

/// True when `name`, taken from a sysfs link, is usable as one path component: not
/// empty, not "." or "..", no '/' or NUL, at most NAME_MAX bytes. A component that
/// fails would make a path built from it name another file (e.g. a driver link ending
/// in ".." turns <drivers>/<name>/unbind into <bus>/pci/unbind).
inline bool valid_name_component(std::string_view name) noexcept {
  return !name.empty() && name.size() <= max_name_component && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

/// Strict decimal: 1-10 digits, no sign, no leading zero (except "0"), fits in unsigned.
inline bool parse_decimal(std::string_view text, unsigned& out) noexcept {
  if (text.empty() || text.size() > 10 || (text.size() > 1 && text[0] == '0')) return false;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 0xffffffffULL) return false;
  out = static_cast<unsigned>(v);
  return true;
}

/// readlink(2) into buf (capacity size); returns the target length. A target
/// that fills the whole buffer may have been truncated and is rejected.
inline result<std::size_t> read_link(const char* path, char* buf, std::size_t size, syscalls& sys) noexcept {
  const long n = sys.readlink(path, buf, size);
  if (n < 0) return errno_error(static_cast<int>(-n), "readlink", subject_of_path(path));
  if (static_cast<std::size_t>(n) >= size) return error(errc::out_of_bounds, "readlink", subject_of_path(path));
  return static_cast<std::size_t>(n);
}

}  // namespace detail

/// Reads a sysfs attribute: open(path, O_RDONLY|O_CLOEXEC), read(2), close: three
/// syscalls when the text fits in size - 1 bytes. sysfs serves a text attribute whole
/// in one read (kernfs_fop_read_iter -> seq_read_iter runs the show method once into
/// a page and copies what fits, fs/kernfs/file.c and fs/seq_file.c), and show methods
/// end their text with a newline: a read that returns less than asked and ends in
/// '\n' is the end. Otherwise (a text without newline, or a filesystem or seam that
/// hands out pieces) reads go on until end of file (a read of 0); a text that fills
/// the buffer takes one 1-byte read more to tell "fits exactly" from "truncated".
/// One trailing newline is stripped and the text is NUL-terminated in buf. Returns
/// the length without the NUL. A read(2) that claims more bytes than asked (a broken
/// filesystem or seam) counts as the bytes asked, as in device::read: nothing past
/// buf is ever indexed.
/// Preconditions: buf holds size bytes, size >= 1.
/// Errors: open's and read's errno (ENOENT no such attribute, EACCES, EIO,
/// ENODEV ...); errc::invalid_argument (size 0); errc::out_of_bounds (the
/// attribute does not fit in size - 1 bytes).
inline result<std::size_t> read_attribute(const char* path, char* buf, std::size_t size,
                                          syscalls& sys = default_syscalls()) noexcept {
  if (buf == nullptr || size == 0) return error(errc::invalid_argument, "buffer size check");
  const int r = sys.open(path, O_RDONLY | O_CLOEXEC, 0);
  if (r < 0) return errno_error(-r, "open", detail::subject_of_path(path));
  unique_fd fd(r, sys);
  std::size_t len = 0;
  for (;;) {
    if (len == size - 1) {
      // Full: one more byte tells "exactly fits" from "truncated".
      char extra;
      const long n = sys.read(fd.get(), &extra, 1);
      if (n < 0) return errno_error(static_cast<int>(-n), "read", detail::subject_of_path(path));
      if (n > 0) return error(errc::out_of_bounds, "read", detail::subject_of_path(path));
      break;
    }
    const std::size_t want = size - 1 - len;
    const long n = sys.read(fd.get(), buf + len, want);
    if (n < 0) return errno_error(static_cast<int>(-n), "read", detail::subject_of_path(path));
    if (n == 0) break;
    const std::size_t got = static_cast<std::size_t>(n) < want ? static_cast<std::size_t>(n) : want;
    len += got;
    if (got < want && buf[len - 1] == '\n') break;  // a whole show() output: see above
  }
  if (len > 0 && buf[len - 1] == '\n') --len;
  buf[len] = '\0';
  return len;
}

/// Writes value to a sysfs attribute: open(path, O_WRONLY|O_CLOEXEC), one
/// write(2) of exactly value.size() bytes (sysfs hands each write to the
/// attribute's store method whole, so it is never split), close.
/// Preconditions: value is not empty (a zero-length write may never reach the
/// store method; write "\n" to clear an attribute such as driver_override).
/// Errors: open's, write's and close's errno (ENOENT, EACCES, EINVAL, ENODEV,
/// EBUSY ...); errc::invalid_argument (empty value); errc::short_transfer (the
/// kernel took fewer bytes than given).
inline result<void> write_attribute(const char* path, std::string_view value,
                                    syscalls& sys = default_syscalls()) noexcept {
  if (value.empty()) return error(errc::invalid_argument, "attribute value check");
  const int r = sys.open(path, O_WRONLY | O_CLOEXEC, 0);
  if (r < 0) return errno_error(-r, "open", detail::subject_of_path(path));
  unique_fd fd(r, sys);
  const long n = sys.write(fd.get(), value.data(), value.size());
  if (n < 0) return errno_error(static_cast<int>(-n), "write", detail::subject_of_path(path));
  if (static_cast<std::size_t>(n) != value.size())
    return error(errc::short_transfer, "write", detail::subject_of_path(path));
  return fd.close();
}

/// The IOMMU group number of a PCI device: readlink of
/// <sysfs_root>/bus/pci/devices/<bdf>/iommu_group (a link such as
/// "../../../kernel/iommu_groups/7"); the last path component must be a plain
/// decimal number.
/// Errors: readlink's errno (ENOENT: no such device, or the device has no
/// IOMMU group because the IOMMU is off); errc::parse_error (the link does not
/// end in a number); errc::out_of_bounds (the link target is too long);
/// errc::invalid_argument (the path would exceed PATH_MAX).
inline result<unsigned> iommu_group_of(const pci_address& bdf, syscalls& sys = default_syscalls(),
                                       const char* sysfs_root = "/sys") noexcept {
  const auto path = detail::device_path(sysfs_root, bdf, "iommu_group");
  if (!path.ok()) return detail::path_error();
  char target[detail::max_sysfs_path];
  const auto len = detail::read_link(path.c_str(), target, sizeof target, sys);
  if (!len) return len.error();
  unsigned number = 0;
  if (!detail::parse_decimal(detail::basename(std::string_view(target, *len)), number))
    return error(errc::parse_error, "readlink", subject_of(bdf, subject::attribute::iommu_group));
  return number;
}

/// The name of the driver bound to a PCI device: the last component of the
/// <sysfs_root>/bus/pci/devices/<bdf>/driver link, copied NUL-terminated into
/// name. Returns its length; 0 (and an empty name) when no driver is bound:
/// the link is then absent and ENOENT is not an error.
/// Preconditions: name holds size bytes, size >= 1.
/// Errors: readlink's errno other than ENOENT (EACCES, ENOTDIR ...);
/// errc::invalid_argument (size 0, or the path would exceed PATH_MAX);
/// errc::out_of_bounds (the name does not fit in size - 1 bytes);
/// errc::parse_error (the last component is not a plain name: empty, "." or "..",
/// a NUL, or longer than NAME_MAX).
inline result<std::size_t> driver_of(const pci_address& bdf, char* name, std::size_t size,
                                     syscalls& sys = default_syscalls(), const char* sysfs_root = "/sys") noexcept {
  if (name == nullptr || size == 0) return error(errc::invalid_argument, "buffer size check");
  name[0] = '\0';
  const auto path = detail::device_path(sysfs_root, bdf, "driver");
  if (!path.ok()) return detail::path_error();
  char target[detail::max_sysfs_path];
  const auto len = detail::read_link(path.c_str(), target, sizeof target, sys);
  if (!len) {
    if (len.error() == std::errc::no_such_file_or_directory) return std::size_t{0};
    return len.error();
  }
  const std::string_view driver = detail::basename(std::string_view(target, *len));
  if (!detail::valid_name_component(driver))
    return error(errc::parse_error, "readlink", subject_of(bdf, subject::attribute::driver));
  if (driver.size() >= size) return error(errc::out_of_bounds, "buffer size check", subject_of(bdf));
  std::memcpy(name, driver.data(), driver.size());
  name[driver.size()] = '\0';
  return driver.size();
}

/// Binds a PCI device to `driver` (typically "vfio-pci") the way the kernel
/// documents for driver_override:
///   1. write driver to <root>/bus/pci/devices/<bdf>/driver_override;
///   2. readlink <root>/bus/pci/devices/<bdf>/driver; if it already names
///      `driver`, stop: success;
///   3. if another driver is bound, write the BDF to
///      <root>/bus/pci/drivers/<current>/unbind;
///   4. write the BDF to <root>/bus/pci/drivers_probe;
///   5. readlink the driver link again: it must now name `driver`.
/// The kernel accepts the drivers_probe write even when no driver claims the
/// device (drivers/base/bus.c: drivers_probe_store succeeds whenever
/// bus_rescan_devices_helper does, and device_attach finding no driver is not
/// a failure), hence step 5. On failure nothing is rolled back: driver_override
/// keeps the new value (write "\n" to it to clear it) and an unbound device
/// stays unbound.
/// Preconditions: driver is a bare driver name (no '/', no whitespace, at most
/// 64 bytes); the caller may write to sysfs (root).
/// Errors: the errno of any open/write/readlink (ENOENT no such device,
/// EACCES/EPERM not root, ENODEV ...); ENODEV from "drivers_probe" when the
/// device is still not bound to `driver` afterwards (e.g. its module is not
/// loaded); errc::invalid_argument (bad driver name, path too long);
/// errc::parse_error (the driver link's last component is not a plain name, see
/// driver_of: no path is ever built from it).
inline result<void> bind_to_driver(const pci_address& bdf, const char* driver, syscalls& sys = default_syscalls(),
                                   const char* sysfs_root = "/sys") noexcept {
  constexpr std::size_t max_driver_name = 64;
  const std::string_view target_driver = driver ? std::string_view(driver) : std::string_view();
  if (target_driver.empty() || target_driver.size() > max_driver_name ||
      target_driver.find_first_of("/ \t\n") != std::string_view::npos)
    return error(errc::invalid_argument, "driver name check", subject_of(bdf));

  const auto override_path = detail::device_path(sysfs_root, bdf, "driver_override");
  if (!override_path.ok()) return detail::path_error();
  if (auto r = write_attribute(override_path.c_str(), target_driver, sys); !r) return r;

  char current[256];
  const auto current_len = driver_of(bdf, current, sizeof current, sys, sysfs_root);
  if (!current_len) return current_len.error();
  const auto name = to_chars(bdf);
  const std::string_view bdf_text(name.data(), name.size() - 1);
  if (*current_len > 0) {
    if (std::string_view(current, *current_len) == target_driver) return {};
    auto unbind_path = detail::root_path(sysfs_root, "/bus/pci/drivers/");
    unbind_path.append(std::string_view(current, *current_len)).append("/unbind");
    if (!unbind_path.ok()) return detail::path_error();
    if (auto r = write_attribute(unbind_path.c_str(), bdf_text, sys); !r)
      return r.error().with_subject(subject_of(bdf, subject::attribute::driver_unbind));
  }

  const auto probe_path = detail::root_path(sysfs_root, "/bus/pci/drivers_probe");
  if (!probe_path.ok()) return detail::path_error();
  if (auto r = write_attribute(probe_path.c_str(), bdf_text, sys); !r) return r.error().or_subject(subject_of(bdf));

  const auto bound_len = driver_of(bdf, current, sizeof current, sys, sysfs_root);
  if (!bound_len) return bound_len.error();
  if (std::string_view(current, *bound_len) != target_driver)
    return errno_error(ENODEV, "drivers_probe", subject_of(bdf));
  return {};
}

}  // namespace vfio::host

#endif  // VFIO_HOST_SYSFS_HPP_INCLUDED
