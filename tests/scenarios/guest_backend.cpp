// The real-kernel backend, used inside the QEMU guest.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

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
};

}  // namespace

std::unique_ptr<backend> make_guest_backend() { return std::make_unique<guest_backend>(); }

}  // namespace ktest
