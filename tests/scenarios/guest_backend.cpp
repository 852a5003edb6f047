// The real-kernel backend, used inside the QEMU guest.
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <vfio/syscalls.hpp>

#include "backends.hpp"

namespace ktest {
namespace {

class guest_backend final : public backend {
 public:
  vfio::syscalls& seam() override { return vfio::default_syscalls(); }

  // The fault happens in a child so that the scenario survives it. The child
  // inherits the mapping (vfio-pci's BAR VMAs are not VM_DONTCOPY), and its
  // fault goes through the same vfio_pci_mmap_fault as the parent's would.
  bool mapping_faults(const void* addr) override {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::fprintf(stderr, "scenarios: fork: %s\n", std::strerror(errno));
      return false;
    }
    if (pid == 0) {
      volatile std::uint32_t v = *static_cast<const volatile std::uint32_t*>(addr);
      (void)v;
      ::_exit(0);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) return false;
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGBUS)
      std::fprintf(stderr, "scenarios: mapping probe died of signal %d\n", WTERMSIG(status));
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS;
  }

  void firmware_start(const device_under_test&) override { (void)mark(); }
  std::string firmware_record(const device_under_test&) override { return "@" + std::to_string(mark()); }
  bool simulated() const override { return false; }

  long raw_ioctl(int fd, unsigned long request, void* arg) override {
    const long r = ::syscall(SYS_ioctl, fd, request, arg);
    return r < 0 ? -errno : r;
  }
  long raw_ioctl_value(int fd, unsigned long request, unsigned long value) override {
    const long r = ::syscall(SYS_ioctl, fd, request, value);
    return r < 0 ? -errno : r;
  }
  int raw_open(const char* path, int flags) override {
    const int r = ::open(path, flags | O_CLOEXEC);
    return r < 0 ? -errno : r;
  }
  void raw_close(int fd) override { ::close(fd); }
  long open_descriptors() override {
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) return -errno;
    long n = 0;
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    return n - 1;  // the directory's own descriptor
  }

  // Programs edu's DMA registers through the BAR0 mapping (4-byte accesses;
  // a 4-byte write of 0x80/0x88/0x90 sets the whole register) and polls the
  // command register until the engine clears its RUN bit (edu_dma_timer runs
  // 100 ms of QEMU's virtual clock after the start).
  // mdevs of the mtty sample: one UUID written to the type's `create` each,
  // then the cdev from the mdev's vfio-dev/ directory; /dev/vfio/devices/vfioN
  // appears through devtmpfs (waited for up to 1 s).
  std::vector<unsigned> mtty_create(unsigned count, std::string* why) override {
    std::vector<unsigned> numbers;
    for (unsigned i = 0; i < count; ++i) {
      char uuid[48];
      std::snprintf(uuid, sizeof uuid, "0b1cd3e4-5f60-4718-a9ba-cbdcedf0%04x", i);
      if (!write_file("/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create", uuid)) {
        *why = std::string("create mtty-2 ") + uuid + ": " + std::strerror(errno);
        return {};
      }
      mdevs_.push_back(uuid);
      const std::string dir = std::string("/sys/bus/mdev/devices/") + uuid + "/vfio-dev";
      DIR* d = ::opendir(dir.c_str());
      if (!d) {
        *why = dir + ": " + std::strerror(errno);
        return {};
      }
      long number = -1;
      while (const dirent* e = ::readdir(d))
        if (std::strncmp(e->d_name, "vfio", 4) == 0) number = std::strtol(e->d_name + 4, nullptr, 10);
      ::closedir(d);
      if (number < 0) {
        *why = dir + ": no vfioN";
        return {};
      }
      const std::string node = "/dev/vfio/devices/vfio" + std::to_string(number);
      for (int t = 0; t < 100 && ::access(node.c_str(), F_OK) != 0; ++t) {
        const timespec ms = {0, 10000000};
        ::nanosleep(&ms, nullptr);
      }
      numbers.push_back(static_cast<unsigned>(number));
    }
    return numbers;
  }
  void mtty_remove() override {
    for (const auto& uuid : mdevs_)
      if (!write_file("/sys/bus/mdev/devices/" + uuid + "/remove", "1"))
        std::fprintf(stderr, "scenarios: remove mdev %s: %s\n", uuid.c_str(), std::strerror(errno));
    mdevs_.clear();
  }

  bool edu_dma(const device_under_test&, void* bar0, const dma_space&, const dma_transfer& t) override {
    constexpr std::uint32_t buffer = 0x40000;  // DMA_START
    volatile std::uint32_t* regs = static_cast<volatile std::uint32_t*>(bar0);
    const std::uint32_t device_side = buffer + t.buffer_offset;
    const auto iova = static_cast<std::uint32_t>(t.iova);  // edu's dma_mask is 28 bits
    if (t.buffer_offset + std::uint64_t{t.size} >= 0x1000) return false;
    if (!idle(regs)) return false;
    regs[0x80 / 4] = t.to_device ? iova : device_side;  // source
    regs[0x88 / 4] = t.to_device ? device_side : iova;  // destination
    regs[0x90 / 4] = t.size;                            // count
    regs[0x98 / 4] = t.to_device ? 0x1u : 0x3u;         // RUN, direction bit 1: 1 = to RAM
    return idle(regs);
  }

 private:
  // Writes marker N, one '|' byte, to the debug console. The ACPI power
  // resources' _ON/_OFF write their letters to the same port
  // (tests/kernel/ssdt-d3cold.asl), so the host finds what ran between markers
  // N-1 and N (the N-th and N+1-th '|' of the debugcon file). One byte per
  // pwrite: /dev/port writes successive bytes to successive ports.
  unsigned mark() {
    const unsigned n = next_++;
    const int fd = ::open("/dev/port", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::pwrite(fd, "|", 1, 0xe9) != 1)
      std::fprintf(stderr, "scenarios: cannot write to I/O port 0xe9: %s\n", std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return n;
  }
  unsigned next_ = 0;
  std::vector<std::string> mdevs_;

  static bool write_file(const std::string& path, const std::string& text) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<long>(text.size());
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return ok;
  }

  static bool idle(volatile std::uint32_t* regs) {
    for (int i = 0; i < 3000; ++i) {
      if (!(regs[0x98 / 4] & 0x1u)) return true;
      const timespec ms = {0, 1000000};
      ::nanosleep(&ms, nullptr);
    }
    return false;
  }
};

}  // namespace

std::unique_ptr<backend> make_guest_backend() { return std::make_unique<guest_backend>(); }

}  // namespace ktest
