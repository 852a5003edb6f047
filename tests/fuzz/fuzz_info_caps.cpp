// VFIO info capability chains: GET_REGION_INFO replies (with the sparse-area
// mmap checks that follow), VFIO_IOMMU_GET_INFO replies and the generic walk
// used for device-info chains, over arbitrary bytes.
#include <vfio/container.hpp>
#include <vfio/region.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "fuzz_seam.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > vfio::detail::max_info_argsz) return 0;
  const std::uint8_t which = data[0] % 3;
  ++data;
  --size;
  vfio::detail::info_buffer buf;
  if (!buf.allocate(static_cast<std::uint32_t>(size))) return 0;
  if (size) std::memcpy(buf.data(), data, size);
  const auto n = static_cast<std::uint32_t>(size);
  switch (which) {
    case 0: {
      auto r = vfio::detail::parse_region_info(buf.data(), n, "VFIO_DEVICE_GET_REGION_INFO");
      if (!r) return 0;
      for (const auto& a : r->sparse_areas) (void)a;
      // Whatever the reply says, map() either refuses it or passes mmap a valid range.
      vfio_fuzz::input in(data, size);
      vfio_fuzz::fuzz_syscalls sys(in);
      {
        auto m = vfio::region_mapping::map(sys, 3, *r, PROT_READ);
        if (m && m->empty()) std::abort();
      }
      if (sys.live_mappings() != 0) {
        // Only a failed munmap may leave one (documented); the fuzz seam fails some.
      }
      break;
    }
    case 1: {
      if (n < sizeof(vfio::abi::iommu_type1_info)) return 0;
      vfio::iommu_info out;
      const auto first = buf.load<std::uint32_t>(offsetof(vfio::abi::iommu_type1_info, cap_offset));
      (void)vfio::detail::parse_iommu_info_caps(buf.data(), n, first, out);
      break;
    }
    default: {
      if (n < 8) return 0;
      const std::uint32_t header = buf.load<std::uint32_t>(0) % 64;
      const std::uint32_t first = buf.load<std::uint32_t>(4);
      unsigned seen = 0;
      (void)vfio::detail::walk_info_caps(buf.data(), n, header, first, "VFIO_DEVICE_GET_INFO",
                                         [&](std::uint16_t, std::uint16_t, std::uint32_t at, std::uint32_t avail) {
                                           if (at + avail != n) std::abort();
                                           return ++seen < 100000;
                                         });
      break;
    }
  }
  return 0;
}
