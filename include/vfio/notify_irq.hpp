// vfio-pci's two notification IRQs, as named helpers over VFIO_DEVICE_SET_IRQS:
// - REQ (abi::pci_irq::req): the kernel asks the user to release the device, e.g. when
//   it is being unbound from vfio-pci (vfio_pci_core_request signals it, repeatedly,
//   until the last descriptor closes). A VMM unplugs the device from its guest.
// - ERR (abi::pci_irq::err): AER reported an uncorrectable error
//   (vfio_pci_core_aer_err_detected). A VMM stops the guest or forwards the error.
//
// Kernel rules (vfio_pci_set_err_trigger / vfio_pci_set_req_trigger and
// vfio_pci_set_ctx_trigger_single in drivers/vfio/pci/vfio_pci_intrs.c):
// - one vector: start 0, count 1; ACTION_TRIGGER only (MASK / UNMASK: ENOTTY).
// - DATA_EVENTFD with an eventfd sets it (replacing any earlier one); with -1 clears it
//   (also when none is set); fd < -1: EINVAL; not an eventfd: EINVAL; not open: EBADF.
// - ERR exists only on PCI Express functions in 6.1 and 6.12 (vfio_pci_get_irq_count
//   gives 0 otherwise, so VFIO_DEVICE_GET_IRQ_INFO and SET_IRQS answer EINVAL); 7.x
//   offers it on every function ("vfio: Remove the pcie check for
//   VFIO_PCI_ERR_IRQ_INDEX"). REQ exists on every vfio-pci function.
// - the last close of the device releases both (vfio_pci_core_close_device).
#ifndef VFIO_NOTIFY_IRQ_HPP_INCLUDED
#define VFIO_NOTIFY_IRQ_HPP_INCLUDED

#include <cerrno>
#include <cstdint>

#include "abi/vfio.hpp"
#include "device.hpp"
#include "error.hpp"
#include "result.hpp"
#include "span.hpp"
#include "unique_fd.hpp"

namespace vfio {

namespace detail {
inline result<void> set_notify_eventfd(device& dev, std::uint32_t index, int fd) noexcept {
  const int one[1] = {fd};
  return dev.set_irq_eventfds(index, 0, span<const int>(one, 1));
}
}  // namespace detail

/// VFIO_DEVICE_SET_IRQS(DATA_EVENTFD | ACTION_TRIGGER, REQ index, start 0, count 1,
/// {eventfd}): `eventfd` is signalled when the kernel wants the device back.
/// Errors: EBADF (empty device, or eventfd not open; a negative eventfd is refused
/// without a call); EINVAL (not an eventfd); ENOTTY (not a vfio-pci device).
inline result<void> set_request_eventfd(device& dev, fd_ref eventfd) noexcept {
  if (eventfd.get() < 0) return errno_error(EBADF, "request IRQ eventfd");
  return detail::set_notify_eventfd(dev, abi::pci_irq::req, eventfd.get());
}

/// VFIO_DEVICE_SET_IRQS with fd -1 at the REQ index: no eventfd is signalled any more.
/// Succeeds when none was set. Errors: EBADF (empty device); ENOTTY.
inline result<void> clear_request_eventfd(device& dev) noexcept {
  return detail::set_notify_eventfd(dev, abi::pci_irq::req, -1);
}

/// VFIO_DEVICE_GET_IRQ_INFO for the ERR index: whether this kernel offers the error
/// IRQ on this device (count 1). False (not an error) when the kernel answers EINVAL,
/// as 6.1 and 6.12 do for a conventional PCI function.
/// Errors: those of device::irq() other than EINVAL.
inline result<bool> error_irq_supported(device& dev) noexcept {
  auto info = dev.irq(abi::pci_irq::err);
  if (!info) {
    if (info.error().code() == std::errc::invalid_argument) return false;
    return info.error();
  }
  return info->count > 0 && info->eventfd();
}

/// VFIO_DEVICE_SET_IRQS(DATA_EVENTFD | ACTION_TRIGGER, ERR index, start 0, count 1,
/// {eventfd}): `eventfd` is signalled when AER reports an error on the device.
/// Errors: EBADF (empty device, or eventfd not open; a negative eventfd is refused
/// without a call); EINVAL (no ERR IRQ on this device: see error_irq_supported(); not
/// an eventfd); ENOTTY.
inline result<void> set_error_eventfd(device& dev, fd_ref eventfd) noexcept {
  if (eventfd.get() < 0) return errno_error(EBADF, "error IRQ eventfd");
  return detail::set_notify_eventfd(dev, abi::pci_irq::err, eventfd.get());
}

/// VFIO_DEVICE_SET_IRQS with fd -1 at the ERR index. Succeeds when none was set.
/// Errors: EBADF (empty device); EINVAL (no ERR IRQ on this device); ENOTTY.
inline result<void> clear_error_eventfd(device& dev) noexcept {
  return detail::set_notify_eventfd(dev, abi::pci_irq::err, -1);
}

}  // namespace vfio

#endif  // VFIO_NOTIFY_IRQ_HPP_INCLUDED
