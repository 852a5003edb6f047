// The scenario framework shared by the real-kernel guest run and the host run
// against the simulated kernel. Plain C++17, no test framework: the program is
// linked statically and runs as a guest's only userspace besides busybox.
//
// A scenario is a function of a context. The context hands it the seam (a
// tracing_syscalls over the real or the simulated kernel), the device under
// test, the kernel tag and platform, and the few things only the backend can
// answer (does touching a mapping fault with SIGBUS, what did the ACPI power
// resources do). Scenarios check what must hold on every kernel with KCHECK
// (the failure is recorded with file:line and the scenario goes on) and record
// observations with ctx.note(); everything else the trace records by itself.
#ifndef VFIO_TESTS_SCENARIOS_SCENARIO_HPP_INCLUDED
#define VFIO_TESTS_SCENARIOS_SCENARIO_HPP_INCLUDED

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <vfio/host/pci_address.hpp>
#include <vfio/host/power.hpp>
#include <vfio/open.hpp>
#include <vfio/result.hpp>
#include <vfio/syscalls.hpp>
#include <vfio/testing/tracing_syscalls.hpp>

namespace ktest {

/// printf into a std::string.
inline std::string format_message(const char* format, ...) __attribute__((format(printf, 1, 2)));
inline std::string format_message(const char* format, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, format);
  std::vsnprintf(buf, sizeof buf, format, ap);
  va_end(ap);
  return buf;
}

/// One device of the test machine (the QEMU machine boot.sh starts, or its
/// simulated twin).
struct device_under_test {
  std::string name;  ///< e1000e, nvme, virtio-net, edu
  std::string bdf;   ///< DDDD:BB:DD.F
  unsigned group = 0;
  vfio::host::pci_address address{};
};

/// What only the backend (guest or simulation) can answer.
class backend {
 public:
  backend() = default;
  backend(const backend&) = delete;
  backend& operator=(const backend&) = delete;
  virtual ~backend() = default;

  /// The seam scenarios run on (the tracer wraps it).
  virtual vfio::syscalls& seam() = 0;
  /// True when reading 4 bytes at `addr` (inside a BAR mapping made through
  /// the seam) raises SIGBUS. Must not disturb the device otherwise.
  virtual bool mapping_faults(const void* addr) = 0;
  /// Starts a new firmware record: forgets what the ACPI power resources did
  /// so far.
  virtual void firmware_start(const device_under_test& dut) = 0;
  /// What the ACPI power resources of the device did since the last
  /// firmware_start/firmware_record: "on"/"off" words separated by spaces, "-"
  /// for nothing. The guest cannot read its own debug console, so it returns a
  /// placeholder "@N" that the host expands from the debugcon file (see
  /// tests/kernel/compare.sh).
  virtual std::string firmware_record(const device_under_test& dut) = 0;
  virtual bool simulated() const = 0;

  /// The kernel's own answer to an ioctl, bypassing the library and the
  /// tracer: the result, or -errno. The guest makes the system call itself
  /// (syscall(SYS_ioctl)); the simulation calls the simulated kernel directly.
  virtual long raw_ioctl(int fd, unsigned long request, void* arg) = 0;
  /// As raw_ioctl, with the argument passed by value (CHECK_EXTENSION, SET_IOMMU).
  virtual long raw_ioctl_value(int fd, unsigned long request, unsigned long value) = 0;
  /// open(2) without the library and the tracer: a descriptor or -errno.
  virtual int raw_open(const char* path, int flags) = 0;
  /// close(2) of a descriptor from raw_open or raw_ioctl.
  virtual void raw_close(int fd) = 0;
  /// How many descriptors the process holds (the guest counts /proc/self/fd,
  /// the simulation its descriptor table): compared before and after a
  /// scenario to find leaks, never printed.
  virtual long open_descriptors() = 0;

  /// One transfer of QEMU's edu DMA engine (hw/misc/edu.c): between the 4 KiB
  /// buffer inside the device (device addresses 0x40000-0x40fff) and the
  /// IOMMU address `iova`.
  struct dma_transfer {
    bool to_device = true;            ///< RAM -> device buffer (edu's EDU_DMA_FROM_PCI); false: device -> RAM
    std::uint64_t iova = 0;           ///< the RAM side, through the IOMMU
    std::uint32_t buffer_offset = 0;  ///< into edu's buffer
    std::uint32_t size = 0;           ///< transfers must end before the buffer's end (QEMU 7.2 aborts otherwise)
  };
  /// Runs one edu DMA transfer and waits for it to complete. `bar0` is the
  /// device's BAR0 mapped through the seam (the registers at 0x80-0x98);
  /// `space` names the mappings that translate `iova`: a container's (group
  /// path) or an IOAS of an iommufd (cdev path). The guest programs the real
  /// device; the simulation, which has no edu device model, performs the
  /// transfer itself through the simulated kernel's type1 or IOAS mappings
  /// with the same permissions (a device write needs a writable mapping, a
  /// read a readable one; anything else is dropped, as the IOMMU does). False
  /// when the engine did not finish within 3 s.
  struct dma_space {
    int fd = -1;             ///< the container, or the iommufd
    std::uint32_t ioas = 0;  ///< the IOAS in that iommufd; 0: fd is a container
  };
  virtual bool edu_dma(const device_under_test& dut, void* bar0, const dma_space& space, const dma_transfer& t) = 0;

  /// Creates `count` devices of the mtty sample's type mtty-2 (two serial
  /// ports, migratable) and returns the numbers of their VFIO cdevs
  /// (/dev/vfio/devices/vfioN), outside the seam. The guest writes a UUID to
  /// /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create for each;
  /// the simulation adds sim::profiles::mtty devices. Empty, with *why, on
  /// failure. mtty_remove() removes what mtty_create made.
  virtual std::vector<unsigned> mtty_create(unsigned count, std::string* why) = 0;
  virtual void mtty_remove() = 0;
};

/// A failed check.
struct failure {
  const char* file = "";
  int line = 0;
  std::string what;
};

class context {
 public:
  context(vfio::testing::tracing_syscalls& sys, const device_under_test& dut, const std::string& kernel,
          const std::string& platform, backend& be, vfio::open_path path = vfio::open_path::group,
          bool iommufd_container = false)
      : sys_(&sys),
        dut_(&dut),
        kernel_(&kernel),
        platform_(&platform),
        be_(&be),
        path_(path),
        iommufd_container_(iommufd_container) {}

  vfio::testing::tracing_syscalls& sys() const { return *sys_; }
  const device_under_test& dut() const { return *dut_; }
  const std::string& kernel() const { return *kernel_; }
  const std::string& platform() const { return *platform_; }
  backend& be() const { return *be_; }
  /// How open_stack reaches the device: open_path::group (container, group)
  /// or open_path::cdev (iommufd, IOAS, the device's cdev). The runner's
  /// --path.
  vfio::open_path path() const { return path_; }
  bool cdev_path() const { return path_ == vfio::open_path::cdev; }
  /// The group path with an iommufd (/dev/iommu) as the container: iommufd's
  /// VFIO compatibility container answers the container ioctls (--path compat).
  bool compat_path() const { return iommufd_container_; }
  /// The node the group path opens as its container: /dev/iommu on the compat path.
  const char* container_node() const { return iommufd_container_ ? "/dev/iommu" : "/dev/vfio/vfio"; }

  /// An observation of the scenario's own, as a trace line "= ...".
  void note(const char* format, ...) __attribute__((format(printf, 2, 3))) {
    char buf[512];
    va_list ap;
    va_start(ap, format);
    std::vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    sys_->note(std::string("= ") + buf);
  }
  /// Records the firmware's power-resource activity since the last record.
  void firmware(const char* label) {
    sys_->note(std::string("= firmware ") + label + ": " + be_->firmware_record(*dut_));
  }

  void fail(const char* file, int line, std::string what) { failures_.push_back({file, line, std::move(what)}); }
  const std::vector<failure>& failures() const { return failures_; }

 private:
  vfio::testing::tracing_syscalls* sys_;
  const device_under_test* dut_;
  const std::string* kernel_;
  const std::string* platform_;
  backend* be_;
  vfio::open_path path_;
  bool iommufd_container_ = false;
  std::vector<failure> failures_;
};

/// "ok" or "<errno name or errc name>" for a result: stable across kernels and
/// the simulation (no strerror text).
template <class T>
std::string outcome(const vfio::result<T>& r) {
  if (r) return "ok";
  const auto& code = r.error().code();
  if (code.category() == std::system_category()) return vfio::testing::errno_name(-code.value()).substr(1);
  return "errc:" + code.message();
}

/// "ok" or the errno name ("EINVAL") for a raw call's return value, as outcome()
/// names a result's errno.
inline std::string errno_text(long r) { return r >= 0 ? "ok" : vfio::testing::errno_name(r).substr(1); }

/// True when r failed with errno e (a kernel error).
template <class T>
bool failed_with(const vfio::result<T>& r, int e) {
  return !r && r.error().code() == std::error_code(e, std::system_category());
}
/// True when r failed with the library condition c.
template <class T>
bool failed_with(const vfio::result<T>& r, vfio::errc c) {
  return !r && r.error() == c;
}

using scenario_fn = std::function<void(context&)>;

struct scenario {
  const char* name;
  const char* summary;
  scenario_fn run;
};

/// The registry, in registration order (scenarios register from static
/// initializers; the order is fixed by the link order of the sources, and the
/// runner sorts nothing: every run on every side walks the same list).
inline std::vector<scenario>& registry() {
  static std::vector<scenario> all;
  return all;
}

struct registrar {
  registrar(const char* name, const char* summary, scenario_fn fn) {
    registry().push_back({name, summary, std::move(fn)});
  }
};

// --- helpers shared by the scenarios ---------------------------------------

/// The deepest state a device should reach on this machine, from what the
/// harness knows about it (tests/kernel/ssdt-d3cold.asl gives e1000e and nvme
/// ACPI power resources on the d3cold platform, and edu, which has no PM
/// capability, _PS0/_PS3 methods there; virtio-net's port has none).
/// Independent of the library's power report, so that the report is checked,
/// not trusted. edu: D0 on plain (no PM capability, no platform methods); on
/// d3cold the platform puts it into D3hot (pci_target_state asks the platform
/// before looking at the PM capability).
inline vfio::host::reachable_state expected_deepest(const context& ctx) {
  const std::string& n = ctx.dut().name;
  if (n == "edu")
    return ctx.platform() == "d3cold" ? vfio::host::reachable_state::d3hot : vfio::host::reachable_state::d0;
  if ((n == "e1000e" || n == "nvme") && ctx.platform() == "d3cold") return vfio::host::reachable_state::d3cold;
  return vfio::host::reachable_state::d3hot;
}

inline vfio::host::power_state to_power_state(vfio::host::reachable_state s) {
  switch (s) {
    case vfio::host::reachable_state::d0: return vfio::host::power_state::d0;
    case vfio::host::reachable_state::d3hot: return vfio::host::power_state::d3hot;
    case vfio::host::reachable_state::d3cold: return vfio::host::power_state::d3cold;
  }
  return vfio::host::power_state::other;
}

}  // namespace ktest

#define KTEST_CAT2(a, b) a##b
#define KTEST_CAT(a, b) KTEST_CAT2(a, b)

/// Registers `void fn(ktest::context&)` as scenario NAME. Named by __COUNTER__, not
/// __LINE__: the build joins scenario files into one TU (unity batches), where two
/// files may hold a scenario on the same line.
#define KSCENARIO(NAME, SUMMARY) KTEST_SCENARIO(NAME, SUMMARY, __COUNTER__)
#define KTEST_SCENARIO(NAME, SUMMARY, N)                                                                    \
  static void KTEST_CAT(scenario_body_, N)(::ktest::context&);                                              \
  static const ::ktest::registrar KTEST_CAT(scenario_reg_, N)(NAME, SUMMARY, KTEST_CAT(scenario_body_, N)); \
  static void KTEST_CAT(scenario_body_, N)(::ktest::context & ctx)

/// Records a failure with file:line when COND is false; the scenario goes on.
#define KCHECK(COND)                                                \
  do {                                                              \
    if (!(COND)) ctx.fail(__FILE__, __LINE__, "KCHECK(" #COND ")"); \
  } while (0)
/// As KCHECK, with a printf-style explanation.
#define KCHECK_MSG(COND, ...)                                                                               \
  do {                                                                                                      \
    if (!(COND)) ctx.fail(__FILE__, __LINE__, "KCHECK(" #COND ") " + ::ktest::format_message(__VA_ARGS__)); \
  } while (0)
/// As KCHECK, but ends the scenario: for steps everything after depends on.
#define KREQUIRE(COND)                                     \
  do {                                                     \
    if (!(COND)) {                                         \
      ctx.fail(__FILE__, __LINE__, "KREQUIRE(" #COND ")"); \
      return;                                              \
    }                                                      \
  } while (0)
#define KREQUIRE_MSG(COND, ...)                                                                    \
  do {                                                                                             \
    if (!(COND)) {                                                                                 \
      ctx.fail(__FILE__, __LINE__, "KREQUIRE(" #COND ") " + ::ktest::format_message(__VA_ARGS__)); \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

#endif  // VFIO_TESTS_SCENARIOS_SCENARIO_HPP_INCLUDED
