// /dev/iommu and VFIO device cdevs in the simulated kernel, driven through the library
// (vfio::iommufd, vfio::cdev) and, where the library cannot send a malformed call, the
// raw seam: availability by option and release, the bind / attach / detach rules of
// drivers/vfio/device_cdev.c, the IOAS and HWPT ioctls of drivers/iommu/iommufd/, the
// exclusion between the group and cdev paths, hot reset by devid, and DMA through the
// attached IOAS.
#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <vfio/cdev.hpp>
#include <vfio/feature.hpp>
#include <vfio/group.hpp>
#include <vfio/iommufd.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include "../catch.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_simulated_kernel_iommufd {

namespace {

using namespace sim_test;
namespace ia = vfio::abi::iommufd;
using vfio::iommufd;

constexpr std::uint32_t RW = ia::map_flags::readable | ia::map_flags::writeable;

int err(const vfio::error& e) { return e.code().value(); }

sim::kernel_options project(bool dirty = false) {
  sim::kernel_options o = sim::kernel_options::project_kernel();
  o.user_memory = [](std::uint64_t, std::uint64_t, bool) { return 0; };  // every address pins
  o.iommu_dirty_tracking = dirty;
  return o;
}

/// A bound, attached cdev device on the project's kernel, through the library.
struct cdev_stack {
  simulated_kernel k;
  iommufd ictx;
  vfio::cdev_device d;
  vfio::ioas space;
  std::uint32_t hwpt = 0;
  explicit cdev_stack(sim::kernel_options o = project(), const char* bdf = e1000e_bdf) : k(std::move(o)) {
    add_qemu_machine(k);
    auto fd = iommufd::open(iommufd::default_path, k);
    REQUIRE(fd.has_value());
    ictx = std::move(*fd);
    auto bound = vfio::cdev::open_device(bdf, ictx);
    REQUIRE(bound.has_value());
    d = std::move(*bound);
    auto a = ictx.ioas_alloc();
    REQUIRE(a.has_value());
    space = std::move(*a);
    auto h = vfio::cdev::attach(d.dev, space.id());
    REQUIRE(h.has_value());
    hwpt = h->value;
  }
};

int raw_ioctl(simulated_kernel& k, int fd, unsigned long req, void* arg) { return k.ioctl(fd, req, arg); }

int bind_raw(simulated_kernel& k, int dev, int ictx, std::uint32_t argsz = 24, std::uint32_t flags = 0,
             std::uint32_t* devid = nullptr) {
  abi::device_bind_iommufd b{};
  b.argsz = argsz;
  b.flags = flags;
  b.iommufd = ictx;
  const int r = k.ioctl(dev, abi::req::device_bind_iommufd, &b);
  if (devid) *devid = b.out_devid;
  return r;
}
int attach_raw(simulated_kernel& k, int dev, std::uint32_t pt, std::uint32_t* out = nullptr, std::uint32_t argsz = 16,
               std::uint32_t flags = 0) {
  abi::device_attach_iommufd_pt a{};
  a.argsz = argsz;
  a.flags = flags;
  a.pt_id = pt;
  const int r = k.ioctl(dev, abi::req::device_attach_iommufd_pt, &a);
  if (out) *out = a.pt_id;
  return r;
}

}  // namespace

// --- availability ------------------------------------------------------------------------

TEST_CASE("simulated iommufd: off by default and below v6.2, on with the project kernel's options",
          "[simulated_kernel][iommufd]") {
  {
    simulated_kernel k;  // Debian's 6.12: no CONFIG_IOMMUFD, no CONFIG_VFIO_DEVICE_CDEV
    add_qemu_machine(k);
    auto fd = iommufd::open(iommufd::default_path, k);
    REQUIRE_FALSE(fd.has_value());
    CHECK(err(fd.error()) == ENOENT);
    CHECK(k.access("/dev/iommu", R_OK | W_OK) == -ENOENT);
    CHECK(k.open("/dev/vfio/devices/vfio0", O_RDWR, 0) == -ENOENT);
    const auto number = vfio::cdev::number_of(*vfio::host::parse_pci_address(e1000e_bdf), k);
    REQUIRE_FALSE(number.has_value());
    CHECK(err(number.error()) == ENOENT);
  }
  {
    sim::kernel_options o = project();
    o.version = sim::kernel_version::v6_1;  // iommufd arrived in v6.2, cdevs in v6.6
    CHECK_FALSE(o.has_iommufd());
    CHECK_FALSE(o.has_device_cdev());
    simulated_kernel k(o);
    add_qemu_machine(k);
    CHECK(k.open("/dev/iommu", O_RDWR, 0) == -ENOENT);
    CHECK(k.open("/dev/vfio/devices/vfio0", O_RDWR, 0) == -ENOENT);
  }
  {
    sim::kernel_options o = project();
    o.device_cdev = true;
    o.iommufd = false;  // VFIO_DEVICE_CDEV depends on IOMMUFD
    CHECK_FALSE(o.has_device_cdev());
  }
  simulated_kernel k(project());
  add_qemu_machine(k);
  CHECK(k.access("/dev/iommu", R_OK | W_OK) == 0);
  // vfio-dev/vfioN in the order vfio-pci probed the devices (ida: lowest free index).
  const auto n3 = vfio::cdev::number_of(*vfio::host::parse_pci_address(e1000e_bdf), k);
  const auto n5 = vfio::cdev::number_of(*vfio::host::parse_pci_address(nvme_bdf), k);
  REQUIRE(n3.has_value());
  REQUIRE(n5.has_value());
  CHECK(*n3 != *n5);
  CHECK(k.access(vfio::cdev::node_path_of(*n3).text, R_OK | W_OK) == 0);
  CHECK(k.open("/dev/vfio/devices/vfio99", O_RDWR, 0) == -ENOENT);
  // /dev/iommu is root's 0660, the cdev nodes root's 0600.
  sim::kernel_options user = project();
  user.host.uid = 1000;
  user.host.gids = {1000};
  simulated_kernel ku(user);
  add_qemu_machine(ku);
  CHECK(ku.open("/dev/iommu", O_RDWR, 0) == -EACCES);
  CHECK(ku.open("/dev/vfio/devices/vfio0", O_RDWR, 0) == -EACCES);
}

// --- the happy path -----------------------------------------------------------------------

TEST_CASE("simulated iommufd: bind, IOAS, attach, map; the cdev-opened device works as a group-opened one",
          "[simulated_kernel][iommufd]") {
  cdev_stack s;
  simulated_kernel& k = s.k;
  CHECK(s.d.devid.value == 1);  // the first object of the iommufd
  CHECK(s.space.id().value == 2);
  CHECK(s.hwpt == 3);  // the automatic domain the attach made
  CHECK(k.attached_hwpt(e1000e_bdf) == 3);
  CHECK(k.open_count(e1000e_bdf) == 1);
  CHECK(k.iommufd_objects(s.ictx.fd()) == 3);

  // The domain narrows the IOAS: the aperture and the MSI window go, 4K alignment.
  auto ranges = s.ictx.iova_ranges(s.space.id());
  REQUIRE(ranges.has_value());
  REQUIRE(ranges->ranges.size() == 2);
  CHECK(ranges->ranges[0].start == 0);
  CHECK(ranges->ranges[0].end == 0xfedfffffULL);
  CHECK(ranges->ranges[1].start == 0xfef00000ULL);
  CHECK(ranges->ranges[1].end == 0x7fffffffffULL);
  CHECK(ranges->alignment == 0x1000);

  pages mem(0x4000);
  REQUIRE(mem.p != MAP_FAILED);
  auto at = s.ictx.map_fixed(s.space.id(), 0x100000, mem.p, 0x2000);
  REQUIRE(at.has_value());
  CHECK(*at == 0x100000);
  auto picked = s.ictx.map(s.space.id(), static_cast<char*>(mem.p) + 0x2000, 0x2000);
  REQUIRE(picked.has_value());
  CHECK(*picked != 0);
  CHECK(*picked % 0x1000 == 0);
  const auto maps = k.ioas_mappings(s.ictx.fd(), s.space.id().value);
  REQUIRE(maps.size() == 2);
  CHECK(maps[0].iova == std::min<std::uint64_t>(0x100000, *picked));
  CHECK(k.device_dma(e1000e_bdf, 0x100000, 0x2000, true));
  CHECK_FALSE(k.device_dma(e1000e_bdf, 0x0ff000, 0x2000, false));  // starts below the mapping
  CHECK_FALSE(k.device_dma(e1000e_bdf, 0x80000000, 0x1000, false));

  // The device model answers as for a group-opened device.
  vfio::device& dev = s.d.dev;
  auto info = dev.info();
  REQUIRE(info.has_value());
  CHECK(info->is_pci());
  CHECK(info->num_regions >= 9);
  auto bar0 = dev.region(0);
  REQUIRE(bar0.has_value());
  CHECK((*bar0)->size > 0);
  auto msi = dev.irq(abi::pci_irq::msi);
  REQUIRE(msi.has_value());
  std::uint16_t vendor = 0;
  REQUIRE(dev.read(abi::pci_region::config, 0, &vendor, 2).has_value());
  CHECK(vendor == 0x8086);
  REQUIRE(vfio::feature::set<vfio::feature::low_power_entry>(dev).has_value());
  k.settle();
  CHECK(k.low_power_engaged(e1000e_bdf));
  CHECK(k.runtime_status(e1000e_bdf) == "suspended");
  REQUIRE(vfio::feature::set<vfio::feature::low_power_exit>(dev).has_value());
  CHECK_FALSE(k.low_power_engaged(e1000e_bdf));

  auto gone = s.ictx.unmap_all(s.space.id());
  REQUIRE(gone.has_value());
  CHECK(*gone == 0x4000);
  CHECK_FALSE(k.device_dma(e1000e_bdf, 0x100000, 0x1000, false));

  // Closing the device unbinds it: the automatic domain and the device object go.
  REQUIRE(dev.close().has_value());
  CHECK(k.open_count(e1000e_bdf) == 0);
  CHECK(k.iommufd_objects(s.ictx.fd()) == 1);  // the IOAS alone
  REQUIRE(s.space.destroy().has_value());
  CHECK(k.iommufd_objects(s.ictx.fd()) == 0);
  // Now the group node opens again.
  const int g = k.open("/dev/vfio/3", O_RDWR, 0);
  CHECK(g >= 1000);
  k.close(g);
}

// --- the cdev rules --------------------------------------------------------------------------

TEST_CASE("simulated cdev: nothing but BIND before the bind; bind's errnos", "[simulated_kernel][iommufd]") {
  simulated_kernel k(project());
  add_qemu_machine(k);
  const int ictx = k.open("/dev/iommu", O_RDWR, 0);
  const int container = k.open("/dev/vfio/vfio", O_RDWR, 0);
  const int dev = k.open("/dev/vfio/devices/vfio0", O_RDWR, 0);
  REQUIRE(ictx >= 1000);
  REQUIRE(dev >= 1000);
  abi::device_info di{};
  di.argsz = sizeof di;
  CHECK(raw_ioctl(k, dev, abi::req::device_get_info, &di) == -EINVAL);  // vfio_device_fops_unl_ioctl
  CHECK(attach_raw(k, dev, 1) == -EINVAL);
  std::uint32_t word = 0;
  CHECK(k.pread(dev, &word, 4, cfg) == -EINVAL);
  CHECK(k.pwrite(dev, &word, 4, cfg) == -EINVAL);
  void* addr = nullptr;
  CHECK(k.mmap(&addr, 0x1000, PROT_READ, MAP_SHARED, dev, 0) == -EINVAL);
  CHECK(k.open_count(e1000e_bdf) == 0);

  CHECK(bind_raw(k, dev, ictx, 12) == -EINVAL);                          // argsz below 16
  CHECK(bind_raw(k, dev, ictx, 24, abi::bind_flags::token) == -EINVAL);  // 6.12: flags must be 0
  CHECK(bind_raw(k, dev, -1) == -EINVAL);                                // bind.iommufd < 0
  CHECK(bind_raw(k, dev, 4321) == -EBADF);                               // iommufd_ctx_from_fd: fget
  CHECK(bind_raw(k, dev, container) == -EBADFD);                         // not an iommufd
  CHECK(k.ioctl(dev, abi::req::device_bind_iommufd, nullptr) == -EFAULT);
  std::uint32_t devid = 0;
  REQUIRE(bind_raw(k, dev, ictx, 24, 0, &devid) == 0);
  CHECK(devid == 1);
  CHECK(bind_raw(k, dev, ictx) == -EINVAL);  // "one device cannot be bound twice"
  CHECK(raw_ioctl(k, dev, abi::req::device_get_info, &di) == 0);
  CHECK(k.pread(dev, &word, 4, cfg) == 4);

  // A second cdev of the same device opens, but cannot bind (vfio_df_open).
  const int dev2 = k.open("/dev/vfio/devices/vfio0", O_RDWR, 0);
  REQUIRE(dev2 >= 1000);
  CHECK(bind_raw(k, dev2, ictx) == -EINVAL);
  // The group node is blocked while a device of the group is bound.
  CHECK(k.open("/dev/vfio/3", O_RDWR, 0) == -EBUSY);
  // Destroying the device object is refused: vfio holds it.
  abi::iommufd::destroy d{sizeof d, devid};
  CHECK(raw_ioctl(k, ictx, ia::req::destroy, &d) == -EBUSY);
  k.close(dev2);
  // Closing the iommufd keeps the context alive for the bound device.
  k.close(ictx);
  CHECK(raw_ioctl(k, dev, abi::req::device_get_info, &di) == 0);
  k.close(dev);
  CHECK(k.open_count(e1000e_bdf) == 0);
  const int g = k.open("/dev/vfio/3", O_RDWR, 0);
  CHECK(g >= 1000);
  k.close(g);
  k.close(container);
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated cdev: the group path and the cdev path exclude each other", "[simulated_kernel][iommufd]") {
  simulated_kernel k(project());
  add_qemu_machine(k);
  auto ictx = iommufd::open(iommufd::default_path, k);
  REQUIRE(ictx.has_value());
  {
    // An open group node blocks the bind (vfio_device_block_group), device file or not.
    auto g = vfio::group::open(3, k);
    REQUIRE(g.has_value());
    auto bound = vfio::cdev::open_device(e1000e_bdf, *ictx);
    REQUIRE_FALSE(bound.has_value());
    CHECK(err(bound.error()) == EBUSY);
    CHECK(k.open_descriptors() == 2);  // the failed cdev was closed
  }
  {
    stack st(k, 3, e1000e_bdf);  // the whole group path, device open
    REQUIRE(st.ok());
    const int dev = k.open("/dev/vfio/devices/vfio0", O_RDWR, 0);
    REQUIRE(dev >= 1000);
    CHECK(bind_raw(k, dev, ictx->fd()) == -EBUSY);
    // The group-opened device refuses BIND (df->group) and ATTACH (not a cdev ioctl).
    CHECK(bind_raw(k, st.device, ictx->fd()) == -EINVAL);
    CHECK(attach_raw(k, st.device, 1) == -ENOTTY);
    k.close(dev);
  }
  auto bound = vfio::cdev::open_device(e1000e_bdf, *ictx);
  REQUIRE(bound.has_value());
  auto g = vfio::group::open(3, k);
  REQUIRE_FALSE(g.has_value());
  CHECK(err(g.error()) == EBUSY);
  CHECK(g.error().about() == vfio::subject::group_node(3));
}

TEST_CASE("simulated cdev: DMA ownership of the group (iommu_device_claim_dma_owner)", "[simulated_kernel][iommufd]") {
  simulated_kernel k(project());
  // Group 9: two functions on vfio-pci; group 10: one on vfio-pci, one on its native driver.
  auto a = sim::profiles::e1000e();
  a.bdf = "0000:00:08.0";
  a.iommu_group = 9;
  auto b = sim::profiles::e1000e();
  b.bdf = "0000:00:09.0";
  b.iommu_group = 9;
  auto c = sim::profiles::e1000e();
  c.bdf = "0000:00:0a.0";
  c.iommu_group = 10;
  auto n = sim::profiles::nvme();
  n.bdf = "0000:00:0b.0";
  n.iommu_group = 10;
  n.driver = "nvme";
  REQUIRE(k.add_device(a).has_value());
  REQUIRE(k.add_device(b).has_value());
  REQUIRE(k.add_device(c).has_value());
  REQUIRE(k.add_device(n).has_value());
  auto one = iommufd::open(iommufd::default_path, k);
  auto two = iommufd::open(iommufd::default_path, k);
  REQUIRE(one.has_value());
  REQUIRE(two.has_value());
  auto da = vfio::cdev::open_device("0000:00:08.0", *one);
  REQUIRE(da.has_value());
  // The other function of group 9 cannot go to another iommufd ...
  auto db = vfio::cdev::open_device("0000:00:09.0", *two);
  REQUIRE_FALSE(db.has_value());
  CHECK(err(db.error()) == EPERM);
  // ... but joins the same one, and shares its group's domain.
  auto db1 = vfio::cdev::open_device("0000:00:09.0", *one);
  REQUIRE(db1.has_value());
  auto space = one->ioas_alloc();
  auto other = one->ioas_alloc();
  REQUIRE(space.has_value());
  REQUIRE(other.has_value());
  auto ha = vfio::cdev::attach(da->dev, space->id());
  REQUIRE(ha.has_value());
  auto hb = vfio::cdev::attach(db1->dev, space->id());
  REQUIRE(hb.has_value());
  CHECK(hb->value == ha->value);  // the group follows one HWPT
  // A member cannot go to another page table while the group is attached
  // (iommufd_hw_pagetable_attach: -EINVAL; the IOAS path then makes and drops a domain).
  auto elsewhere = vfio::cdev::detach(db1->dev);
  REQUIRE(elsewhere.has_value());
  auto moved = vfio::cdev::attach(db1->dev, other->id());
  REQUIRE_FALSE(moved.has_value());
  CHECK(err(moved.error()) == EINVAL);
  // Group 10 holds a function on a kernel driver (a DMA API user): not claimable.
  auto dc = vfio::cdev::open_device("0000:00:0a.0", *one);
  REQUIRE_FALSE(dc.has_value());
  CHECK(err(dc.error()) == EPERM);
  CHECK(k.attached_hwpt("0000:00:09.0") == 0);
  CHECK(k.attached_hwpt("0000:00:08.0") == ha->value);
}

TEST_CASE("simulated cdev: ATTACH / DETACH and replace", "[simulated_kernel][iommufd]") {
  cdev_stack s;
  simulated_kernel& k = s.k;
  const int dev = s.d.dev.fd();
  CHECK(attach_raw(k, dev, 77) == -ENOENT);                                  // iommufd_get_object
  CHECK(attach_raw(k, dev, s.d.devid.value) == -EINVAL);                     // a device is no page table
  CHECK(attach_raw(k, dev, s.space.id().value, nullptr, 8) == -EINVAL);      // argsz below 12
  CHECK(attach_raw(k, dev, s.space.id().value, nullptr, 16, 1) == -EINVAL);  // 6.12: flags 0
  // Attaching the same IOAS again finds the same automatic domain.
  std::uint32_t pt = 0;
  REQUIRE(attach_raw(k, dev, s.space.id().value, &pt) == 0);
  CHECK(pt == s.hwpt);
  // The IOAS and its automatic HWPT are in use.
  CHECK(err(s.ictx.destroy(s.space.id()).error()) == EBUSY);
  CHECK(err(s.ictx.destroy(vfio::hwpt_id{s.hwpt}).error()) == EBUSY);
  // Replace onto a second IOAS: a new automatic domain, the old one destroyed.
  auto second = s.ictx.ioas_alloc();
  REQUIRE(second.has_value());
  REQUIRE(attach_raw(k, dev, second->id().value, &pt) == 0);
  CHECK(pt != s.hwpt);
  CHECK(k.attached_hwpt(e1000e_bdf) == pt);
  CHECK(err(s.ictx.destroy(vfio::hwpt_id{s.hwpt}).error()) == ENOENT);
  REQUIRE(s.space.destroy().has_value());  // nothing holds the first IOAS any more
  // Detach blocks DMA; detaching again does nothing.
  REQUIRE(vfio::cdev::detach(s.d.dev).has_value());
  REQUIRE(vfio::cdev::detach(s.d.dev).has_value());
  CHECK(k.attached_hwpt(e1000e_bdf) == 0);
  abi::device_detach_iommufd_pt d{4, 0, 0};
  CHECK(raw_ioctl(k, dev, abi::req::device_detach_iommufd_pt, &d) == -EINVAL);  // argsz below 8
  REQUIRE(second->destroy().has_value());
}

// --- IOAS ioctls -----------------------------------------------------------------------------

TEST_CASE("simulated iommufd: IOAS_MAP errnos (ioas.c, io_pagetable.c)", "[simulated_kernel][iommufd]") {
  cdev_stack s;
  pages mem(0x4000);
  REQUIRE(mem.p != MAP_FAILED);
  const auto id = s.space.id();
  REQUIRE(s.ictx.map_fixed(id, 0x200000, mem.p, 0x2000).has_value());
  CHECK(err(s.ictx.map_fixed(id, 0x201000, mem.p, 0x2000).error()) == EEXIST);             // iopt_check_iova
  CHECK(err(s.ictx.map_fixed(id, 0x300800, mem.p, 0x1000).error()) == EINVAL);             // IOVA below the alignment
  CHECK(err(s.ictx.map_fixed(id, 0x300000, mem.p, 0x800).error()) == EINVAL);              // length below it
  CHECK(err(s.ictx.map_fixed(id, 0x300000, mem.va() + 0x10, 0x1000).error()) == EINVAL);   // page offset
  CHECK(err(s.ictx.map_fixed(id, 0xfee00000ULL, mem.p, 0x1000).error()) == EINVAL);        // the MSI window
  CHECK(err(s.ictx.map_fixed(id, 0x8000000000ULL, mem.p, 0x1000).error()) == EINVAL);      // past the aperture
  CHECK(err(s.ictx.map_fixed(id, 0x300000, mem.p, 0x1000, 0).error()) == EINVAL);          // neither R nor W
  CHECK(err(s.ictx.map_fixed(id, 0x300000, mem.p, 0).error()) == EINVAL);                  // length 0
  CHECK(err(s.ictx.map_fixed(id, ~0ULL, mem.p, 0x1000).error()) == EOVERFLOW);             // iova >= ULONG_MAX
  CHECK(err(s.ictx.map_fixed(id, 0x300000, ~0ULL - 0xfff, 0x2000).error()) == EOVERFLOW);  // user_va wraps
  CHECK(err(s.ictx.map_fixed(vfio::ioas_id{99}, 0x300000, mem.p, 0x1000).error()) == ENOENT);
  CHECK(err(s.ictx.map_fixed(vfio::ioas_id{s.hwpt}, 0x300000, mem.p, 0x1000).error()) == ENOENT);  // not an IOAS
  CHECK(err(s.ictx.map_fixed(id, 0x300000, mem.p, 0x1000, RW | 0x100).error()) == EOPNOTSUPP);
  // The size is read as the kernel does: a short struct, trailing garbage.
  ia::ioas_map m{};
  m.size = 32;
  CHECK(s.k.ioctl(s.ictx.fd(), ia::req::ioas_map, &m) == -EINVAL);
  struct {
    ia::ioas_map m;
    std::uint64_t extra;
  } big{};
  big.m.size = sizeof big;
  big.m.flags = RW;
  big.m.ioas_id = id.value;
  big.m.user_va = mem.va();
  big.m.length = 0x1000;
  big.m.iova = 0x400000;
  big.m.flags |= ia::map_flags::fixed_iova;
  big.extra = 1;
  CHECK(s.k.ioctl(s.ictx.fd(), ia::req::ioas_map, &big) == -E2BIG);
  big.extra = 0;
  CHECK(s.k.ioctl(s.ictx.fd(), ia::req::ioas_map, &big) == 0);
  // Numbers past the table fall to the VFIO compatibility ioctls.
  CHECK(s.k.ioctl_value(s.ictx.fd(), abi::req::get_api_version, 0) == abi::api_version);
}

TEST_CASE("simulated iommufd: pinning fails the map with a domain, the attach without one",
          "[simulated_kernel][iommufd]") {
  sim::kernel_options o = project();
  o.user_memory = [](std::uint64_t vaddr, std::uint64_t, bool write) {
    if (vaddr >= 0x7000000000ULL) return -EFAULT;           // "unmapped"
    if (vaddr >= 0x6000000000ULL && write) return -EFAULT;  // "read-only"
    return 0;
  };
  simulated_kernel k(o);
  add_qemu_machine(k);
  auto ictx = iommufd::open(iommufd::default_path, k);
  REQUIRE(ictx.has_value());
  auto bound = vfio::cdev::open_device(e1000e_bdf, *ictx);
  REQUIRE(bound.has_value());
  auto space = ictx->ioas_alloc();
  REQUIRE(space.has_value());
  // No domain yet: nothing is pinned, the map succeeds ...
  REQUIRE(ictx->map_fixed(space->id(), 0x100000, 0x7000000000ULL, 0x1000).has_value());
  // ... and the attach that brings the domain fails (iopt_table_add_domain -> iopt_fill_domain).
  auto h = vfio::cdev::attach(bound->dev, space->id());
  REQUIRE_FALSE(h.has_value());
  CHECK(err(h.error()) == EFAULT);
  CHECK(k.attached_hwpt(e1000e_bdf) == 0);
  REQUIRE(ictx->unmap(space->id(), 0x100000, 0x1000).has_value());
  REQUIRE(vfio::cdev::attach(bound->dev, space->id()).has_value());
  CHECK(err(ictx->map_fixed(space->id(), 0x100000, 0x7000000000ULL, 0x1000).error()) == EFAULT);
  CHECK(err(ictx->map_fixed(space->id(), 0x100000, 0x6000000000ULL, 0x1000).error()) == EFAULT);
  CHECK(ictx->map_fixed(space->id(), 0x100000, 0x6000000000ULL, 0x1000, ia::map_flags::readable).has_value());
  CHECK(k.ioas_mappings(ictx->fd(), space->id().value).size() == 1);
  // Before attach, a mapping in the MSI window makes the attach fail (reserved regions).
  auto other = ictx->ioas_alloc();
  REQUIRE(other.has_value());
  REQUIRE(ictx->map_fixed(other->id(), 0xfee00000ULL, 0x1000, 0x1000).has_value());
  auto r = vfio::cdev::attach(bound->dev, other->id());
  REQUIRE_FALSE(r.has_value());
  CHECK(err(r.error()) == EADDRINUSE);
  CHECK(k.attached_hwpt(e1000e_bdf) != 0);  // a failed replace leaves the old attachment
}

TEST_CASE("simulated iommufd: UNMAP, COPY, IOVA_RANGES, ALLOW_IOVAS", "[simulated_kernel][iommufd]") {
  cdev_stack s;
  pages mem(0x4000);
  pages ro(0x1000, PROT_READ);
  REQUIRE(mem.p != MAP_FAILED);
  const auto id = s.space.id();
  REQUIRE(s.ictx.map_fixed(id, 0x100000, mem.p, 0x2000).has_value());
  REQUIRE(s.ictx.map_fixed(id, 0x102000, static_cast<char*>(mem.p) + 0x2000, 0x2000).has_value());
  REQUIRE(s.ictx.map_fixed(id, 0x200000, static_cast<const void*>(ro.p), 0x1000).has_value());  // READABLE only
  // UNMAP: a range cutting a mapping is ENOENT, nothing there is ENOENT, length 0 EINVAL.
  CHECK(err(s.ictx.unmap(id, 0x101000, 0x1000).error()) == ENOENT);
  CHECK(err(s.ictx.unmap(id, 0x500000, 0x1000).error()) == ENOENT);
  CHECK(err(s.ictx.unmap(id, 0x100000, 0).error()) == EINVAL);
  CHECK(err(s.ictx.unmap(id, 0x100000, ~0ULL - 1).error()) == EOVERFLOW);
  // COPY into a second IOAS (no domain there: any alignment).
  auto dst = s.ictx.ioas_alloc();
  REQUIRE(dst.has_value());
  auto copied = s.ictx.copy_fixed(dst->id(), 0x900000, id, 0x101000, 0x2000);  // spans two areas
  REQUIRE(copied.has_value());
  CHECK(*copied == 0x900000);
  const auto in_dst = s.k.ioas_mappings(s.ictx.fd(), dst->id().value);
  REQUIRE(in_dst.size() == 2);  // one area per source piece
  CHECK(in_dst[0].user_va == mem.va() + 0x1000);
  CHECK(err(s.ictx.copy(dst->id(), id, 0x104000, 0x1000).error()) == ENOENT);  // a gap in the source
  CHECK(err(s.ictx.copy(dst->id(), id, 0x200000, 0x1000).error()) == EPERM);   // writeable from read-only
  CHECK(s.ictx.copy(dst->id(), id, 0x200000, 0x1000, ia::map_flags::readable).has_value());
  CHECK(err(s.ictx.copy(dst->id(), id, 0x100000, 0x1000, 0).error()) == EINVAL);
  // The whole range goes with UNMAP of everything.
  auto all = s.ictx.unmap(id, 0x100000, 0x4000);
  REQUIRE(all.has_value());
  CHECK(*all == 0x4000);

  // IOVA_RANGES: num_iovas grows with EMSGSIZE, the count written back.
  ia::iova_range one[1] = {};
  ia::ioas_iova_ranges q{};
  q.size = sizeof q;
  q.ioas_id = id.value;
  q.num_iovas = 1;
  q.allowed_iovas = reinterpret_cast<std::uintptr_t>(one);
  CHECK(s.k.ioctl(s.ictx.fd(), ia::req::ioas_iova_ranges, &q) == -EMSGSIZE);
  CHECK(q.num_iovas == 2);
  CHECK(one[0].last == 0xfedfffffULL);
  CHECK(q.out_iova_alignment == 0x1000);
  q.reserved = 1;
  CHECK(s.k.ioctl(s.ictx.fd(), ia::req::ioas_iova_ranges, &q) == -EOPNOTSUPP);
  // An IOAS without a domain: one range, all of it, alignment 1.
  auto empty = s.ictx.iova_ranges(dst->id());
  REQUIRE(empty.has_value());
  REQUIRE(empty->ranges.size() == 1);
  CHECK(empty->ranges[0].end == ~0ULL);
  CHECK(empty->alignment == 1);

  // ALLOW_IOVAS.
  const vfio::iova_range bad[] = {{0x2000, 0x1000}};
  CHECK(err(s.ictx.allow_iovas(id, bad).error()) == EINVAL);  // start >= last
  const vfio::iova_range overlap[] = {{0x1000, 0x4fff}, {0x4000, 0x8fff}};
  CHECK(err(s.ictx.allow_iovas(id, overlap).error()) == EINVAL);
  const vfio::iova_range msi[] = {{0xfe000000ULL, 0xfeffffffULL}};
  CHECK(err(s.ictx.allow_iovas(id, msi).error()) == EADDRINUSE);  // meets the MSI window
  const vfio::iova_range window[] = {{0x40000000ULL, 0x4fffffffULL}};
  REQUIRE(s.ictx.allow_iovas(id, window).has_value());
  auto placed = s.ictx.map(id, mem.p, 0x1000);
  REQUIRE(placed.has_value());
  CHECK(*placed >= 0x40000000ULL);
  CHECK(*placed <= 0x4fffffffULL);
  // An allowed range meeting a device's reserved region makes that device's attach fail.
  REQUIRE(s.ictx.allow_iovas(dst->id(), msi).has_value());
  auto r = vfio::cdev::attach(s.d.dev, dst->id());
  REQUIRE_FALSE(r.has_value());
  CHECK(err(r.error()) == EADDRINUSE);
}

TEST_CASE("simulated iommufd: IOMMU_OPTION and DESTROY", "[simulated_kernel][iommufd]") {
  simulated_kernel k(project());
  add_qemu_machine(k);
  auto ictx = iommufd::open(iommufd::default_path, k);
  REQUIRE(ictx.has_value());
  auto mode = ictx->rlimit_per_process();
  REQUIRE(mode.has_value());
  CHECK_FALSE(*mode);  // /dev/iommu accounts per user
  REQUIRE(ictx->set_rlimit_per_process(true).has_value());
  CHECK(*ictx->rlimit_per_process());
  CHECK(err(ictx->set_option(ia::option_id::rlimit_mode, 2).error()) == EINVAL);
  CHECK(err(ictx->get_option(ia::option_id::rlimit_mode, 5).error()) == EOPNOTSUPP);  // object_id on a global
  CHECK(err(ictx->get_option(9).error()) == EOPNOTSUPP);
  auto space = ictx->ioas_alloc();
  REQUIRE(space.has_value());
  CHECK(err(ictx->set_rlimit_per_process(false).error()) == EBUSY);  // objects exist
  CHECK(*ictx->huge_pages(space->id()));
  REQUIRE(ictx->set_huge_pages(space->id(), false).has_value());
  CHECK_FALSE(*ictx->huge_pages(space->id()));
  CHECK(err(ictx->huge_pages(vfio::ioas_id{42}).error()) == ENOENT);
  CHECK(err(ictx->set_option(ia::option_id::huge_pages, 3, space->id().value).error()) == EINVAL);
  CHECK(err(ictx->destroy(std::uint32_t{42}).error()) == ENOENT);
  REQUIRE(space->destroy().has_value());
  CHECK(err(ictx->destroy(space->id()).error()) == ENOENT);
  abi::iommufd::ioas_alloc a{};
  a.size = sizeof a;
  a.flags = 1;
  CHECK(k.ioctl(ictx->fd(), ia::req::ioas_alloc, &a) == -EOPNOTSUPP);
  // Huge pages off with a domain and mappings is EINVAL (iopt_disable_large_pages).
  auto bound = vfio::cdev::open_device(e1000e_bdf, *ictx);
  REQUIRE(bound.has_value());
  auto s2 = ictx->ioas_alloc();
  REQUIRE(s2.has_value());
  REQUIRE(vfio::cdev::attach(bound->dev, s2->id()).has_value());
  REQUIRE(ictx->map_fixed(s2->id(), 0x100000, 0x10000000, 0x1000).has_value());
  CHECK(err(ictx->set_huge_pages(s2->id(), false).error()) == EINVAL);
  // RLIMIT_MODE needs CAP_SYS_RESOURCE.
  sim::kernel_options user = project();
  user.host.uid = 1000;
  user.host.gids = {0};  // the node's group may open /dev/iommu (0660)
  simulated_kernel ku(user);
  auto uctx = iommufd::open(iommufd::default_path, ku);
  REQUIRE(uctx.has_value());
  CHECK(err(uctx->set_rlimit_per_process(true).error()) == EPERM);
}

TEST_CASE("simulated iommufd: GET_HW_INFO, HWPT_ALLOC and dirty tracking", "[simulated_kernel][iommufd]") {
  {
    cdev_stack s;  // QEMU's intel-iommu: no dirty tracking
    std::byte data[32];
    std::memset(data, 0xff, sizeof data);
    auto hw = s.ictx.get_hw_info(s.d.devid, vfio::span<std::byte>(data, sizeof data));
    REQUIRE(hw.has_value());
    CHECK(hw->data_type == ia::hw_info_type::intel_vtd);
    CHECK(hw->data_len == sizeof(ia::hw_info_vtd));
    CHECK_FALSE(hw->dirty_tracking());
    CHECK(data[24] == std::byte{0});  // the rest of the buffer cleared
    CHECK(err(s.ictx.get_hw_info(vfio::dev_id{77}).error()) == ENOENT);
    CHECK(err(s.ictx.get_hw_info(vfio::dev_id{s.space.id().value}).error()) == ENOENT);  // an IOAS is no device
    auto dirty = s.ictx.hwpt_alloc(s.d.devid, s.space.id(), ia::hwpt_alloc_flags::dirty_tracking);
    REQUIRE_FALSE(dirty.has_value());
    CHECK(err(dirty.error()) == EOPNOTSUPP);
    CHECK(err(s.ictx.hwpt_alloc(s.d.devid, s.space.id(), ia::hwpt_alloc_flags::nest_parent).error()) == EOPNOTSUPP);
    CHECK(err(s.ictx.hwpt_alloc(s.d.devid, s.space.id(), 1U << 7).error()) == EOPNOTSUPP);
    CHECK(err(s.ictx.hwpt_alloc(s.d.devid, vfio::pt_id(99)).error()) == EINVAL);  // no such pt
    CHECK(err(s.ictx.hwpt_alloc(vfio::dev_id{99}, s.space.id()).error()) == ENOENT);
    auto plain = s.ictx.hwpt_alloc(s.d.devid, s.space.id());
    REQUIRE(plain.has_value());
    CHECK(err(s.ictx.set_dirty_tracking(plain->id(), true).error()) == EOPNOTSUPP);
    // Attaching to the manual HWPT replaces the automatic domain.
    auto h = vfio::cdev::attach(s.d.dev, plain->id());
    REQUIRE(h.has_value());
    CHECK(h->value == plain->id().value);
    CHECK(err(plain->destroy().error()) == EBUSY);
    REQUIRE(vfio::cdev::detach(s.d.dev).has_value());
    REQUIRE(plain->destroy().has_value());
  }
  cdev_stack s(project(true));
  auto hw = s.ictx.get_hw_info(s.d.devid);
  REQUIRE(hw.has_value());
  CHECK(hw->dirty_tracking());
  auto dirty = s.ictx.hwpt_alloc(s.d.devid, s.space.id(), ia::hwpt_alloc_flags::dirty_tracking);
  REQUIRE(dirty.has_value());
  REQUIRE(vfio::cdev::attach(s.d.dev, dirty->id()).has_value());
  pages mem(0x4000);
  REQUIRE(s.ictx.map_fixed(s.space.id(), 0x100000, mem.p, 0x4000).has_value());
  std::uint64_t bits[1] = {0};
  // Not tracking yet: the Intel driver refuses the read.
  CHECK(err(s.ictx.get_dirty_bitmap(dirty->id(), 0x100000, 0x4000, 0x1000, bits).error()) == EINVAL);
  REQUIRE(s.ictx.set_dirty_tracking(dirty->id(), true).has_value());
  CHECK(s.k.device_dma(e1000e_bdf, 0x101000, 0x1000, true));
  CHECK(s.k.device_dma(e1000e_bdf, 0x103000, 0x1000, false));  // a read dirties nothing
  REQUIRE(s.ictx.get_dirty_bitmap(dirty->id(), 0x100000, 0x4000, 0x1000, bits, ia::dirty_bitmap_flags::no_clear)
              .has_value());
  CHECK(bits[0] == 0x2);
  bits[0] = 0;
  REQUIRE(s.ictx.get_dirty_bitmap(dirty->id(), 0x100000, 0x4000, 0x1000, bits).has_value());
  CHECK(bits[0] == 0x2);
  bits[0] = 0;
  REQUIRE(s.ictx.get_dirty_bitmap(dirty->id(), 0x100000, 0x4000, 0x1000, bits).has_value());
  CHECK(bits[0] == 0);  // cleared by the read before
  CHECK(err(s.ictx.get_dirty_bitmap(dirty->id(), 0x100000, 0x8000, 0x1000, bits).error()) == EINVAL);  // unmapped
  CHECK(err(s.ictx.get_dirty_bitmap(dirty->id(), 0x100800, 0x1000, 0x1000, bits).error()) == EINVAL);  // misaligned
  CHECK(err(s.ictx.get_dirty_bitmap(vfio::hwpt_id{99}, 0x100000, 0x1000, 0x1000, bits).error()) == ENOENT);
}

// --- hot reset ---------------------------------------------------------------------------------

TEST_CASE("simulated cdev: hot reset info by devid and a reset with no group list", "[simulated_kernel][iommufd]") {
  cdev_stack s(project(), virtio_bdf);  // behind the root port: a bus reset is possible
  auto info = s.d.dev.pci_hot_reset_info();
  REQUIRE(info.has_value());
  CHECK(info->flags == (abi::hot_reset_flags::dev_id | abi::hot_reset_flags::dev_id_owned));
  REQUIRE(info->devices.size() == 1);
  CHECK(info->devices[0].devid == s.d.devid.value);
  REQUIRE(s.d.dev.pci_hot_reset({}).has_value());
  const int fds[] = {s.ictx.fd()};
  auto r = s.d.dev.pci_hot_reset(vfio::span<const int>(fds, 1));
  REQUIRE_FALSE(r.has_value());
  CHECK(err(r.error()) == EINVAL);  // a group list from a cdev-opened device
  // Group-opened devices keep their group-id reporting.
  simulated_kernel k;
  add_qemu_machine(k);
  stack st(k, 7, virtio_bdf);
  REQUIRE(st.ok());
  abi::pci_hot_reset_info h{};
  std::vector<unsigned char> buf(64);
  h.argsz = static_cast<std::uint32_t>(buf.size());
  std::memcpy(buf.data(), &h, sizeof h);
  REQUIRE(k.ioctl(st.device, abi::req::device_get_pci_hot_reset_info, buf.data()) == 0);
  std::memcpy(&h, buf.data(), sizeof h);
  CHECK(h.flags == 0);
  abi::pci_hot_reset none{sizeof none, 0, 0};
  CHECK(k.ioctl(st.device, abi::req::device_pci_hot_reset, &none) == -EINVAL);
}

// --- the group path is unchanged -------------------------------------------------------------------

TEST_CASE("simulated iommufd: the group path answers the same with the options on", "[simulated_kernel][iommufd]") {
  const auto run = [](sim::kernel_options o) {
    simulated_kernel k(std::move(o));
    add_qemu_machine(k);
    {
      stack st(k, 3, e1000e_bdf);
      REQUIRE(st.ok());
      abi::device_info di{};
      di.argsz = sizeof di;
      (void)k.ioctl(st.device, abi::req::device_get_info, &di);
      (void)entry(k, st.device);
      k.settle();
      (void)exit_low_power(k, st.device);
      (void)read_sysfs(k, dev_attr(e1000e_bdf, "power/runtime_status"));
      (void)k.open("/dev/vfio/devices/vfio0", O_RDWR, 0);  // differs: not compared below
    }
    std::vector<std::string> out;
    for (const auto& r : k.trace())
      if (r.path.compare(0, 18, "/dev/vfio/devices/") != 0)
        out.push_back(std::to_string(static_cast<int>(r.kind)) + " " + std::to_string(r.request) + " " +
                      std::to_string(r.result) + " " + std::to_string(r.time_ns));
    return out;
  };
  sim::kernel_options off;
  sim::kernel_options on = sim::kernel_options::project_kernel();
  CHECK(run(off) == run(on));
}

}  // namespace vfio_unit_test_simulated_kernel_iommufd
