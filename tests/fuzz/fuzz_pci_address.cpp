// PCI address text: parse_pci_address must accept exactly DDDD:BB:DD.F (and
// BB:DD.F) forms and round-trip through to_chars.
#include <vfio/host/pci_address.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto a = vfio::host::parse_pci_address(text);
  if (!a) return 0;
  if (a->device > 31 || a->function > 7) std::abort();
  const auto back = vfio::host::to_chars(*a);
  auto again = vfio::host::parse_pci_address(std::string_view(back.data(), std::strlen(back.data())));
  if (!again || *again != *a) std::abort();
  return 0;
}
