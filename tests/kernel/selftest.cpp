// selftest.cpp - proves the real-kernel harness (boot.sh) works: run in the
// guest, it opens every device that boot.sh bound to vfio-pci through the
// plain VFIO type1 API and, optionally, drives runtime low power through
// VFIO_DEVICE_FEATURE.
//
//   selftest [--low-power NAME=STATE]...
//
// Devices come from KTEST_DEVICES="name,bdf,group ..." (exported by boot.sh's
// /init). For each device: open /dev/vfio/vfio, VFIO_GET_API_VERSION ==
// VFIO_API_VERSION, type1v2 supported, open /dev/vfio/<group>, group viable,
// set the container, VFIO_SET_IOMMU type1v2, VFIO_GROUP_GET_DEVICE_FD, and print
// power_state / power/runtime_status from sysfs.
// --low-power NAME=STATE: on that device, LOW_POWER_ENTRY (feature 3) must make
// power_state read STATE and power/runtime_status read "suspended" within 2 s
// (polled every 5 ms; STATE=D0 for a device without PM capability), then LOW_POWER_EXIT
// (feature 5) must bring it back to D0 within 2 s.
// Exit status 0 only if every check passed.
//
// Build: g++ -std=c++17 -static -O2 -o selftest selftest.cpp
#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY
#define VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY 3
#endif
#ifndef VFIO_DEVICE_FEATURE_LOW_POWER_EXIT
#define VFIO_DEVICE_FEATURE_LOW_POWER_EXIT 5
#endif

namespace {

int g_failures = 0;

void fail(const std::string& what) {
  std::printf("SELFTEST FAIL %s\n", what.c_str());
  ++g_failures;
}

std::string errstr() { return std::string(std::strerror(errno)) + " (errno " + std::to_string(errno) + ")"; }

std::string read_sysfs(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "<" + std::string(std::strerror(errno)) + ">";
  char buf[128];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n < 0) return "<read error>";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string power_state(const std::string& bdf) { return read_sysfs("/sys/bus/pci/devices/" + bdf + "/power_state"); }
std::string runtime_status(const std::string& bdf) {
  return read_sysfs("/sys/bus/pci/devices/" + bdf + "/power/runtime_status");
}

void print_power(const std::string& name, const std::string& bdf, const char* when) {
  std::printf("SELFTEST POWER %s %s power_state=%s runtime_status=%s\n", name.c_str(), when, power_state(bdf).c_str(),
              runtime_status(bdf).c_str());
}

// Poll every 5 ms for up to 2 s until power_state reads `want` (and, when
// `runtime` is given, power/runtime_status reads it too); returns the elapsed
// ms or -1.
long wait_power_state(const std::string& bdf, const std::string& want, const char* runtime = nullptr) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  for (;;) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
    if (power_state(bdf) == want && (!runtime || runtime_status(bdf) == runtime)) return static_cast<long>(ms);
    if (ms >= 2000) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int device_feature(int devfd, uint32_t feature) {
  struct {
    uint32_t argsz;
    uint32_t flags;
  } f{8, VFIO_DEVICE_FEATURE_SET | feature};  // flags (1<<17)|feature
  return ::ioctl(devfd, VFIO_DEVICE_FEATURE, &f);
}

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void low_power_cycle(const std::string& name, const std::string& bdf, int devfd, const std::string& want) {
  const std::string tag = name + " (" + bdf + ")";
  if (device_feature(devfd, VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY) != 0) {
    fail(tag + ": VFIO_DEVICE_FEATURE LOW_POWER_ENTRY: " + errstr());
    return;
  }
  // Entry is asynchronous: the device runtime-suspends once nothing holds it.
  long ms = wait_power_state(bdf, want, "suspended");
  if (ms < 0) {
    fail(tag + ": power_state/runtime_status did not reach " + want +
         "/suspended within 2 s after LOW_POWER_ENTRY (is " + power_state(bdf) + ", runtime_status " +
         runtime_status(bdf) + ")");
  } else {
    std::printf("SELFTEST LOWPOWER %s entry -> %s after %ld ms (runtime_status=%s)\n", name.c_str(), want.c_str(), ms,
                runtime_status(bdf).c_str());
  }
  if (device_feature(devfd, VFIO_DEVICE_FEATURE_LOW_POWER_EXIT) != 0) {
    fail(tag + ": VFIO_DEVICE_FEATURE LOW_POWER_EXIT: " + errstr());
    return;
  }
  ms = wait_power_state(bdf, "D0");
  if (ms < 0) {
    fail(tag + ": power_state did not return to D0 within 2 s after LOW_POWER_EXIT (is " + power_state(bdf) + ")");
  } else {
    std::printf("SELFTEST LOWPOWER %s exit -> D0 after %ld ms (runtime_status=%s)\n", name.c_str(), ms,
                runtime_status(bdf).c_str());
  }
}

void test_device(const std::string& name, const std::string& bdf, const std::string& group,
                 const std::string& low_power_want) {
  const std::string tag = name + " (" + bdf + ")";
  print_power(name, bdf, "idle");

  Fd container(::open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC));
  if (container.fd < 0) return fail(tag + ": open /dev/vfio/vfio: " + errstr());
  int api = ::ioctl(container.fd, VFIO_GET_API_VERSION);
  if (api != VFIO_API_VERSION) return fail(tag + ": VFIO_GET_API_VERSION returned " + std::to_string(api));
  if (::ioctl(container.fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
    return fail(tag + ": VFIO_TYPE1v2_IOMMU not supported");

  const std::string gpath = "/dev/vfio/" + group;
  Fd groupfd(::open(gpath.c_str(), O_RDWR | O_CLOEXEC));
  if (groupfd.fd < 0) return fail(tag + ": open " + gpath + ": " + errstr());
  vfio_group_status status{};
  status.argsz = sizeof status;
  if (::ioctl(groupfd.fd, VFIO_GROUP_GET_STATUS, &status) != 0)
    return fail(tag + ": VFIO_GROUP_GET_STATUS: " + errstr());
  if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) return fail(tag + ": group " + group + " is not viable");
  if (::ioctl(groupfd.fd, VFIO_GROUP_SET_CONTAINER, &container.fd) != 0)
    return fail(tag + ": VFIO_GROUP_SET_CONTAINER: " + errstr());
  if (::ioctl(container.fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) != 0)
    return fail(tag + ": VFIO_SET_IOMMU type1v2: " + errstr());
  Fd devfd(::ioctl(groupfd.fd, VFIO_GROUP_GET_DEVICE_FD, bdf.c_str()));
  if (devfd.fd < 0) return fail(tag + ": VFIO_GROUP_GET_DEVICE_FD: " + errstr());

  vfio_device_info info{};
  info.argsz = sizeof info;
  if (::ioctl(devfd.fd, VFIO_DEVICE_GET_INFO, &info) != 0) return fail(tag + ": VFIO_DEVICE_GET_INFO: " + errstr());
  std::printf("SELFTEST DEVICE %s bdf=%s group=%s flags=0x%x regions=%u irqs=%u\n", name.c_str(), bdf.c_str(),
              group.c_str(), info.flags, info.num_regions, info.num_irqs);
  print_power(name, bdf, "open");

  if (!low_power_want.empty()) low_power_cycle(name, bdf, devfd.fd, low_power_want);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::map<std::string, std::string> low_power;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--low-power" && i + 1 < argc) {
      std::string v = argv[++i];
      auto eq = v.find('=');
      if (eq == std::string::npos) {
        std::fprintf(stderr, "selftest: --low-power wants NAME=STATE\n");
        return 2;
      }
      low_power[v.substr(0, eq)] = v.substr(eq + 1);
    } else {
      std::fprintf(stderr, "usage: selftest [--low-power NAME=STATE]...\n");
      return 2;
    }
  }
  const char* env = std::getenv("KTEST_DEVICES");
  if (!env || !*env) {
    std::printf("SELFTEST FAIL KTEST_DEVICES is not set\n");
    return 1;
  }
  std::istringstream devices(env);
  std::string entry;
  int count = 0;
  while (devices >> entry) {
    std::vector<std::string> f;
    std::string field;
    std::istringstream es(entry);
    while (std::getline(es, field, ',')) f.push_back(field);
    if (f.size() != 3) {
      fail("bad KTEST_DEVICES entry '" + entry + "'");
      continue;
    }
    ++count;
    auto it = low_power.find(f[0]);
    test_device(f[0], f[1], f[2], it == low_power.end() ? "" : it->second);
    if (it != low_power.end()) low_power.erase(it);
    print_power(f[0], f[1], "closed");
  }
  for (const auto& lp : low_power) fail("--low-power device '" + lp.first + "' is not in KTEST_DEVICES");
  if (count == 0) fail("no devices in KTEST_DEVICES");
  std::printf("SELFTEST %s: %d device(s), %d failure(s)\n", g_failures ? "FAILED" : "PASSED", count, g_failures);
  return g_failures ? 1 : 0;
}
