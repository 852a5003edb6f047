// Instructions the library spends around each syscall, against a hand-written
// baseline that issues the same syscalls through the same seam.
//
// Both sides run over the simulated kernel behind `excluded_seam`, which turns
// callgrind's collection off for the length of every call into the kernel: what
// is counted is the caller's own work (argument set-up, checks, error
// mapping, state kept), not the syscall. The baseline is the least a careful C
// caller writes with <linux/vfio.h>: a struct on the stack, the call, the
// check of its return value, nothing cached beyond the config region's offset.
//
// Run through tests/bench/instructions.sh, which starts this program under
// `valgrind --tool=callgrind` and prints instructions per call for each
// operation. Without valgrind the program only runs the operations once (a
// smoke test of the set-up). A benchmark, not a test: never run by CTest.
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define VFIO_BENCH_HAVE_CALLGRIND 1
#else
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_DUMP_STATS_AT(x)
#define RUNNING_ON_VALGRIND 0
#endif

#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/feature.hpp>
#include <vfio/group.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/testing/simulated_kernel.hpp>

namespace {

namespace sim = vfio::testing::sim;

bool measuring = false;
// VFIO_BENCH_PROFILE set: no toggling, so that `valgrind --tool=callgrind
// --dump-instr=yes` attributes every instruction (the model's included) to its
// source line for callgrind_annotate; the per-part dumps stay.
bool toggling = true;

/// Forwards to the simulated kernel with callgrind's collection off for the
/// length of the call (when a measurement is on).
class excluded_seam final : public vfio::syscalls {
 public:
  explicit excluded_seam(vfio::syscalls& inner) noexcept : inner_(&inner) {}

  template <class F>
  static auto outside(F&& f) noexcept {
    if (measuring && toggling) CALLGRIND_TOGGLE_COLLECT;
    auto r = f();
    if (measuring && toggling) CALLGRIND_TOGGLE_COLLECT;
    return r;
  }

  int open(const char* path, int flags, unsigned mode) noexcept override {
    return outside([&] { return inner_->open(path, flags, mode); });
  }
  int close(int fd) noexcept override {
    return outside([&] { return inner_->close(fd); });
  }
  int ioctl(int fd, unsigned long request, void* arg) noexcept override {
    return outside([&] { return inner_->ioctl(fd, request, arg); });
  }
  int ioctl_value(int fd, unsigned long request, unsigned long value) noexcept override {
    return outside([&] { return inner_->ioctl_value(fd, request, value); });
  }
  long pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept override {
    return outside([&] { return inner_->pread(fd, buf, count, offset); });
  }
  long pwrite(int fd, const void* buf, std::size_t count, std::int64_t offset) noexcept override {
    return outside([&] { return inner_->pwrite(fd, buf, count, offset); });
  }
  long read(int fd, void* buf, std::size_t count) noexcept override {
    return outside([&] { return inner_->read(fd, buf, count); });
  }
  long write(int fd, const void* buf, std::size_t count) noexcept override {
    return outside([&] { return inner_->write(fd, buf, count); });
  }
  int mmap(void** addr, std::size_t length, int prot, int flags, int fd, std::int64_t offset) noexcept override {
    return outside([&] { return inner_->mmap(addr, length, prot, flags, fd, offset); });
  }
  int munmap(void* addr, std::size_t length) noexcept override {
    return outside([&] { return inner_->munmap(addr, length); });
  }
  int eventfd(unsigned initval, int flags) noexcept override {
    return outside([&] { return inner_->eventfd(initval, flags); });
  }
  long readlink(const char* path, char* buf, std::size_t size) noexcept override {
    return outside([&] { return inner_->readlink(path, buf, size); });
  }
  int poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept override {
    return outside([&] { return inner_->poll(fds, nfds, timeout_ms); });
  }
  std::int64_t monotonic_ns() noexcept override {
    return outside([&] { return inner_->monotonic_ns(); });
  }
  int sleep_ns(std::int64_t ns) noexcept override {
    return outside([&] { return inner_->sleep_ns(ns); });
  }

 private:
  vfio::syscalls* inner_;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "instructions: %s\n", what);
  std::exit(1);
}

/// Runs `body` with collection on (under callgrind) and dumps the counts as
/// part `name`; instructions.sh divides them by `iterations`.
template <class F>
void measure(const char* name, F&& body) {
  measuring = true;
  if (toggling) CALLGRIND_TOGGLE_COLLECT;
  body();
  if (toggling) CALLGRIND_TOGGLE_COLLECT;
  measuring = false;
  CALLGRIND_DUMP_STATS_AT(name);
}

// --- the baseline: <linux/vfio.h>, a struct on the stack, the call ----------

__attribute__((noinline)) int base_feature_probe(vfio::syscalls& sys, int fd, std::uint32_t flags) {
  struct vfio_device_feature f;
  f.argsz = sizeof f;
  f.flags = VFIO_DEVICE_FEATURE_PROBE | flags;
  return sys.ioctl(fd, VFIO_DEVICE_FEATURE, &f) < 0 ? -1 : 0;
}

__attribute__((noinline)) int base_feature_set(vfio::syscalls& sys, int fd, std::uint32_t id) {
  struct vfio_device_feature f;
  f.argsz = sizeof f;
  f.flags = VFIO_DEVICE_FEATURE_SET | id;
  return sys.ioctl(fd, VFIO_DEVICE_FEATURE, &f) < 0 ? -1 : 0;
}

__attribute__((noinline)) int base_feature_get_mig_state(vfio::syscalls& sys, int fd, std::uint32_t* out) {
  alignas(8) unsigned char buf[sizeof(struct vfio_device_feature) + sizeof(struct vfio_device_feature_mig_state)];
  auto* f = reinterpret_cast<struct vfio_device_feature*>(buf);
  f->argsz = sizeof buf;
  f->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
  if (sys.ioctl(fd, VFIO_DEVICE_FEATURE, f) < 0) return -1;
  struct vfio_device_feature_mig_state state;
  std::memcpy(&state, f->data, sizeof state);
  *out = state.device_state;
  return 0;
}

__attribute__((noinline)) int base_config_read16(vfio::syscalls& sys, int fd, std::uint64_t config_offset,
                                                 std::uint16_t off, std::uint16_t* out) {
  std::uint16_t v;
  if (sys.pread(fd, &v, 2, static_cast<std::int64_t>(config_offset + off)) != 2) return -1;
  *out = v;
  return 0;
}

__attribute__((noinline)) int base_config_write16(vfio::syscalls& sys, int fd, std::uint64_t config_offset,
                                                  std::uint16_t off, std::uint16_t v) {
  return sys.pwrite(fd, &v, 2, static_cast<std::int64_t>(config_offset + off)) == 2 ? 0 : -1;
}

/// PM_CTRL: read PMCSR, write the new state, read it back (the library's
/// safety read, counted on both sides).
__attribute__((noinline)) int base_set_power_state(vfio::syscalls& sys, int fd, std::uint64_t config_offset,
                                                   std::uint16_t pmcsr_off, unsigned state) {
  const auto at = static_cast<std::int64_t>(config_offset + pmcsr_off);
  std::uint16_t v;
  if (sys.pread(fd, &v, 2, at) != 2) return -1;
  v = static_cast<std::uint16_t>((v & ~3u) | state);
  if (sys.pwrite(fd, &v, 2, at) != 2) return -1;
  if (sys.pread(fd, &v, 2, at) != 2) return -1;
  return (v & 3u) == state ? 0 : -1;
}

__attribute__((noinline)) int base_config_read32(vfio::syscalls& sys, int fd, std::uint64_t config_offset,
                                                 std::uint16_t off, std::uint32_t* out) {
  std::uint32_t v;
  if (sys.pread(fd, &v, 4, static_cast<std::int64_t>(config_offset + off)) != 4) return -1;
  *out = v;
  return 0;
}

__attribute__((noinline)) int base_power_state(vfio::syscalls& sys, int fd, std::uint64_t config_offset,
                                               std::uint16_t pmcsr_off, unsigned* out) {
  std::uint16_t v;
  if (sys.pread(fd, &v, 2, static_cast<std::int64_t>(config_offset + pmcsr_off)) != 2) return -1;
  *out = v & 3u;
  return 0;
}

__attribute__((noinline)) int base_disable_irq(vfio::syscalls& sys, int fd, unsigned index) {
  struct vfio_irq_set set;
  set.argsz = sizeof set;
  set.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
  set.index = index;
  set.start = 0;
  set.count = 0;
  return sys.ioctl(fd, VFIO_DEVICE_SET_IRQS, &set) < 0 ? -1 : 0;
}

__attribute__((noinline)) int base_set_irq_eventfd(vfio::syscalls& sys, int fd, unsigned index, int efd) {
  alignas(8) unsigned char buf[sizeof(struct vfio_irq_set) + sizeof(std::int32_t)];
  auto* set = reinterpret_cast<struct vfio_irq_set*>(buf);
  set->argsz = sizeof buf;
  set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
  set->index = index;
  set->start = 0;
  set->count = 1;
  std::memcpy(set->data, &efd, sizeof efd);
  return sys.ioctl(fd, VFIO_DEVICE_SET_IRQS, set) < 0 ? -1 : 0;
}

__attribute__((noinline)) int base_map_dma(vfio::syscalls& sys, int fd, void* va, std::uint64_t iova,
                                           std::uint64_t size) {
  struct vfio_iommu_type1_dma_map m;
  m.argsz = sizeof m;
  m.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  m.vaddr = reinterpret_cast<std::uintptr_t>(va);
  m.iova = iova;
  m.size = size;
  return sys.ioctl(fd, VFIO_IOMMU_MAP_DMA, &m) < 0 ? -1 : 0;
}

__attribute__((noinline)) long long base_unmap_dma(vfio::syscalls& sys, int fd, std::uint64_t iova,
                                                   std::uint64_t size) {
  struct vfio_iommu_type1_dma_unmap u;
  u.argsz = sizeof u;
  u.flags = 0;
  u.iova = iova;
  u.size = size;
  if (sys.ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &u) < 0) return -1;
  return static_cast<long long>(u.size);
}

/// suspend: LOW_POWER_ENTRY; resume: LOW_POWER_EXIT and a PMCSR read (the
/// library's safety read, counted on both sides).
__attribute__((noinline)) int base_suspend(vfio::syscalls& sys, int fd) {
  return base_feature_set(sys, fd, VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY);
}
__attribute__((noinline)) int base_resume(vfio::syscalls& sys, int fd, std::uint64_t config_offset,
                                          std::uint16_t pmcsr_off) {
  if (base_feature_set(sys, fd, VFIO_DEVICE_FEATURE_LOW_POWER_EXIT) < 0) return -1;
  std::uint16_t v;
  if (sys.pread(fd, &v, 2, static_cast<std::int64_t>(config_offset + pmcsr_off)) != 2) return -1;
  return (v & 3u) == 0 ? 0 : -1;
}

struct opened {
  vfio::container container;
  vfio::group group;
  vfio::device device;
};

opened open_through(vfio::syscalls& sys, const char* bdf) {
  auto c = vfio::container::open("/dev/vfio/vfio", sys);
  if (!c) die("container::open");
  auto g = vfio::group::open_for_device(bdf, sys);
  if (!g) die("group::open_for_device");
  if (!g->set_container(*c)) die("set_container");
  if (!c->set_best_iommu()) die("set_best_iommu");
  auto d = g->open_device(bdf);
  if (!d) die("open_device");
  return opened{std::move(*c), std::move(*g), std::move(*d)};
}

int check(bool ok, const char* what) {
  if (!ok) die(what);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 1000;
  if (iterations <= 0) die("usage: instructions [ITERATIONS]");
  toggling = std::getenv("VFIO_BENCH_PROFILE") == nullptr;
  if (!RUNNING_ON_VALGRIND)
    std::fprintf(stderr, "instructions: not under callgrind; run tests/bench/instructions.sh for the counts\n");

  sim::kernel_options options;
  options.user_memory = [](std::uint64_t, std::uint64_t, bool) { return 0; };
  options.trace_capacity = 16;
  vfio::testing::simulated_kernel k(options);
  if (!k.add_device(sim::profiles::e1000e())) die("add e1000e");
  if (!k.add_device(sim::profiles::mtty("0000:00:08.0", 20))) die("add mtty");
  excluded_seam sys(k);
  opened o = open_through(sys, "0000:00:03.0");
  opened m = open_through(sys, "0000:00:08.0");
  vfio::device& dev = o.device;
  vfio::pci::config cfg(dev);
  vfio::pci::power pm(dev);

  // Warm what both sides keep: the config region's offset, the PM capability,
  // the dialect. The baseline keeps the offset in a variable.
  auto region = dev.region(VFIO_PCI_CONFIG_REGION_INDEX);
  if (!region) die("config region");
  const std::uint64_t config_offset = (*region)->offset;
  auto cap = pm.capability();
  if (!cap) die("PM capability");
  const auto pmcsr = static_cast<std::uint16_t>(cap->offset + 4);
  check(static_cast<bool>(pm.detect_dialect()), "dialect");
  const int fd = dev.fd();
  const int cfd = o.container.fd();
  const int mfd = m.device.fd();
  const int efd = sys.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);  // the model's eventfd
  if (efd < 0) die("eventfd");
  const int efds[1] = {efd};
  const std::size_t dma_size = 2 * 4096;
  void* mem = ::mmap(nullptr, dma_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) die("mmap");

  using vfio::feature::direction;
  namespace feature = vfio::feature;
  std::uint16_t v16 = 0;
  std::uint32_t v32 = 0;

  measure("lib feature_probe", [&] {
    for (int i = 0; i < iterations; ++i)
      check(static_cast<bool>(feature::probe(dev, VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, direction::set)), "probe");
  });
  measure("base feature_probe", [&] {
    for (int i = 0; i < iterations; ++i)
      check(base_feature_probe(sys, fd, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY) == 0, "probe");
  });

  measure("lib feature_get", [&] {
    for (int i = 0; i < iterations; ++i)
      check(static_cast<bool>(feature::get<feature::mig_device_state>(m.device)), "get");
  });
  measure("base feature_get", [&] {
    for (int i = 0; i < iterations; ++i) check(base_feature_get_mig_state(sys, mfd, &v32) == 0, "get");
  });

  measure("lib config_read16", [&] {
    for (int i = 0; i < iterations; ++i) check(static_cast<bool>(cfg.read16(PCI_COMMAND)), "read16");
  });
  measure("base config_read16", [&] {
    for (int i = 0; i < iterations; ++i)
      check(base_config_read16(sys, fd, config_offset, PCI_COMMAND, &v16) == 0, "read16");
  });

  measure("lib config_write16", [&] {
    for (int i = 0; i < iterations; ++i) check(static_cast<bool>(cfg.write16(PCI_COMMAND, 0x0006)), "write16");
  });
  measure("base config_write16", [&] {
    for (int i = 0; i < iterations; ++i)
      check(base_config_write16(sys, fd, config_offset, PCI_COMMAND, 0x0006) == 0, "write16");
  });

  // Registers the library does not track: the identification dword, and
  // Interrupt Line (writable, virtualized by vfio-pci).
  measure("lib config_read32_untracked", [&] {
    for (int i = 0; i < iterations; ++i) check(static_cast<bool>(cfg.read32(PCI_VENDOR_ID)), "read32");
  });
  measure("base config_read32_untracked", [&] {
    for (int i = 0; i < iterations; ++i)
      check(base_config_read32(sys, fd, config_offset, PCI_VENDOR_ID, &v32) == 0, "read32");
  });

  measure("lib config_write16_untracked", [&] {
    for (int i = 0; i < iterations; ++i) check(static_cast<bool>(cfg.write16(PCI_INTERRUPT_LINE, 0x010b)), "write16");
  });
  measure("base config_write16_untracked", [&] {
    for (int i = 0; i < iterations; ++i)
      check(base_config_write16(sys, fd, config_offset, PCI_INTERRUPT_LINE, 0x010b) == 0, "write16");
  });

  unsigned state = 0;
  measure("lib power_state", [&] {
    for (int i = 0; i < iterations; ++i) check(static_cast<bool>(pm.power_state()), "power_state");
  });
  measure("base power_state", [&] {
    for (int i = 0; i < iterations; ++i) check(base_power_state(sys, fd, config_offset, pmcsr, &state) == 0, "state");
  });

  // LOW_POWER_EXIT with low power not engaged: the kernel answers 0.
  measure("lib feature_set", [&] {
    for (int i = 0; i < iterations; ++i) check(static_cast<bool>(feature::set<feature::low_power_exit>(dev)), "set");
  });
  measure("base feature_set", [&] {
    for (int i = 0; i < iterations; ++i)
      check(base_feature_set(sys, fd, VFIO_DEVICE_FEATURE_LOW_POWER_EXIT) == 0, "set");
  });

  measure("lib pm_ctrl_transition", [&] {
    for (int i = 0; i < iterations; ++i) {
      check(static_cast<bool>(pm.set_power_state(vfio::pci::d_state::d3hot)), "D3hot");
      check(static_cast<bool>(pm.set_power_state(vfio::pci::d_state::d0)), "D0");
    }
  });
  measure("base pm_ctrl_transition", [&] {
    for (int i = 0; i < iterations; ++i) {
      check(base_set_power_state(sys, fd, config_offset, pmcsr, 3) == 0, "D3hot");
      check(base_set_power_state(sys, fd, config_offset, pmcsr, 0) == 0, "D0");
    }
  });

  measure("lib set_irq_eventfds", [&] {
    for (int i = 0; i < iterations; ++i)
      check(static_cast<bool>(dev.set_irq_eventfds(VFIO_PCI_MSIX_IRQ_INDEX, 0, vfio::span<const int>(efds, 1))),
            "set_irq_eventfds");
  });
  measure("base set_irq_eventfds", [&] {
    for (int i = 0; i < iterations; ++i)
      check(base_set_irq_eventfd(sys, fd, VFIO_PCI_MSIX_IRQ_INDEX, efd) == 0, "set_irq_eventfds");
  });

  measure("lib irq_set_disable", [&] {
    for (int i = 0; i < iterations; ++i) {
      check(static_cast<bool>(dev.set_irq_eventfds(VFIO_PCI_MSIX_IRQ_INDEX, 0, vfio::span<const int>(efds, 1))),
            "set_irq_eventfds");
      check(static_cast<bool>(dev.disable_irq(VFIO_PCI_MSIX_IRQ_INDEX)), "disable_irq");
    }
  });
  measure("base irq_set_disable", [&] {
    for (int i = 0; i < iterations; ++i) {
      check(base_set_irq_eventfd(sys, fd, VFIO_PCI_MSIX_IRQ_INDEX, efd) == 0, "set_irq_eventfds");
      check(base_disable_irq(sys, fd, VFIO_PCI_MSIX_IRQ_INDEX) == 0, "disable_irq");
    }
  });

  measure("lib dma_map_unmap", [&] {
    for (int i = 0; i < iterations; ++i) {
      check(static_cast<bool>(o.container.map_dma(mem, 0x100000, dma_size)), "map_dma");
      check(static_cast<bool>(o.container.unmap_dma(0x100000, dma_size)), "unmap_dma");
    }
  });
  measure("base dma_map_unmap", [&] {
    for (int i = 0; i < iterations; ++i) {
      check(base_map_dma(sys, cfd, mem, 0x100000, dma_size) == 0, "map_dma");
      check(base_unmap_dma(sys, cfd, 0x100000, dma_size) == static_cast<long long>(dma_size), "unmap_dma");
    }
  });

  // Suspend and resume alternate with the model's runtime PM settling, which
  // runs with collection off.
  measure("lib suspend_resume", [&] {
    for (int i = 0; i < iterations; ++i) {
      check(static_cast<bool>(pm.suspend()), "suspend");
      excluded_seam::outside([&] { return (k.settle(), 0); });
      check(static_cast<bool>(pm.resume()), "resume");
    }
  });
  measure("base suspend_resume", [&] {
    for (int i = 0; i < iterations; ++i) {
      check(base_suspend(sys, fd) == 0, "suspend");
      excluded_seam::outside([&] { return (k.settle(), 0); });
      check(base_resume(sys, fd, config_offset, pmcsr) == 0, "resume");
    }
  });

  ::munmap(mem, dma_size);
  sys.close(efd);
  std::printf("instructions: %d iterations of each operation done\n", iterations);
  return 0;
}
