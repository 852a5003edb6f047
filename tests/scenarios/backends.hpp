// The two backends the scenario runner can use: the real kernel (in the QEMU
// guest) and the simulated kernel (on the host).
#ifndef VFIO_TESTS_SCENARIOS_BACKENDS_HPP_INCLUDED
#define VFIO_TESTS_SCENARIOS_BACKENDS_HPP_INCLUDED

#include <memory>
#include <string>
#include <vector>

#include "scenario.hpp"

namespace ktest {

/// The real kernel: vfio::default_syscalls(); SIGBUS probed in a forked child;
/// firmware records as "@N" placeholders for markers written to the debug
/// console (I/O port 0xE9) through /dev/port.
std::unique_ptr<backend> make_guest_backend();

/// A simulated_kernel configured like the QEMU machine: kernel TAG (6.1, 6.12,
/// 7, or own: the suite's 6.12 build with iommufd and device cdevs), platform
/// plain or d3cold, and the given devices (names, BDFs, groups).
/// Returns null and sets *why when the configuration is not understood.
std::unique_ptr<backend> make_simulated_backend(const std::string& kernel, const std::string& platform,
                                                const std::vector<device_under_test>& devices, std::string* why);

}  // namespace ktest

#endif  // VFIO_TESTS_SCENARIOS_BACKENDS_HPP_INCLUDED
