// PCI config space: the standard and extended capability walks of
// config_snapshot, the PM capability decoding, and the all-ones reads past
// the end, over arbitrary config images.
#include <vfio/pci/config.hpp>
#include <vfio/pci/power.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto s = vfio::pci::config_snapshot::from_bytes(data, size);
  unsigned std_caps = 0, ext_caps = 0;
  (void)s.for_each_capability([&](const vfio::pci::capability& c) {
    if (c.offset < 0x40 || c.offset >= 0x100) std::abort();
    ++std_caps;
    return true;
  });
  (void)s.for_each_ext_capability([&](const vfio::pci::capability& c) {
    if (c.offset < 0x100 || c.offset + 4u > s.size()) std::abort();
    ++ext_caps;
    return true;
  });
  if (std_caps > 48 || ext_caps > 960) std::abort();
  auto pm = s.find_capability(vfio::abi::pci::cap::pm);
  if (pm && *pm) {
    const std::uint16_t at = **pm;
    const auto pmc = vfio::pci::decode_pmc(s.u16(static_cast<std::uint16_t>(at + vfio::abi::pci::pm_pmc)));
    const auto cs = vfio::pci::decode_pmcsr(s.u16(static_cast<std::uint16_t>(at + vfio::abi::pci::pm_ctrl)));
    (void)pmc;
    if (static_cast<unsigned>(cs.power_state) > 3) std::abort();
    for (unsigned t = 0; t < 4; ++t) {
      const auto w = vfio::pci::pmcsr_write_value(cs.raw, static_cast<vfio::pci::d_state>(t));
      if ((w & vfio::abi::pci::pm::ctrl_pme_status) != 0) std::abort();  // never writes PME_Status as 1
    }
  }
  // Reads anywhere, including near 0xffff, stay inside the snapshot.
  if (size >= 2) {
    const std::uint16_t off = static_cast<std::uint16_t>(data[0] | (data[1] << 8));
    const std::uint32_t v = s.u32(off);
    if (off >= s.size() && v != 0xffffffffU) std::abort();
  }
  return 0;
}
