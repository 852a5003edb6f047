// Region layout and access of a simulated vfio-pci device: which BARs can be
// mapped and where the MSI-X table sits (vfio_pci_probe_mmaps,
// vfio_pci_core_enable), what VFIO_DEVICE_GET_REGION_INFO reports for each
// index, BAR / ROM / VGA / device-region reads and writes
// (drivers/vfio/pci/vfio_pci_rdwr.c vfio_pci_bar_rw, do_io_rw,
// vfio_pci_vga_rw) and the checks of vfio_pci_core_mmap.
#ifndef VFIO_TESTING_SIM_REGION_ACCESS_HPP_INCLUDED
#define VFIO_TESTING_SIM_REGION_ACCESS_HPP_INCLUDED

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "../../abi/pci.hpp"
#include "../../abi/vfio.hpp"
#include "device_info.hpp"
#include "pci_function.hpp"

namespace vfio::testing::sim {

/// What vfio-pci learns about the BARs when the device is opened.
struct bar_layout {
  std::array<bool, 6> mmap_supported{};  ///< vdev->bar_mmap_supported
  std::uint32_t msix_bar = 0xff;         ///< vdev->msix_bar (0xff: no MSI-X)
  std::uint64_t msix_offset = 0;
  std::uint64_t msix_size = 0;
  bool has_vga = false;
};

/// vfio_pci_probe_mmaps and the MSI-X fields of vfio_pci_core_enable. A
/// memory BAR of at least a page maps; a smaller one maps when it starts on
/// a page boundary (vfio-pci reserves the rest of the page).
inline bar_layout probe_bar_layout(const pci_function& hw) noexcept {
  bar_layout l;
  for (unsigned i = 0; i < 6; ++i) {
    const bar_description& b = hw.bar(i);
    l.mmap_supported[i] = b.size && !b.io && b.mmap && (b.size >= device_memory::page_size || !(b.address & 0xfff));
  }
  if (hw.msix_cap()) {
    const std::uint32_t flags = hw.read(hw.msix_cap() + abi::pci::msix_flags, 2);
    const std::uint32_t table = hw.read(hw.msix_cap() + abi::pci::msix_table, 4);
    l.msix_bar = table & abi::pci::msix::table_bir;
    l.msix_offset = table & abi::pci::msix::table_offset;
    l.msix_size = ((flags & abi::pci::msix::flags_qsize) + 1) * 16ULL;
  }
  l.has_vga = hw.desc().vga;
  return l;
}

/// The region behind `index` as vfio_pci_ioctl_get_region_info reports it;
/// false when the index is invalid (-EINVAL: VGA without VGA, or past the
/// device-specific regions).
inline bool describe_region(const pci_function& hw, const bar_layout& l, std::uint32_t index, region_report& r) {
  namespace rf = abi::region_flags;
  const device_description& d = hw.desc();
  r = region_report{};
  if (index == abi::pci_region::config) {
    r.size = hw.cfg_size();
    r.flags = rf::read | rf::write;
    return true;
  }
  if (index <= abi::pci_region::bar5) {
    r.size = hw.bar(index).size;
    if (!r.size) return true;
    r.flags = rf::read | rf::write;
    if (l.mmap_supported[index]) {
      r.flags |= rf::mmap;
      if (index == l.msix_bar && d.msix_mappable) r.msix_mappable = true;
      r.sparse = hw.bar(index).sparse_areas;
    }
    return true;
  }
  if (index == abi::pci_region::rom) {
    // The BAR size, readable when pci_map_rom finds a valid image.
    r.size = d.rom_size;
    if (r.size) r.flags = rf::read;
    return true;
  }
  if (index == abi::pci_region::vga) {
    if (!l.has_vga) return false;
    r.size = 0xc0000;
    r.flags = rf::read | rf::write;
    return true;
  }
  const std::size_t i = index - abi::pci_region::count;
  if (i >= d.regions.size()) return false;
  r.size = d.regions[i].size;
  r.flags = d.regions[i].flags;
  r.has_type = true;
  r.type = d.regions[i].type;
  r.subtype = d.regions[i].subtype;
  return true;
}

namespace detail {

/// do_io_rw over plain memory: 4/2/1-byte accesses, each refused with -EIO
/// when `test_mem` and memory decoding is off (vfio_pci_ioread/iowrite with
/// __vfio_pci_memory_enabled); the excluded range [x_start, x_end) reads as
/// 0xff and drops writes. Any refusal fails the whole call.
inline long do_io_rw(unsigned char* io, std::size_t io_size, bool test_mem, bool memory_enabled, unsigned char* buf,
                     std::uint64_t off, std::size_t count, std::uint64_t x_start, std::uint64_t x_end, bool write) {
  long done = 0;
  while (count) {
    std::size_t fillable;
    if (off < x_start)
      fillable = static_cast<std::size_t>(std::min<std::uint64_t>(count, x_start - off));
    else if (off >= x_end)
      fillable = count;
    else
      fillable = 0;
    std::size_t filled;
    if (fillable) {
      filled = (fillable >= 4 && !(off % 4)) ? 4 : (fillable >= 2 && !(off % 2)) ? 2 : 1;
      if (test_mem && !memory_enabled) return -EIO;
      if (off + filled <= io_size) {
        if (write)
          std::memcpy(io + off, buf, filled);
        else
          std::memcpy(buf, io + off, filled);
      } else if (!write) {
        std::memset(buf, 0xff, filled);
      }
    } else {
      filled = static_cast<std::size_t>(std::min<std::uint64_t>(count, x_end - off));
      if (!write) std::memset(buf, 0xff, filled);
    }
    count -= filled;
    done += static_cast<long>(filled);
    off += filled;
    buf += filled;
  }
  return done;
}

}  // namespace detail

/// vfio_pci_bar_rw for BARs 0-5 and the ROM (index 6). `memory_enabled` is
/// __vfio_pci_memory_enabled (power state below D3hot and MEMORY set in the
/// virtual COMMAND register); I/O BARs are not tested.
inline long bar_rw(pci_function& hw, const bar_layout& l, std::uint32_t index, std::uint64_t pos, unsigned char* buf,
                   std::size_t count, bool write, bool memory_enabled) {
  const bool rom = index == abi::pci_region::rom;
  const std::uint64_t start = rom ? hw.desc().rom_address : hw.bar(index).address;
  const std::uint64_t end = rom ? hw.desc().rom_size : hw.bar(index).size;
  if (!start || !end) return -EINVAL;  // unassigned resource
  if (pos >= end) return -EINVAL;
  count = static_cast<std::size_t>(std::min<std::uint64_t>(count, end - pos));
  std::uint64_t x_start = 0, x_end = 0;
  unsigned char* io = nullptr;
  std::size_t io_size = 0;
  std::shared_ptr<device_memory> mem;
  if (rom) {
    std::vector<std::uint8_t>& image = hw.rom_image();
    io = image.data();
    io_size = image.size();
    x_start = image.size();  // pci_map_rom returns the image size
    x_end = end;
  } else {
    mem = hw.bar_memory(index);
    if (!mem) return -ENOMEM;
    io = mem->data();
    io_size = mem->size();
  }
  if (index == l.msix_bar) {
    x_start = l.msix_offset;
    x_end = l.msix_offset + l.msix_size;
  }
  const bool test_mem = rom || !hw.bar(index).io;
  return detail::do_io_rw(io, io_size, test_mem, memory_enabled, buf, pos, count, x_start, x_end, write);
}

/// vfio_pci_vga_rw over a private copy of the legacy ranges (memory
/// 0xa0000-0xbffff, I/O 0x3b0-0x3bb and 0x3c0-0x3df); VGA accesses are not
/// tested against memory decoding.
inline long vga_rw(std::vector<std::uint8_t>& vga, std::uint64_t pos, unsigned char* buf, std::size_t count,
                   bool write) {
  if (pos > 0xbffff) return -EINVAL;
  std::uint64_t limit = 0;
  if (pos >= 0xa0000)
    limit = 0xc0000;
  else if (pos >= 0x3b0 && pos <= 0x3bb)
    limit = 0x3bc;
  else if (pos >= 0x3c0 && pos <= 0x3df)
    limit = 0x3e0;
  else
    return -EINVAL;
  count = static_cast<std::size_t>(std::min<std::uint64_t>(count, limit - pos));
  if (vga.size() < 0xc0000) vga.assign(0xc0000, 0);
  return detail::do_io_rw(vga.data(), vga.size(), false, true, buf, pos, count, 0, 0, write);
}

/// A device-specific region: plain memory of the described size, honouring
/// its READ / WRITE flags (the region's ops->rw in a real driver).
inline long device_region_rw(const device_region_description& d, std::vector<std::uint8_t>& mem, std::uint64_t pos,
                             unsigned char* buf, std::size_t count, bool write) {
  if (!(d.flags & (write ? abi::region_flags::write : abi::region_flags::read))) return -EINVAL;
  if (pos >= d.size) return -EINVAL;
  count = static_cast<std::size_t>(std::min<std::uint64_t>(count, d.size - pos));
  if (mem.size() < d.size) mem.resize(static_cast<std::size_t>(d.size), 0);
  if (write)
    std::memcpy(mem.data() + pos, buf, count);
  else
    std::memcpy(buf, mem.data() + pos, count);
  return static_cast<long>(count);
}

/// vfio_pci_core_mmap's checks for a mapping of `length` bytes at file
/// offset `offset` (mmap(2) has already required a page-aligned offset and
/// a non-zero length). On success `mem` is the BAR memory and `at` the byte
/// offset into it.
inline int check_mmap(pci_function& hw, const bar_layout& l, std::uint32_t num_regions, std::uint64_t offset,
                      std::size_t length, int flags, std::shared_ptr<device_memory>& mem, std::size_t& at) {
  const std::uint32_t index = region_index(offset);
  if (index >= num_regions) return -EINVAL;
  if (!(flags & MAP_SHARED)) return -EINVAL;
  if (index >= abi::pci_region::count) return -EINVAL;  // no device region has mmap ops here
  if (index >= abi::pci_region::rom) return -EINVAL;
  if (!l.mmap_supported[index]) return -EINVAL;
  const std::uint64_t page = device_memory::page_size;
  const std::uint64_t phys_len = (hw.bar(index).size + page - 1) & ~(page - 1);
  const std::uint64_t req_len = (length + page - 1) & ~(page - 1);
  const std::uint64_t req_start = offset & region_offset_mask;
  if (req_start + req_len > phys_len) return -EINVAL;
  mem = hw.bar_memory(index);
  if (!mem) return -ENOMEM;
  at = static_cast<std::size_t>(req_start);
  return 0;
}

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_REGION_ACCESS_HPP_INCLUDED
