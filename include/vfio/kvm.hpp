// vfio::kvm_vfio_device: the KVM-VFIO pseudo device of a VM (virt/kvm/vfio.c). A VMM
// that runs its guest under KVM tells KVM which VFIO groups (or, since v6.6, device
// cdevs) the guest uses: KVM then knows non-coherent DMA may happen (it honours guest
// cache attributes, kvm_vfio_update_coherency), and the VFIO files learn their VM
// (kvm_vfio_file_set_kvm; some vendor drivers, e.g. for GPUs, refuse to open without).
//
// Flow: KVM_CREATE_DEVICE(KVM_DEV_TYPE_VFIO) on the VM descriptor gives a device
// descriptor; KVM_SET_DEVICE_ATTR(group KVM_DEV_VFIO_FILE, attr FILE_ADD / FILE_DEL,
// addr -> s32 fd) adds and removes files. Closing the device descriptor releases
// every file it holds (kvm_vfio_release). The library creates no VM: the caller's
// VMM owns /dev/kvm and the VM descriptor.
//
// The library's tests run this against the scripted mock only: the machines that run
// the test suite have no KVM, and the simulated kernel does not model it.
#ifndef VFIO_KVM_HPP_INCLUDED
#define VFIO_KVM_HPP_INCLUDED

#include <cerrno>
#include <cstdint>
#include <utility>

#include "abi/kvm.hpp"
#include "error.hpp"
#include "group.hpp"
#include "result.hpp"
#include "syscalls.hpp"
#include "unique_fd.hpp"

namespace vfio {

/// Owns the descriptor of a VM's KVM-VFIO device. Move-only.
class kvm_vfio_device {
 public:
  kvm_vfio_device() noexcept = default;

  /// KVM_CREATE_DEVICE with type KVM_DEV_TYPE_VFIO, flags 0, on `vm_fd` (a descriptor
  /// from KVM_CREATE_VM). The kernel opens the new descriptor O_RDWR | O_CLOEXEC
  /// (kvm_ioctl_create_device in virt/kvm/kvm_main.c) and writes it into the argument;
  /// it is owned at once and closed through `sys`.
  /// Errors: EBADF (vm_fd negative, no call); the kernel's: ENODEV (KVM built without
  /// the VFIO device, i.e. no CONFIG_KVM_VFIO), EBUSY (the VM has one already: one per
  /// VM, kvm_vfio_create), EIO (the VM belongs to another process, or is dead), ENOTTY
  /// (vm_fd is not a VM), ENOMEM, EMFILE.
  static result<kvm_vfio_device> create(fd_ref vm_fd, syscalls& sys = default_syscalls()) noexcept {
    constexpr const char* op = "KVM_CREATE_DEVICE";
    if (vm_fd.get() < 0) return errno_error(EBADF, op);
    abi::kvm::create_device cd{};
    cd.type = abi::kvm::dev_type::vfio;
    const int r = sys.ioctl(vm_fd.get(), abi::kvm::req::create_device, &cd);
    if (r < 0) return errno_error(-r, op);
    return kvm_vfio_device(unique_fd(static_cast<int>(cd.fd), sys));
  }

  /// KVM_CREATE_DEVICE with KVM_CREATE_DEVICE_TEST: whether the VM can have a KVM-VFIO
  /// device, without creating one. False when the kernel answers ENODEV.
  /// Errors: EBADF (vm_fd negative, no call); EIO; ENOTTY (not a VM).
  static result<bool> supported(fd_ref vm_fd, syscalls& sys = default_syscalls()) noexcept {
    constexpr const char* op = "KVM_CREATE_DEVICE";
    if (vm_fd.get() < 0) return errno_error(EBADF, op);
    abi::kvm::create_device cd{};
    cd.type = abi::kvm::dev_type::vfio;
    cd.flags = abi::kvm::create_device_flags::test;
    const int r = sys.ioctl(vm_fd.get(), abi::kvm::req::create_device, &cd);
    if (r == -ENODEV) return false;
    if (r < 0) return errno_error(-r, op);
    return true;
  }

  int fd() const noexcept { return fd_.get(); }
  syscalls& sys() const noexcept { return fd_.sys(); }
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }

  /// KVM_SET_DEVICE_ATTR(KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD) for `file`: a VFIO
  /// group descriptor, or (v6.6+) a VFIO device descriptor, as a cdev-opened VMM passes
  /// (kvm_vfio_file_add in virt/kvm/vfio.c; vfio_file_is_valid decides).
  /// Errors: EBADF (this device empty, or file not open); EINVAL (file is not a VFIO
  /// group, nor a VFIO device on v6.6+); EEXIST (already added); EIO (another
  /// process's VM); ENOMEM.
  result<void> add_file(fd_ref file) noexcept {
    return set_file(abi::kvm::vfio_attr::file_add, file, "KVM_DEV_VFIO_FILE_ADD");
  }
  /// KVM_SET_DEVICE_ATTR(KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_DEL) (kvm_vfio_file_del).
  /// Errors: EBADF (file not open); ENOENT (not added); EIO.
  result<void> remove_file(fd_ref file) noexcept {
    return set_file(abi::kvm::vfio_attr::file_del, file, "KVM_DEV_VFIO_FILE_DEL");
  }

  /// add_file() / remove_file() of a group's descriptor. Errors: EBADF (empty group,
  /// no call); errc::invalid_argument (the group uses another seam, no call); as
  /// add_file() / remove_file().
  result<void> add(const group& g) noexcept {
    return group_file(g, abi::kvm::vfio_attr::file_add, "KVM_DEV_VFIO_FILE_ADD");
  }
  result<void> remove(const group& g) noexcept {
    return group_file(g, abi::kvm::vfio_attr::file_del, "KVM_DEV_VFIO_FILE_DEL");
  }

  /// KVM_HAS_DEVICE_ATTR(KVM_DEV_VFIO_FILE, attr): whether this kernel knows the
  /// attribute (kvm_vfio_has_attr). False when it answers ENXIO.
  /// Errors: EBADF (empty); EIO.
  result<bool> has_attribute(std::uint64_t attr) noexcept {
    constexpr const char* op = "KVM_HAS_DEVICE_ATTR";
    if (!fd_) return errno_error(EBADF, op);
    abi::kvm::device_attr a{};
    a.group = abi::kvm::vfio_attr::file;
    a.attr = attr;
    const int r = sys().ioctl(fd_.get(), abi::kvm::req::has_device_attr, &a);
    if (r == -ENXIO) return false;
    if (r < 0) return errno_error(-r, op);
    return true;
  }

  /// close(2)s the device now, reporting failure: KVM lets go of every file added.
  result<void> close() noexcept { return fd_.close(); }

 private:
  explicit kvm_vfio_device(unique_fd fd) noexcept : fd_(std::move(fd)) {}

  result<void> group_file(const group& g, std::uint64_t attr, const char* op) noexcept {
    if (!g || !fd_) return errno_error(EBADF, op);
    if (&g.sys() != &sys()) return error(errc::invalid_argument, op);
    return set_file(attr, g.fd(), op);
  }

  result<void> set_file(std::uint64_t attr, fd_ref file, const char* op) noexcept {
    if (!fd_ || file.get() < 0) return errno_error(EBADF, op);
    std::int32_t value = file.get();  // kvm_vfio_set_file reads an int32_t with get_user
    abi::kvm::device_attr a{};
    a.group = abi::kvm::vfio_attr::file;
    a.attr = attr;
    a.addr = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&value));
    const int r = sys().ioctl(fd_.get(), abi::kvm::req::set_device_attr, &a);
    if (r < 0) return errno_error(-r, op);
    return {};
  }

  unique_fd fd_;
};

}  // namespace vfio

#endif  // VFIO_KVM_HPP_INCLUDED
