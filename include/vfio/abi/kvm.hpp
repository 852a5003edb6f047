#ifndef VFIO_ABI_KVM_HPP_INCLUDED
#define VFIO_ABI_KVM_HPP_INCLUDED

// The part of the KVM userspace ABI (include/uapi/linux/kvm.h) the KVM-VFIO device needs:
// KVM_CREATE_DEVICE on a VM descriptor, the device-attribute ioctls on the descriptor it
// returns, and the VFIO device's attribute group. Mirrored as C++17 constants and
// structs, like abi/vfio.hpp, so the library does not need <linux/kvm.h>; no identifier
// here is one of its macros. tests/unit/abi_crosscheck.cpp compares both.

#include <cstddef>
#include <cstdint>

namespace vfio::abi::kvm {

// KVMIO: the ioctl type of every KVM request.
inline constexpr unsigned long ioctl_type = 0xAE;

// _IOC(dir, type, nr, size). KVM encodes direction and size, so the layout of the
// architecture matters: asm-generic has 2 direction bits at 30 and 14 size bits;
// powerpc, mips, sparc and alpha have 3 direction bits at 29 and 13 size bits.
#if defined(__powerpc__) || defined(__mips__) || defined(__sparc__) || defined(__alpha__)
inline constexpr unsigned long ioc_none = 1, ioc_read = 2, ioc_write = 4;
inline constexpr unsigned ioc_dir_shift = 29;
#else
inline constexpr unsigned long ioc_none = 0, ioc_read = 2, ioc_write = 1;
inline constexpr unsigned ioc_dir_shift = 30;
#endif
constexpr unsigned long ioc(unsigned long dir, unsigned long nr, unsigned long size) noexcept {
  return (dir << ioc_dir_shift) | (size << 16) | (ioctl_type << 8) | nr;
}

// struct kvm_create_device: KVM_CREATE_DEVICE argument; the kernel writes fd back.
struct create_device {
  std::uint32_t type;   // dev_type::*
  std::uint32_t fd;     // out: the new device descriptor
  std::uint32_t flags;  // create_device_flags::*
};

// struct kvm_device_attr: KVM_{SET,GET,HAS}_DEVICE_ATTR argument.
struct device_attr {
  std::uint32_t flags;            // none defined: 0
  std::uint32_t group;            // device-defined
  alignas(8) std::uint64_t attr;  // group-defined
  alignas(8) std::uint64_t addr;  // user address of the attribute's data
};

namespace req {
inline constexpr unsigned long check_extension = ioc(ioc_none, 0x03, 0);  // KVM_CHECK_EXTENSION, value argument
inline constexpr unsigned long create_device = ioc(ioc_read | ioc_write, 0xe0, sizeof(abi::kvm::create_device));
inline constexpr unsigned long set_device_attr = ioc(ioc_write, 0xe1, sizeof(device_attr));
inline constexpr unsigned long get_device_attr = ioc(ioc_write, 0xe2, sizeof(device_attr));
inline constexpr unsigned long has_device_attr = ioc(ioc_write, 0xe3, sizeof(device_attr));
}  // namespace req

// KVM_CAP_DEVICE_CTRL: KVM_CREATE_DEVICE exists (KVM_CHECK_EXTENSION).
inline constexpr std::uint32_t cap_device_ctrl = 89;

// kvm_create_device flags.
namespace create_device_flags {
inline constexpr std::uint32_t test = 1;  // KVM_CREATE_DEVICE_TEST: only check that the type exists
}  // namespace create_device_flags

// enum kvm_device_type (the first is 1).
namespace dev_type {
inline constexpr std::uint32_t fsl_mpic_20 = 1;
inline constexpr std::uint32_t fsl_mpic_42 = 2;
inline constexpr std::uint32_t xics = 3;
inline constexpr std::uint32_t vfio = 4;
}  // namespace dev_type

// The KVM-VFIO device's attribute group and attributes. The FILE names (v6.6, when
// device cdevs became acceptable) have the values of the older GROUP names, which stay
// as aliases (virt/kvm/vfio.c: kvm_vfio_set_file).
namespace vfio_attr {
inline constexpr std::uint32_t file = 1;      // KVM_DEV_VFIO_FILE
inline constexpr std::uint64_t file_add = 1;  // KVM_DEV_VFIO_FILE_ADD: addr points to an s32 fd
inline constexpr std::uint64_t file_del = 2;  // KVM_DEV_VFIO_FILE_DEL
inline constexpr std::uint32_t group = file;  // KVM_DEV_VFIO_GROUP
inline constexpr std::uint64_t group_add = file_add;
inline constexpr std::uint64_t group_del = file_del;
inline constexpr std::uint64_t group_set_spapr_tce = 3;  // KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE (powerpc)
}  // namespace vfio_attr

static_assert(sizeof(create_device) == 12);
static_assert(alignof(create_device) == 4);
static_assert(offsetof(create_device, type) == 0);
static_assert(offsetof(create_device, fd) == 4);
static_assert(offsetof(create_device, flags) == 8);

static_assert(sizeof(device_attr) == 24);
static_assert(alignof(device_attr) == 8);
static_assert(offsetof(device_attr, flags) == 0);
static_assert(offsetof(device_attr, group) == 4);
static_assert(offsetof(device_attr, attr) == 8);
static_assert(offsetof(device_attr, addr) == 16);

#if !(defined(__powerpc__) || defined(__mips__) || defined(__sparc__) || defined(__alpha__))
static_assert(req::check_extension == 0xAE03UL);
static_assert(req::create_device == 0xC00CAEE0UL);
static_assert(req::set_device_attr == 0x4018AEE1UL);
static_assert(req::get_device_attr == 0x4018AEE2UL);
static_assert(req::has_device_attr == 0x4018AEE3UL);
#endif

}  // namespace vfio::abi::kvm

#endif  // VFIO_ABI_KVM_HPP_INCLUDED
