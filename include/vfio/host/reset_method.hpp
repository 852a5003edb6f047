// The PCI core's reset methods of a function: <sysfs>/bus/pci/devices/<bdf>/reset_method,
// read and written. VFIO_DEVICE_RESET and the first open's reset use the first method
// in this list that works (pci_reset_function -> __pci_reset_function_locked), so a
// VMM or a test harness narrows it, e.g. to "bus" when a device's FLR is broken.
//
// Kernel rules (drivers/pci/pci.c):
// - reset_method_show: the enabled methods in priority order, space-separated, with a
//   newline; nothing at all when every method was disabled.
// - the attribute exists only when the function had a reset method when sysfs was
//   populated (pci_dev_reset_method_attr_is_visible): otherwise open gives ENOENT.
// - reset_method_store: "default" restores the probed list (pci_init_reset_methods);
//   an empty line ("\n") disables every method; otherwise a space-separated list of
//   names, each of which must exist (else EINVAL) and be supported by the function
//   (the method's probe, else EINVAL), at most PCI_NUM_RESET_METHODS - 1 of them
//   (else EINVAL); on EINVAL the previous list is kept. Writing needs root (the
//   attribute is 0644).
// - the names: device_specific, acpi, flr, af_flr, pm, bus (pci_reset_fn_methods),
//   and cxl_bus (in 6.12; unknown to 6.1, which answers EINVAL).
#ifndef VFIO_HOST_RESET_METHOD_HPP_INCLUDED
#define VFIO_HOST_RESET_METHOD_HPP_INCLUDED

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "../error.hpp"
#include "../result.hpp"
#include "../syscalls.hpp"
#include "pci_address.hpp"
#include "sysfs.hpp"

namespace vfio::host {

/// One entry of pci_reset_fn_methods (drivers/pci/pci.c), in the kernel's default
/// priority order.
enum class reset_method : std::uint8_t {
  device_specific,  ///< a quirk of the PCI core for this device
  acpi,             ///< the ACPI _RST method
  flr,              ///< PCIe Function Level Reset
  af_flr,           ///< Advanced Features FLR (conventional PCI)
  pm,               ///< D3hot -> D0 without No_Soft_Reset
  bus,              ///< secondary bus reset of the parent bridge / slot (the only function there)
  cxl_bus,          ///< CXL bus reset (6.12 has it, 6.1 does not)
};

/// Every method, in the kernel's default priority order.
inline constexpr reset_method all_reset_methods[] = {
    reset_method::device_specific, reset_method::acpi, reset_method::flr,
    reset_method::af_flr,          reset_method::pm,   reset_method::bus,
    reset_method::cxl_bus};

/// The name sysfs uses.
constexpr const char* to_string(reset_method m) noexcept {
  switch (m) {
    case reset_method::device_specific: return "device_specific";
    case reset_method::acpi: return "acpi";
    case reset_method::flr: return "flr";
    case reset_method::af_flr: return "af_flr";
    case reset_method::pm: return "pm";
    case reset_method::bus: return "bus";
    case reset_method::cxl_bus: return "cxl_bus";
  }
  return "?";
}

/// The method named `name` exactly; false when there is none.
constexpr bool parse_reset_method(std::string_view name, reset_method& out) noexcept {
  for (const reset_method m : all_reset_methods) {
    if (name == to_string(m)) {
      out = m;
      return true;
    }
  }
  return false;
}

/// An ordered list of reset methods (the order is the priority), without allocation.
/// Holds at most max_size: PCI_NUM_RESET_METHODS (8) less the terminating 0, the most
/// the kernel stores (reset_method_store).
class reset_methods {
 public:
  static constexpr std::size_t max_size = 7;

  constexpr reset_methods() noexcept = default;
  /// The methods in the given order; entries beyond max_size are dropped (see size()).
  constexpr reset_methods(std::initializer_list<reset_method> ms) noexcept {
    for (const reset_method m : ms) (void)push_back(m);
  }

  /// Appends m; false when full.
  constexpr bool push_back(reset_method m) noexcept {
    if (size_ == max_size) return false;
    items_[size_++] = m;
    return true;
  }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr reset_method operator[](std::size_t i) const noexcept { return items_[i]; }
  constexpr const reset_method* begin() const noexcept { return items_; }
  constexpr const reset_method* end() const noexcept { return items_ + size_; }
  constexpr bool contains(reset_method m) const noexcept {
    for (std::size_t i = 0; i < size_; ++i)
      if (items_[i] == m) return true;
    return false;
  }
  friend constexpr bool operator==(const reset_methods& a, const reset_methods& b) noexcept {
    if (a.size_ != b.size_) return false;
    for (std::size_t i = 0; i < a.size_; ++i)
      if (a.items_[i] != b.items_[i]) return false;
    return true;
  }
  friend constexpr bool operator!=(const reset_methods& a, const reset_methods& b) noexcept { return !(a == b); }

 private:
  reset_method items_[max_size]{};
  std::size_t size_ = 0;
};

/// Parses reset_method_show's text (names separated by single spaces, the newline
/// already stripped or not). Errors: errc::parse_error (an unknown name, an empty name
/// between two spaces, more than reset_methods::max_size names).
inline result<reset_methods> parse_reset_methods(std::string_view text) noexcept {
  constexpr const char* op = "reset_method text";
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  reset_methods out;
  while (!text.empty()) {
    const std::size_t sp = text.find(' ');
    const std::string_view name = text.substr(0, sp);
    reset_method m{};
    if (!parse_reset_method(name, m) || !out.push_back(m)) return error(errc::parse_error, op);
    if (sp == std::string_view::npos) break;
    text.remove_prefix(sp + 1);
    if (text.empty()) return error(errc::parse_error, op);  // a trailing space
  }
  return out;
}

/// The text reset_method_store takes for `ms`: names separated by spaces and a
/// newline; "\n" alone for an empty list (which disables every method). Written into
/// buf (NUL-terminated); returns the length. buf_size >= 128 always suffices.
/// Errors: errc::out_of_bounds (buf too small).
inline result<std::size_t> format_reset_methods(const reset_methods& ms, char* buf, std::size_t buf_size) noexcept {
  std::size_t at = 0;
  const auto put = [&](std::string_view s) {
    if (at + s.size() + 1 > buf_size) return false;
    for (const char c : s) buf[at++] = c;
    buf[at] = '\0';
    return true;
  };
  if (buf_size == 0) return error(errc::out_of_bounds, "reset_method text");
  buf[0] = '\0';
  for (std::size_t i = 0; i < ms.size(); ++i)
    if ((i > 0 && !put(" ")) || !put(to_string(ms[i]))) return error(errc::out_of_bounds, "reset_method text");
  if (!put("\n")) return error(errc::out_of_bounds, "reset_method text");
  return at;
}

/// Reads <sysfs_root>/bus/pci/devices/<bdf>/reset_method (open, read, close) and
/// parses it. An empty list means every method was disabled.
/// Errors: ENOENT (no such device, or the function has no reset method at all, so
/// the attribute does not exist); EACCES; errc::parse_error (a name this library does
/// not know, e.g. one added by a newer kernel); errc::out_of_bounds; errc::invalid_argument
/// (the path would exceed PATH_MAX).
inline result<reset_methods> read_reset_methods(const pci_address& bdf, syscalls& sys = default_syscalls(),
                                                const char* sysfs_root = "/sys") noexcept {
  const detail::path_buffer path = detail::device_path(sysfs_root, bdf, "reset_method");
  if (!path.ok()) return detail::path_error();
  char text[160];
  const auto n = read_attribute(path.c_str(), text, sizeof text, sys);
  if (!n) return n.error();
  return parse_reset_methods(std::string_view(text, *n));
}

/// Writes `ms` to reset_method (open O_WRONLY, one write, close): these methods, in
/// this order, become the only ones the PCI core tries. An empty list disables every
/// method (VFIO_DEVICE_RESET then fails and vfio-pci reports no RESET flag at the next
/// open).
/// Errors: EINVAL (a method the function does not support, or a name the kernel does
/// not know: the previous list stays); ENOENT (no such device or no reset method);
/// EACCES (not root); errc::invalid_argument (path too long).
inline result<void> write_reset_methods(const pci_address& bdf, const reset_methods& ms,
                                        syscalls& sys = default_syscalls(), const char* sysfs_root = "/sys") noexcept {
  const detail::path_buffer path = detail::device_path(sysfs_root, bdf, "reset_method");
  if (!path.ok()) return detail::path_error();
  char text[128];
  const auto n = format_reset_methods(ms, text, sizeof text);
  if (!n) return n.error();
  return write_attribute(path.c_str(), std::string_view(text, *n), sys);
}

/// Writes "default" to reset_method: the PCI core probes every method again and
/// enables each that works, in the default order (pci_init_reset_methods).
/// Errors: ENOENT; EACCES; errc::invalid_argument (path too long).
inline result<void> restore_default_reset_methods(const pci_address& bdf, syscalls& sys = default_syscalls(),
                                                  const char* sysfs_root = "/sys") noexcept {
  const detail::path_buffer path = detail::device_path(sysfs_root, bdf, "reset_method");
  if (!path.ok()) return detail::path_error();
  return write_attribute(path.c_str(), "default\n", sys);
}

}  // namespace vfio::host

#endif  // VFIO_HOST_RESET_METHOD_HPP_INCLUDED
