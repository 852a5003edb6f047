// vfio::host::pci_address: a PCI bus/device/function address with strict
// parsing and the fixed-width text form sysfs uses ("0000:00:03.0").
#ifndef VFIO_HOST_PCI_ADDRESS_HPP_INCLUDED
#define VFIO_HOST_PCI_ADDRESS_HPP_INCLUDED

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../error.hpp"
#include "../result.hpp"

namespace vfio::host {

/// A PCI address (segment/domain, bus, device, function).
/// Valid addresses have device <= 0x1f and function <= 7; parse_pci_address()
/// only produces valid ones. Domains above 0xffff (e.g. Intel VMD) are not
/// representable.
struct pci_address {
  std::uint16_t domain = 0;
  std::uint8_t bus = 0;
  std::uint8_t device = 0;    ///< slot, 0..0x1f
  std::uint8_t function = 0;  ///< 0..7
};

inline constexpr bool operator==(const pci_address& a, const pci_address& b) noexcept {
  return a.domain == b.domain && a.bus == b.bus && a.device == b.device && a.function == b.function;
}
inline constexpr bool operator!=(const pci_address& a, const pci_address& b) noexcept { return !(a == b); }

namespace detail {

inline constexpr int hex_digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Exactly `count` hex digits at text[pos]; no sign, no prefix, no whitespace.
inline constexpr bool parse_hex_field(std::string_view text, std::size_t pos, std::size_t count,
                                      unsigned& out) noexcept {
  if (pos > text.size() || text.size() - pos < count) return false;
  unsigned v = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const int d = hex_digit_value(text[pos + i]);
    if (d < 0) return false;
    v = v * 16 + static_cast<unsigned>(d);
  }
  out = v;
  return true;
}

/// Writes the low `digits` hex digits of v, lower case, to out[0, digits).
inline void put_hex(char* out, unsigned v, int digits) noexcept {
  for (int i = digits - 1; i >= 0; --i, v >>= 4) out[i] = "0123456789abcdef"[v & 0xf];
}

}  // namespace detail

/// Parses "DDDD:BB:DD.F" (domain, bus, device, function in hex, exactly these
/// widths) or "BB:DD.F" (domain 0). Upper- and lower-case hex digits are
/// accepted. Nothing else is: no whitespace, no "0x", no missing or extra
/// digits, no trailing text.
/// Errors: errc::invalid_bdf (wrong length or separators, a non-hex digit,
/// device > 0x1f, function > 7).
inline result<pci_address> parse_pci_address(std::string_view text) noexcept {
  const error bad(errc::invalid_bdf, "PCI address check");
  constexpr std::size_t short_form = 7;  // "BB:DD.F"
  constexpr std::size_t long_form = 12;  // "DDDD:BB:DD.F"
  unsigned domain = 0;
  if (text.size() == long_form) {
    if (!detail::parse_hex_field(text, 0, 4, domain) || text[4] != ':') return bad;
    text.remove_prefix(5);
  } else if (text.size() != short_form) {
    return bad;
  }
  unsigned bus = 0, device = 0, function = 0;
  if (!detail::parse_hex_field(text, 0, 2, bus) || text[2] != ':' || !detail::parse_hex_field(text, 3, 2, device) ||
      text[5] != '.' || !detail::parse_hex_field(text, 6, 1, function))
    return bad;
  if (device > 0x1f || function > 7) return bad;
  return pci_address{static_cast<std::uint16_t>(domain), static_cast<std::uint8_t>(bus),
                     static_cast<std::uint8_t>(device), static_cast<std::uint8_t>(function)};
}

/// The sysfs form "dddd:bb:dd.f" in lower-case hex, NUL-terminated (12
/// characters and the NUL). Precondition: the address is valid (device <= 0x1f,
/// function <= 7); the output is fixed-width either way.
inline std::array<char, 13> to_chars(const pci_address& a) noexcept {
  std::array<char, 13> text{};
  detail::put_hex(&text[0], a.domain, 4);
  text[4] = ':';
  detail::put_hex(&text[5], a.bus, 2);
  text[7] = ':';
  detail::put_hex(&text[8], a.device, 2);
  text[10] = '.';
  detail::put_hex(&text[11], a.function, 1);
  text[12] = '\0';
  return text;
}

/// The address packed into 32 bits (domain << 16 | bus << 8 | devfn), the
/// number an error subject carries.
constexpr std::uint32_t pack(const pci_address& a) noexcept {
  return vfio::pack_bdf(a.domain, a.bus, a.device, a.function);
}
constexpr pci_address unpack(std::uint32_t packed) noexcept {
  return pci_address{static_cast<std::uint16_t>(packed >> 16), static_cast<std::uint8_t>((packed >> 8) & 0xff),
                     static_cast<std::uint8_t>((packed >> 3) & 0x1f), static_cast<std::uint8_t>(packed & 7)};
}
/// Error subjects naming a PCI function, or one of its sysfs attributes.
constexpr subject subject_of(const pci_address& a) noexcept { return subject::device(pack(a)); }
constexpr subject subject_of(const pci_address& a, subject::attribute attr) noexcept {
  return subject::sysfs(pack(a), attr);
}

}  // namespace vfio::host

#endif  // VFIO_HOST_PCI_ADDRESS_HPP_INCLUDED
