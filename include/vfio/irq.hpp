// IRQ description (VFIO_DEVICE_GET_IRQ_INFO) and the argument builders for
// VFIO_DEVICE_SET_IRQS used by vfio::device.
#ifndef VFIO_IRQ_HPP_INCLUDED
#define VFIO_IRQ_HPP_INCLUDED

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "abi/pci.hpp"
#include "abi/vfio.hpp"
#include "span.hpp"

namespace vfio {

/// One VFIO_DEVICE_GET_IRQ_INFO reply.
struct irq_info {
  std::uint32_t index = 0;  ///< IRQ index (abi::pci_irq::intx, msi, msix, err, req on vfio-pci)
  std::uint32_t flags = 0;  ///< abi::irq_info_flags
  std::uint32_t count = 0;  ///< number of vectors; 0 when the device has none at this index

  /// Vectors can be signalled through eventfds (DATA_EVENTFD).
  bool eventfd() const noexcept { return (flags & abi::irq_info_flags::eventfd) != 0; }
  /// ACTION_MASK / ACTION_UNMASK are supported.
  bool maskable() const noexcept { return (flags & abi::irq_info_flags::maskable) != 0; }
  /// Level-triggered: the kernel masks the line on each interrupt; unmask after servicing
  /// (or install an unmask eventfd). vfio-pci reports it for INTx only.
  bool automasked() const noexcept { return (flags & abi::irq_info_flags::automasked) != 0; }
  /// Vectors are enabled as a set: changing the number in use means disabling and
  /// re-enabling them all. vfio-pci reports it for every index but INTx.
  bool noresize() const noexcept { return (flags & abi::irq_info_flags::noresize) != 0; }
};

/// The most eventfds one VFIO_DEVICE_SET_IRQS call of the library carries. It is the
/// largest vector count vfio-pci reports for any index: an MSI-X table has at most
/// QSIZE + 1 = 2048 entries (vfio_pci_get_irq_count in drivers/vfio/pci/vfio_pci_core.c),
/// and the kernel refuses start + count beyond the vector count
/// (vfio_set_irqs_validate_and_prepare in drivers/vfio/vfio_main.c).
inline constexpr std::size_t max_irq_eventfds = std::size_t{abi::pci::msix::flags_qsize} + 1;
static_assert(max_irq_eventfds == 2048);

namespace detail {

/// A VFIO_DEVICE_SET_IRQS argument: the 20-byte vfio_irq_set header followed by up to
/// MaxData bytes of data, in one 4-byte aligned buffer meant to live on the stack.
/// The kernel copies exactly count * sizeof(element) data bytes after the header and
/// checks argsz - 20 >= that (vfio_set_irqs_validate_and_prepare), so argsz is exact.
template <std::size_t MaxData>
class irq_set_buffer {
 public:
  /// Writes the header for `data_size` bytes of data; the data must follow via data().
  void set_header(std::uint32_t flags, std::uint32_t index, std::uint32_t start, std::uint32_t count,
                  std::size_t data_size) noexcept {
    abi::irq_set h{};
    h.argsz = static_cast<std::uint32_t>(sizeof(abi::irq_set) + data_size);
    h.flags = flags;
    h.index = index;
    h.start = start;
    h.count = count;
    std::memcpy(bytes_, &h, sizeof h);
    size_ = h.argsz;
  }
  /// Where the data array starts (offset 20).
  unsigned char* data() noexcept { return bytes_ + sizeof(abi::irq_set); }
  /// The ioctl argument.
  void* arg() noexcept { return bytes_; }
  /// argsz of the header written last.
  std::size_t size() const noexcept { return size_; }

 private:
  // Left uninitialised on purpose: only the argsz bytes set_header and the data writes
  // fill are sent, and clearing the whole bound (8 KiB for 2048 vectors) on every call
  // cost more than the ioctl's own copy.
  alignas(4) unsigned char bytes_[sizeof(abi::irq_set) +
                                  (MaxData == 0 ? 1 : MaxData)];  // NOLINT(cppcoreguidelines-pro-type-member-init)
  std::size_t size_ = 0;
};

/// Builds DATA_EVENTFD | `action` for eventfds[0..n) into buf. Precondition:
/// eventfds.size() * 4 <= MaxData and eventfds.size() <= UINT32_MAX.
template <std::size_t MaxData>
void build_irq_eventfds(irq_set_buffer<MaxData>& buf, std::uint32_t action, std::uint32_t index, std::uint32_t start,
                        span<const int> eventfds) noexcept {
  const std::size_t n = eventfds.size();
  buf.set_header(abi::irq_set_flags::data_eventfd | action, index, start, static_cast<std::uint32_t>(n),
                 n * sizeof(std::int32_t));
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t fd = eventfds[i];  // the ABI's element is __s32; -1 de-assigns
    std::memcpy(buf.data() + i * sizeof fd, &fd, sizeof fd);
  }
}

/// A DATA_NONE | `action` header (no data): trigger, mask, unmask, or disable when count is 0.
inline abi::irq_set make_irq_set_none(std::uint32_t action, std::uint32_t index, std::uint32_t start,
                                      std::uint32_t count) noexcept {
  abi::irq_set h{};
  h.argsz = sizeof h;
  h.flags = abi::irq_set_flags::data_none | action;
  h.index = index;
  h.start = start;
  h.count = count;
  return h;
}

}  // namespace detail

}  // namespace vfio

#endif  // VFIO_IRQ_HPP_INCLUDED
