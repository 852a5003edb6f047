// Shared pieces of the unit tests: the scripted seam with its mismatch log,
// and a device opened through it.
#ifndef VFIO_TESTS_UNIT_MOCK_FIXTURE_HPP_INCLUDED
#define VFIO_TESTS_UNIT_MOCK_FIXTURE_HPP_INCLUDED

#include <vfio/device.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "../catch.hpp"

namespace vfio_test {

/// A scripted seam that records every mismatch (and prints it for the log).
struct seam {
  std::vector<std::string> mismatches;
  vfio::testing::scripted_syscalls mock{[this](const std::string& m) {
    mismatches.push_back(m);
    std::fprintf(stderr, "scripted_syscalls mismatch: %s\n", m.c_str());
  }};
};

inline std::string op(const vfio::error& e) { return e.operation(); }

/// Scripts VFIO_GROUP_GET_DEVICE_FD returning device_fd and wraps the result
/// in a vfio::device, as group::open_device would.
inline vfio::device open_scripted_device(vfio::testing::scripted_syscalls& mock, int group_fd, int device_fd,
                                         const char* bdf) {
  mock.expect_ioctl(group_fd, vfio::abi::req::group_get_device_fd).returns_fd(device_fd);
  std::string name = bdf;
  const int fd = mock.ioctl(group_fd, vfio::abi::req::group_get_device_fd, name.data());
  REQUIRE(fd == device_fd);
  return vfio::device(vfio::unique_fd(fd, mock), name);
}

/// Scripts VFIO_DEVICE_GET_INFO: the library asks with argsz 24 and a zeroed
/// struct; the reply carries flags and the region / IRQ counts.
inline void expect_device_info(vfio::testing::scripted_syscalls& mock, int device_fd, std::uint32_t flags,
                               std::uint32_t regions, std::uint32_t irqs) {
  vfio::abi::device_info call{};
  call.argsz = sizeof call;
  vfio::abi::device_info reply = call;
  reply.flags = flags;
  reply.num_regions = regions;
  reply.num_irqs = irqs;
  mock.expect_ioctl(device_fd, vfio::abi::req::device_get_info).with(call).fills(reply);
}

}  // namespace vfio_test

#endif  // VFIO_TESTS_UNIT_MOCK_FIXTURE_HPP_INCLUDED
