// Live migration of a device's state in a page: the source goes RUNNING ->
// PRE_COPY, streams its initial data while it still runs, then STOP_COPY streams
// the rest; the destination goes to RESUMING, takes the stream, and runs.
// The device DMA log says which guest pages the device wrote meanwhile.
// Without arguments it runs against the simulated VFIO kernel (two mtty-like
// serial devices, 0000:00:07.0 -> 0000:00:08.0); `migrate SRC DST` drives two
// real devices bound to vfio-pci whose driver supports migration (root).
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/dirty_bitmap.hpp>
#include <vfio/dma_logging.hpp>
#include <vfio/group.hpp>
#include <vfio/migration.hpp>
#include <vfio/span.hpp>
#include <vfio/syscalls.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include <cinttypes>
#include <cstdio>
#include <utility>
#include <vector>

namespace {

struct assigned {  // what keeps a device open
  vfio::container container;
  vfio::group group;
  vfio::device device;
};

vfio::result<assigned> assign(const char* bdf, vfio::syscalls& sys) {
  assigned a;
  auto c = vfio::container::open("/dev/vfio/vfio", sys);
  if (!c) return c.error();
  a.container = std::move(*c);
  auto g = vfio::group::open_for_device(bdf, sys);
  if (!g) return g.error();
  a.group = std::move(*g);
  if (auto r = a.group.set_container(a.container); !r) return r.error();
  if (auto r = a.container.set_best_iommu(); !r) return r.error();
  auto d = a.group.open_device(bdf);
  if (!d) return d.error();
  a.device = std::move(*d);
  return a;
}

vfio::result<void> migrate(const char* from, const char* to, vfio::syscalls& sys,
                           vfio::testing::simulated_kernel* sim) {
  auto src = assign(from, sys);
  if (!src) return src.error();
  auto dst = assign(to, sys);
  if (!dst) return dst.error();
  auto out = vfio::migration::open(src->device);
  if (!out) return out.error();
  auto in = vfio::migration::open(dst->device);
  if (!in) return in.error();

  // Track the device's own DMA into the guest's first 2 MiB while it runs.
  const vfio::dma_logging::range guest[] = {{0, 2 << 20}};
  auto page = vfio::dma_logging::start(src->device, guest, 4096);
  if (sim && page) sim->device_dma_write(from, 0x5000, 0x1800);  // the simulated device writes

  std::vector<std::byte> stream(64 * 1024);
  std::size_t used = 0;
  const auto pull = [&]() -> vfio::result<vfio::stream_transfer> {
    auto got = out->read(vfio::span<std::byte>(stream.data() + used, stream.size() - used));
    if (got) used += static_cast<std::size_t>(got->bytes);
    return got;
  };
  if (out->caps().pre_copy()) {
    if (auto r = out->set_state(vfio::mig_state::pre_copy); !r) return r;
    for (int round = 0; round < 8; ++round) {  // pre-copy while the device runs
      auto left = out->precopy_info();
      if (!left) return left.error();
      std::printf("pre-copy round %d: initial %" PRIu64 " dirty %" PRIu64 " bytes\n", round, left->initial_bytes,
                  left->dirty_bytes);
      if (left->total() == 0) break;
      if (auto got = pull(); !got) return got.error();
    }
  }
  auto estimate = out->stop_copy_size();
  vfio::mig_transition t;
  if (auto r = out->set_state(vfio::mig_state::stop_copy, &t); !r) {
    std::printf("stuck in %s after %s -> %s\n", vfio::to_string(t.now), vfio::to_string(t.failed_from),
                vfio::to_string(t.failed_to));
    return r;
  }
  for (;;) {
    auto got = pull();
    if (!got) return got.error();
    if (got->end == vfio::stream_end::end_of_stream) break;
  }
  std::printf("stop-copy: %zu bytes in all (estimate %" PRIu64 ")\n", used, estimate ? *estimate : 0);
  if (page) {
    auto dirty = vfio::dirty_bitmap::create(0, 2 << 20, *page);
    if (dirty && vfio::dma_logging::report(src->device, *dirty)) {
      dirty->for_each_dirty_range([](std::uint64_t iova, std::uint64_t size) {
        std::printf("device wrote guest pages 0x%" PRIx64 "+0x%" PRIx64 "\n", iova, size);
      });
    }
    (void)vfio::dma_logging::stop(src->device);
  }
  if (auto r = out->set_state(vfio::mig_state::stop); !r) return r;

  if (auto r = in->set_state(vfio::mig_state::resuming); !r) return r;
  if (auto r = in->write(vfio::span<const std::byte>(stream.data(), used)); !r) return r;
  if (auto r = in->set_state(vfio::mig_state::running); !r) return r;
  std::printf("%s -> %s: destination %s, source %s\n", from, to, vfio::to_string(in->state()),
              vfio::to_string(out->state()));
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  vfio::testing::simulated_kernel sim;
  vfio::syscalls* sys = &sim;
  const char* from = "0000:00:07.0";
  const char* to = "0000:00:08.0";
  if (argc > 2) {
    from = argv[1];
    to = argv[2];
    sys = &vfio::default_syscalls();
  } else if (!sim.add_device(vfio::testing::sim::profiles::mtty(from, 10)) ||
             !sim.add_device(vfio::testing::sim::profiles::mtty(to, 11))) {
    return 1;
  }
  auto r = migrate(from, to, *sys, sys == &sim ? &sim : nullptr);
  if (!r) std::fprintf(stderr, "%s\n", r.error().message().c_str());
  return r ? 0 : 1;
}
