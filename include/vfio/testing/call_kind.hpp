// call_kind: which member of the syscall seam a call went through, shared by
// the scripted mock and the simulated kernel's records and fault rules.
#ifndef VFIO_TESTING_CALL_KIND_HPP_INCLUDED
#define VFIO_TESTING_CALL_KIND_HPP_INCLUDED

namespace vfio::testing {

/// One enumerator per vfio::syscalls member, except the clock.
enum class call_kind {
  open,
  close,
  ioctl,
  ioctl_value,
  pread,
  pwrite,
  read,
  write,
  mmap,
  munmap,
  eventfd,
  readlink,
  poll,
  access,
  getdents64,
  getrlimit
};

inline const char* to_string(call_kind k) noexcept {
  switch (k) {
    case call_kind::open: return "open";
    case call_kind::close: return "close";
    case call_kind::ioctl: return "ioctl";
    case call_kind::ioctl_value: return "ioctl_value";
    case call_kind::pread: return "pread";
    case call_kind::pwrite: return "pwrite";
    case call_kind::read: return "read";
    case call_kind::write: return "write";
    case call_kind::mmap: return "mmap";
    case call_kind::munmap: return "munmap";
    case call_kind::eventfd: return "eventfd";
    case call_kind::readlink: return "readlink";
    case call_kind::poll: return "poll";
    case call_kind::access: return "access";
    case call_kind::getdents64: return "getdents64";
    case call_kind::getrlimit: return "getrlimit";
  }
  return "?";
}

}  // namespace vfio::testing

#endif  // VFIO_TESTING_CALL_KIND_HPP_INCLUDED
