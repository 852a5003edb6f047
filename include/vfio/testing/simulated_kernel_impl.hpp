// The definitions of simulated_kernel: the model behind the facade that
// <vfio/testing/simulated_kernel.hpp> declares. That header includes this one
// unless VFIO_TESTING_SEPARATE_COMPILATION is defined; with it defined,
// include this header in exactly one source file of the program, which then
// holds the model's out-of-line definitions.
#ifndef VFIO_TESTING_SIMULATED_KERNEL_IMPL_HPP_INCLUDED
#define VFIO_TESTING_SIMULATED_KERNEL_IMPL_HPP_INCLUDED

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/descriptors.hpp"
#include "sim/device_profile.hpp"
#include "sim/device_profile_impl.hpp"  // the profiles' definitions, with separate compilation
#include "sim/eventfd.hpp"
#include "sim/fault_injection.hpp"
#include "sim/fault_injector.hpp"
#include "sim/kernel_state.hpp"
#include "sim/options.hpp"
#include "sim/sysfs_files.hpp"
#include "sim/vfio_files.hpp"
#include "simulated_kernel.hpp"  // also VFIO_TESTING_DECL: inline, or empty with separate compilation

namespace vfio::testing {

struct simulated_kernel::state {
  explicit state(sim::kernel_options options) : k_(std::move(options)) {}

  /// Something the device behind `bdf` does on its own (an interrupt, a
  /// request, an error report), under the lock; wakes the threads waiting on
  /// the eventfds it may have signalled. False without a vfio-pci device there.
  template <class Event>
  bool device_event(const std::string& bdf, Event event) {
    std::lock_guard<std::mutex> lock(mu_);
    sim::sim_function* f = k_.function(bdf);
    const bool r = f && f->vfio && event(*f->vfio);
    cv_.notify_all();
    return r;
  }

  const sim::sim_function* find(const std::string& bdf) const { return k_.function(bdf); }
  /// The iommufd behind descriptor `fd`; null when `fd` is not an iommufd.
  sim::iommufd_ctx* iommufd_at(int fd) const {
    const auto& all = k_.fds.all();
    auto it = all.find(fd);
    return it == all.end() || it->second.kind != sim::descriptor_kind::iommufd ? nullptr : it->second.iommufd.get();
  }
  /// add_device / add_bridge's answer to the machine's add_function / add_bridge
  /// result `r` (0 or -errno; -EINVAL is a malformed BDF).
  static result<void> added(int r, const char* op) {
    if (r == -EINVAL) return error(errc::invalid_bdf, op);
    if (r < 0) return errno_error(-r, op);
    return {};
  }
  std::string attribute(const std::string& bdf, const char* leaf) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (!find(bdf) && !k_.bridges.count(bdf)) return "";
    sim::sysfs_ref r;
    r.k = sim::sysfs_ref::kind::device_attr;
    r.bdf = bdf;
    r.attr = leaf;
    std::string s = sim::sysfs_files::show(k_, r);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }

  sim::call_record start(call_kind kind, int fd, unsigned long request, unsigned long value, const char* path) {
    catch_up();
    sim::call_record rec;
    rec.kind = kind;
    rec.fd = fd;
    rec.request = request;
    rec.value = value;
    if (path) rec.path = path;
    return rec;
  }
  static long inject_result(sim::call_record& rec, int e) {
    rec.injected = true;
    return -e;
  }
  long finish(sim::call_record& rec, long result) {
    rec.result = result;
    rec.sequence = ++sequence_;
    rec.time_ns = k_.clock.now();
    record(std::move(rec));
    cv_.notify_all();
    return result;
  }

  /// Appends to the trace, dropping the oldest record past trace_capacity.
  void record(sim::call_record&& rec) {
    const std::size_t capacity = k_.opt.trace_capacity;
    if (!capacity) {
      ++trace_dropped_;
      return;
    }
    if (trace_.size() >= capacity) {
      trace_.pop_front();
      ++trace_dropped_;
    }
    trace_.push_back(std::move(rec));
  }

  /// /dev/iommu: iommu_misc_dev's mode 0660 (drivers/iommu/iommufd/main.c), root's.
  static constexpr sim::node_access iommu_node{0, 0, 0660};
  inline static const std::string cdev_prefix = "/dev/vfio/devices/vfio";

  /// The function behind /dev/vfio/devices/vfio<N>, or nullptr.
  sim::sim_function* cdev_node(const std::string& path) {
    const std::string n = path.substr(cdev_prefix.size());
    if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos) return nullptr;
    return k_.cdev_function(static_cast<int>(std::strtoul(n.c_str(), nullptr, 10)));
  }

  /// iommufd_fops_open: a new context, behind /dev/iommu or (`vfio_container`)
  /// behind /dev/vfio/vfio.
  int open_iommufd(bool vfio_container) {
    sim::descriptor d;
    d.kind = sim::descriptor_kind::iommufd;
    d.iommufd = std::make_shared<sim::iommufd_ctx>(
        k_.opt, [this](std::uint64_t va, std::uint64_t length, bool write) { return user_pages(va, length, write); });
    if (vfio_container) d.iommufd->opened_as_vfio_container();
    return k_.fds.add(std::move(d));
  }

  long do_open(const std::string& path, int flags) {
    const sim::host_environment& host = k_.opt.host;
    if (path == "/dev/iommu") {
      // iommufd_fops_open behind the misc device (mode 0660, root's).
      if (!k_.opt.has_iommufd()) return -ENOENT;
      if (flags & O_DIRECTORY) return -ENOTDIR;
      if (!host.may_access(iommu_node, sim::host_environment::open_mode(flags))) return -EACCES;
      return open_iommufd(false);
    }
    if (!host.vfio_loaded && path.compare(0, 9, "/dev/vfio") == 0) return -ENOENT;  // no vfio misc device
    if (k_.opt.has_device_cdev() && path.compare(0, cdev_prefix.size(), cdev_prefix) == 0) {
      sim::sim_function* fn = cdev_node(path);
      if (!fn) return -ENOENT;
      if (flags & O_DIRECTORY) return -ENOTDIR;
      if (!host.may_access(sim::node_access{}, sim::host_environment::open_mode(flags))) return -EACCES;
      return sim::vfio_files::open_cdev(k_, *fn);
    }
    if (path == "/dev/vfio/vfio") {
      if (flags & O_DIRECTORY) return -ENOTDIR;
      if (!k_.opt.has_iommufd_vfio_container()) return sim::vfio_files::open_container(k_);
      return open_iommufd(true);  // iommufd's vfio_misc_dev: the container is an iommufd context
    }
    static const std::string group_prefix = "/dev/vfio/";
    if (path.compare(0, group_prefix.size(), group_prefix) == 0) {
      const std::string n = path.substr(group_prefix.size());
      if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos) return -ENOENT;
      if (flags & O_DIRECTORY) return -ENOTDIR;
      const auto id = static_cast<unsigned>(std::strtoul(n.c_str(), nullptr, 10));
      // Path walk, then may_open's permission check, then vfio_group_fops_open.
      if (!k_.group_has_vfio_device(id)) return -ENOENT;
      if (!host.may_access(host.group_node(id), sim::host_environment::open_mode(flags))) return -EACCES;
      return sim::vfio_files::open_group(k_, id);
    }
    if (path == "/dev/vfio") return (flags & O_ACCMODE) == O_RDONLY ? -EACCES : -EISDIR;
    if (path.compare(0, 5, "/sys/") == 0 || path == "/sys") return sim::sysfs_files::open(k_, path.c_str(), flags);
    return -ENOENT;
  }

  /// faccessat with AT_EACCESS: /dev/vfio (0755), /dev/vfio/vfio (0666:
  /// container.c registers the misc device with mode S_IRUGO | S_IWUGO),
  /// /dev/vfio/N (host.group_nodes), sysfs (root may write, everyone read).
  long do_access(const std::string& path, int mode) {
    const sim::host_environment& host = k_.opt.host;
    const auto check = [&](const sim::node_access& n) { return host.may_access(n, mode) ? 0L : -EACCES; };
    if (path == "/dev/iommu") return k_.opt.has_iommufd() ? check(iommu_node) : -ENOENT;
    if (k_.opt.has_device_cdev() && host.vfio_loaded) {
      // /dev/vfio/devices (0755) and its nodes (vfio_device_devnode sets no
      // mode: root's, 0600).
      if (path == "/dev/vfio/devices" || path == "/dev/vfio/devices/") return check(sim::node_access{0, 0, 0755});
      if (path.compare(0, cdev_prefix.size(), cdev_prefix) == 0)
        return cdev_node(path) ? check(sim::node_access{}) : -ENOENT;
    }
    if (path == "/dev/vfio" || path == "/dev/vfio/")
      return host.vfio_loaded ? check(sim::node_access{0, 0, 0755}) : -ENOENT;
    if (path == "/dev/vfio/vfio") return host.vfio_loaded ? check(sim::node_access{0, 0, 0666}) : -ENOENT;
    static const std::string group_prefix = "/dev/vfio/";
    if (path.compare(0, group_prefix.size(), group_prefix) == 0) {
      const std::string n = path.substr(group_prefix.size());
      if (!host.vfio_loaded || n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos)
        return -ENOENT;
      const auto id = static_cast<unsigned>(std::strtoul(n.c_str(), nullptr, 10));
      return k_.group_has_vfio_device(id) ? check(host.group_node(id)) : -ENOENT;
    }
    if (path.compare(0, 5, "/sys/") == 0 || path == "/sys") {
      const sim::sysfs_ref r = sim::sysfs_files::resolve(k_, path);
      if (r.k == sim::sysfs_ref::kind::none) return -ENOENT;
      if (r.k == sim::sysfs_ref::kind::device_attr && !sim::sysfs_files::attr_exists(k_, r)) return -ENOENT;
      return check(sim::node_access{0, 0, 0755});
    }
    return -ENOENT;
  }

  /// getdents64 of a sysfs directory: "." and "..", then sysfs_files::list,
  /// one linux_dirent64 record each (d_off = the next entry's index).
  long do_getdents64(int fd, void* buf, std::size_t size) {
    sim::descriptor* d = k_.fds.find(fd);
    if (!d) return -EBADF;
    if (d->kind != sim::descriptor_kind::sysfs || !d->sysfs->directory) return -ENOTDIR;
    if (!buf) return -EFAULT;
    sim::sysfs_file& f = *d->sysfs;
    std::vector<std::string> names = {".", ".."};
    for (auto& n : sim::sysfs_files::list(k_, f.ref)) names.push_back(std::move(n));
    std::size_t used = 0;
    while (f.pos < names.size()) {
      const std::string& n = names[f.pos];
      const std::size_t reclen = (19 + n.size() + 1 + 7) / 8 * 8;  // header, name, NUL, 8-byte aligned
      if (used + reclen > size) {
        if (used == 0) return -EINVAL;  // "Result buffer is too small"
        break;
      }
      unsigned char* rec = static_cast<unsigned char*>(buf) + used;
      std::memset(rec, 0, reclen);
      const std::uint64_t ino = f.pos + 1;
      const std::int64_t off = static_cast<std::int64_t>(f.pos + 1);
      const auto len16 = static_cast<std::uint16_t>(reclen);
      const unsigned char type = f.pos < 2 ? 4 /* DT_DIR */ : 10 /* DT_LNK */;
      std::memcpy(rec, &ino, 8);
      std::memcpy(rec + 8, &off, 8);
      std::memcpy(rec + 16, &len16, 2);
      rec[18] = type;
      std::memcpy(rec + 19, n.c_str(), n.size() + 1);
      used += reclen;
      ++f.pos;
    }
    return static_cast<long>(used);
  }

  long do_close(int fd) {
    sim::descriptor* found = k_.fds.find(fd);
    if (!found) return -EBADF;
    sim::descriptor d = *found;
    k_.fds.erase(fd);
    sim::vfio_files::close_vfio_descriptor(k_, d);
    return 0;
  }

  int do_ioctl(call_kind kind, int fd, unsigned long request, unsigned long value, void* arg) {
    std::lock_guard<std::mutex> lock(mu_);
    sim::call_record rec = start(kind, fd, request, value, nullptr);
    long r;
    if (auto e = faults_.check(kind, fd, request, nullptr, kind == call_kind::ioctl ? arg : nullptr)) {
      r = inject_result(rec, *e);
    } else if (sim::descriptor* d = k_.fds.find(fd)) {
      switch (d->kind) {
        case sim::descriptor_kind::container:
          r = sim::vfio_files::container_ioctl(k_, *d->container, request, value, arg);
          if (r == 0 && request == abi::req::iommu_map_dma && d->container->iommu)
            r = pin_new_mapping(*d->container->iommu, arg);
          break;
        case sim::descriptor_kind::group:
          r = sim::vfio_files::group_ioctl(k_, k_.groups[d->group], request, arg);
          break;
        case sim::descriptor_kind::device: {
          if (d->device->cdev) {
            r = sim::vfio_files::cdev_ioctl(k_, *d->device, request, arg);
            break;
          }
          sim::sim_function* f = k_.function(d->device->bdf);
          r = f && f->vfio ? f->vfio->ioctl(request, arg) : -ENODEV;
          break;
        }
        case sim::descriptor_kind::iommufd: r = d->iommufd->ioctl(request, arg); break;
        case sim::descriptor_kind::migration: r = d->migration->ioctl(request, arg); break;
        default: r = -ENOTTY;  // no unlocked_ioctl
      }
    } else {
      r = -EBADF;
    }
    return static_cast<int>(finish(rec, r));
  }

  /// pread / pwrite (offset >= 0) and read / write (offset -1: file position).
  long io(call_kind kind, int fd, void* buf, std::size_t count, std::int64_t offset, bool write) {
    std::unique_lock<std::mutex> lock(mu_);
    sim::call_record rec = start(kind, fd, 0, 0, nullptr);
    rec.offset = offset;
    rec.length = count;
    const bool positional = kind == call_kind::pread || kind == call_kind::pwrite;
    long r;
    sim::descriptor* d = nullptr;
    if (auto e = faults_.check(kind, fd, 0, nullptr))
      r = inject_result(rec, *e);
    else if (!(d = k_.fds.find(fd)))
      r = -EBADF;
    else if (positional && offset < 0)
      r = -EINVAL;
    else if (!buf && count)
      r = -EFAULT;
    else {
      switch (d->kind) {
        case sim::descriptor_kind::device: {
          if (!d->device->access_granted) {  // vfio_device_fops_read / _write: an unbound cdev
            r = -EINVAL;
            break;
          }
          sim::sim_function* f = k_.function(d->device->bdf);
          const std::uint64_t at = positional ? static_cast<std::uint64_t>(offset) : d->device->pos;
          r = f && f->vfio ? f->vfio->rw(at, static_cast<unsigned char*>(buf), count, write) : -ENODEV;
          if (r > 0 && !positional) d->device->pos += static_cast<std::uint64_t>(r);
          break;
        }
        case sim::descriptor_kind::sysfs:
          r = write ? sim::sysfs_files::write(k_, *d->sysfs, buf, count, offset)
                    : sim::sysfs_files::read(k_, *d->sysfs, buf, count, offset);
          break;
        case sim::descriptor_kind::eventfd:
          r = positional ? -ESPIPE : eventfd_io(lock, d->eventfd, buf, count, write);
          break;
        case sim::descriptor_kind::migration:  // stream_open: no pread / pwrite
          r = positional ? -ESPIPE : write ? d->migration->write(buf, count) : d->migration->read(buf, count);
          break;
        default: r = -EINVAL;  // containers and groups have no read / write
      }
    }
    return finish(rec, r);
  }

  // --- MAP_DMA's page pinning ---------------------------------------------
  //
  // The model decides what the pinning of a new DMA mapping finds
  // (vfio_pin_map_dma -> vfio_pin_pages_remote -> vaddr_get_pfns in
  // drivers/vfio/vfio_iommu_type1.c) after sim::type1_iommu has accepted the
  // request, the order of vfio_dma_do_map: every page must be mapped
  // readable, and writable when the device may write (FOLL_WRITE), else
  // -EFAULT and the mapping is removed again (vfio_remove_dma). Memory the
  // model's mmap handed out is judged by its prot and its fault state (a
  // VM_PFNMAP vma: follow_fault_pfn); the rest of the address space by
  // kernel_options::user_memory, by default the real /proc/self/maps.

  struct sim_mmap {
    std::uintptr_t addr = 0;
    std::size_t length = 0;
    int prot = 0;
  };

  void forget_unmapped() {
    std::vector<sim_mmap> keep;
    for (const sim_mmap& m : mmaps_) {
      const void* p = reinterpret_cast<const void*>(m.addr);  // NOLINT(performance-no-int-to-ptr)
      if (k_.mappings.containing(p)) keep.push_back(m);
    }
    mmaps_.swap(keep);
  }

  long pin_new_mapping(sim::type1_iommu& iommu, const void* arg) {
    abi::iommu_type1_dma_map map{};
    std::memcpy(&map, arg, sizeof map);
    if (map.flags & abi::dma_map_flags::vaddr) return 0;  // VFIO_DMA_MAP_FLAG_VADDR pins nothing
    const int r = user_pages(map.vaddr, map.size, (map.flags & abi::dma_map_flags::write) != 0);
    if (r) iommu.remove_failed_mapping(map.iova);
    return r;
  }

  /// 0 when [vaddr, vaddr + size) can be pinned, else -errno. MAP_DMA has
  /// checked that the range does not wrap.
  int user_pages(std::uint64_t vaddr, std::uint64_t size, bool write) {
    const std::uint64_t end = vaddr + size;
    for (std::uint64_t at = vaddr; at < end;) {
      const sim_mmap* inside = nullptr;
      std::uint64_t next = end;
      for (const sim_mmap& m : mmaps_) {
        if (at >= m.addr && at - m.addr < m.length)
          inside = &m;
        else if (m.addr > at && m.addr < next)
          next = m.addr;
      }
      if (inside) {
        // follow_fault_pfn: the fault handler must succeed, and a write
        // mapping needs a writable pte.
        const void* p = reinterpret_cast<const void*>(at);  // NOLINT(performance-no-int-to-ptr)
        const sim::mapping_record* rec = k_.mappings.containing(p);
        const sim::sim_function* f = rec ? find(rec->bdf) : nullptr;
        if (!rec || !f || !f->vfio || f->vfio->mapping_faults()) return -EFAULT;
        if (!(inside->prot & PROT_READ) || (write && !(inside->prot & PROT_WRITE))) return -EFAULT;
        at = std::min<std::uint64_t>(end, inside->addr + inside->length);
        continue;
      }
      const int r =
          k_.opt.user_memory ? k_.opt.user_memory(at, next - at, write) : process_memory(at, next - at, write);
      if (r) return r;
      at = next;
    }
    return 0;
  }

  /// The default user_memory: /proc/self/maps must cover the range with
  /// readable (and, for `write`, writable) mappings without a gap
  /// (check_vma_flags in mm/gup.c fails the pin with -EFAULT otherwise).
  /// When the file cannot be read the range is accepted.
  static int process_memory(std::uint64_t vaddr, std::uint64_t size, bool write) {
    const int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    std::string text;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const std::uint64_t end = vaddr + size;
    std::uint64_t at = vaddr;
    for (std::size_t pos = 0; pos < text.size() && at < end;) {
      const std::size_t eol = std::min(text.find('\n', pos), text.size());
      const std::string line = text.substr(pos, eol - pos);
      pos = eol + 1;
      char* rest = nullptr;
      const std::uint64_t lo = std::strtoull(line.c_str(), &rest, 16);
      if (!rest || *rest != '-') continue;
      const std::uint64_t hi = std::strtoull(rest + 1, &rest, 16);
      if (!rest || *rest != ' ' || std::strlen(rest) < 5) continue;
      if (hi <= at) continue;
      if (lo > at) return -EFAULT;  // a hole
      if (rest[1] != 'r' || (write && rest[2] != 'w')) return -EFAULT;
      at = hi;
    }
    return at >= end ? 0 : -EFAULT;
  }

  // --- time while threads wait --------------------------------------------
  //
  // A poll with a positive timeout and a sleep block for real: the lock is
  // released (cv_.wait_until) so that other threads run their calls, and
  // every call wakes the waiters (finish notifies). When the wait ends the
  // virtual clock moves to where it began plus the real time waited, capped
  // at the timeout, and exactly to the deadline when the timeout expires, so
  // a single thread sees the same virtual times as if the clock had jumped.
  // While a thread waits, any other thread's call first brings the virtual
  // clock up to the waiter's real elapsed time (catch_up), so runtime
  // suspends come due for everyone as they would in the kernel.

  struct timed_wait {
    std::int64_t start_virtual = 0;
    std::chrono::steady_clock::time_point start_real{};
    std::int64_t limit_ns = 0;
  };

  static std::int64_t real_elapsed(const timed_wait& w) {
    const auto d = std::chrono::steady_clock::now() - w.start_real;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    return std::min<std::int64_t>(w.limit_ns, std::max<std::int64_t>(ns, 0));
  }

  void catch_up() {
    std::int64_t target = k_.clock.now();
    for (const timed_wait* w : waits_) target = std::max(target, w->start_virtual + real_elapsed(*w));
    if (target > k_.clock.now()) {
      k_.clock.advance_to(target);
      cv_.notify_all();
    }
  }

  /// Waits up to `ns` of real time (capped at a day), without the lock,
  /// until done() holds; returns done().
  template <class Done>
  bool timed_block(std::unique_lock<std::mutex>& lock, std::int64_t ns, Done done) {
    constexpr std::int64_t max_block_ns = 86'400'000'000'000LL;
    ns = std::min(ns, max_block_ns);
    timed_wait w{k_.clock.now(), std::chrono::steady_clock::now(), ns};
    waits_.push_back(&w);
    const auto deadline = w.start_real + std::chrono::nanoseconds(ns);
    bool ok = done();
    while (!ok) {
      const bool expired = cv_.wait_until(lock, deadline) == std::cv_status::timeout;
      ok = done();
      if (expired) break;
    }
    waits_.erase(std::remove(waits_.begin(), waits_.end(), &w), waits_.end());
    k_.clock.advance_to(w.start_virtual + (ok ? real_elapsed(w) : ns));
    cv_.notify_all();
    return ok;
  }

  /// eventfd_read / eventfd_write: a blocking descriptor waits for another
  /// thread to make progress possible.
  long eventfd_io(std::unique_lock<std::mutex>& lock, const std::shared_ptr<sim::eventfd_counter>& c, void* buf,
                  std::size_t count, bool write) {
    for (;;) {
      const long r = write ? c->write(buf, count) : c->read(buf, count);
      if (r != 0) return r;
      cv_.wait(lock);
    }
  }

  /// The poll mask of each descriptor: eventfd_poll for eventfds,
  /// DEFAULT_POLLMASK for files without a poll method, POLLNVAL for
  /// descriptors that are not open; negative descriptors are skipped.
  long ready(struct pollfd* fds, std::size_t nfds) {
    long n = 0;
    for (std::size_t i = 0; i < nfds; ++i) {
      fds[i].revents = 0;
      if (fds[i].fd < 0) continue;
      short mask;
      const sim::descriptor* d = k_.fds.find(fds[i].fd);
      if (!d)
        mask = POLLNVAL;
      else if (d->kind == sim::descriptor_kind::eventfd)
        mask = d->eventfd->poll_events();
      else
        mask = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
      fds[i].revents = static_cast<short>(mask & (fds[i].events | POLLERR | POLLHUP | POLLNVAL));
      if (fds[i].revents) ++n;
    }
    return n;
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  sim::kernel_state k_;
  sim::fault_injector faults_;
  std::deque<sim::call_record> trace_;  ///< at most k_.opt.trace_capacity records
  std::uint64_t trace_dropped_ = 0;
  std::uint64_t sequence_ = 0;
  std::vector<sim_mmap> mmaps_;
  std::vector<timed_wait*> waits_;  ///< the poll / sleep calls blocked right now
};

VFIO_TESTING_DECL simulated_kernel::simulated_kernel() : s_(new state(sim::kernel_options{})) {}
VFIO_TESTING_DECL simulated_kernel::simulated_kernel(sim::kernel_options options) : s_(new state(std::move(options))) {}
VFIO_TESTING_DECL simulated_kernel::~simulated_kernel() = default;

VFIO_TESTING_DECL result<void> simulated_kernel::add_device(const sim::device_description& d) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  return state::added(s_->k_.add_function(d), "add_device");
}

VFIO_TESTING_DECL result<void> simulated_kernel::add_bridge(const sim::bridge_description& b) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  return state::added(s_->k_.add_bridge(b), "add_bridge");
}

VFIO_TESTING_DECL const sim::kernel_options& simulated_kernel::options() const noexcept { return s_->k_.opt; }

VFIO_TESTING_DECL std::int64_t simulated_kernel::now_ns() const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  return s_->k_.clock.now();
}

VFIO_TESTING_DECL void simulated_kernel::advance(std::int64_t ns) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  s_->k_.clock.advance(ns);
  s_->cv_.notify_all();
}

VFIO_TESTING_DECL void simulated_kernel::settle() noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  s_->k_.clock.settle();
}

VFIO_TESTING_DECL std::string simulated_kernel::runtime_status(const std::string& bdf) const noexcept {
  return s_->attribute(bdf, "power/runtime_status");
}

VFIO_TESTING_DECL std::string simulated_kernel::power_state(const std::string& bdf) const noexcept {
  return s_->attribute(bdf, "power_state");
}

VFIO_TESTING_DECL bool simulated_kernel::low_power_engaged(const std::string& bdf) const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  const sim::sim_function* f = s_->find(bdf);
  return f && f->vfio && f->vfio->low_power_engaged();
}

VFIO_TESTING_DECL int simulated_kernel::usage_count(const std::string& bdf) const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  const sim::sim_function* f = s_->find(bdf);
  return f ? f->pm->usage() : -1;
}

VFIO_TESTING_DECL unsigned simulated_kernel::open_count(const std::string& bdf) const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  const sim::sim_function* f = s_->find(bdf);
  return f ? f->open_count : 0;
}

VFIO_TESTING_DECL bool simulated_kernel::mapping_faults(const void* addr) const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  const sim::mapping_record* m = s_->k_.mappings.containing(addr);
  if (!m) return false;
  const sim::sim_function* f = s_->find(m->bdf);
  return !f || !f->vfio || f->vfio->mapping_faults();
}

VFIO_TESTING_DECL std::size_t simulated_kernel::open_descriptors() const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  return s_->k_.fds.size();
}

VFIO_TESTING_DECL std::size_t simulated_kernel::open_descriptors(sim::descriptor_kind kind) const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  return s_->k_.fds.count(kind);
}

VFIO_TESTING_DECL std::size_t simulated_kernel::live_mappings() const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  return s_->k_.mappings.size();
}

VFIO_TESTING_DECL std::vector<sim::dma_mapping> simulated_kernel::dma_mappings(int container_fd) const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  const auto& all = s_->k_.fds.all();
  auto it = all.find(container_fd);
  if (it == all.end() || it->second.kind != sim::descriptor_kind::container || !it->second.container->iommu) return {};
  return it->second.container->iommu->mappings();
}

VFIO_TESTING_DECL std::vector<sim::ioas_mapping> simulated_kernel::ioas_mappings(int iommufd_fd,
                                                                                 std::uint32_t ioas_id) const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  sim::iommufd_ctx* ictx = s_->iommufd_at(iommufd_fd);
  return ictx ? ictx->mappings(ioas_id) : std::vector<sim::ioas_mapping>{};
}

VFIO_TESTING_DECL std::uint32_t simulated_kernel::compat_ioas(int iommufd_fd) const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  sim::iommufd_ctx* ictx = s_->iommufd_at(iommufd_fd);
  std::uint32_t id = 0;
  return ictx && ictx->compat_ioas_id(id) == 0 ? id : 0;
}

VFIO_TESTING_DECL std::size_t simulated_kernel::iommufd_objects(int iommufd_fd) const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  sim::iommufd_ctx* ictx = s_->iommufd_at(iommufd_fd);
  return ictx ? ictx->object_count() : 0;
}

VFIO_TESTING_DECL std::uint32_t simulated_kernel::attached_hwpt(const std::string& bdf) const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  const sim::sim_function* f = s_->find(bdf);
  return f && f->ictx ? f->ictx->attached_hwpt(f->devid) : 0;
}

VFIO_TESTING_DECL bool simulated_kernel::device_dma(const std::string& bdf, std::uint64_t iova, std::uint64_t length,
                                                    bool write) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  sim::sim_function* f = s_->k_.function(bdf);
  if (!f || !f->vfio || !f->open_count || !length || iova + length - 1 < iova) return false;
  // Bound to an iommufd: through its cdev, or through a group attached to it.
  if (f->ictx) return f->ictx->dma(f->devid, iova, length, write);
  if (f->cdev_opened) return false;
  auto g = s_->k_.groups.find(f->hw->desc().iommu_group);
  if (g == s_->k_.groups.end() || !g->second.container || !g->second.container->iommu) return false;
  const std::uint64_t last = iova + length - 1;
  std::uint64_t at = iova;
  for (const sim::dma_mapping& m : g->second.container->iommu->mappings()) {
    if (m.iova + m.size - 1 < at) continue;
    if (m.iova > at || !(write ? m.writable : m.readable)) return false;
    if (m.iova + m.size - 1 >= last) return true;
    at = m.iova + m.size;
  }
  return false;
}

VFIO_TESTING_DECL std::vector<std::string> simulated_kernel::firmware_log(const std::string& bdf) const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  const sim::sim_function* f = s_->find(bdf);
  return f ? f->firmware_log : std::vector<std::string>{};
}

VFIO_TESTING_DECL void simulated_kernel::clear_firmware_log(const std::string& bdf) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  if (sim::sim_function* f = s_->k_.function(bdf)) f->firmware_log.clear();
}

VFIO_TESTING_DECL std::vector<sim::call_record> simulated_kernel::trace() const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  return std::vector<sim::call_record>(s_->trace_.begin(), s_->trace_.end());
}

VFIO_TESTING_DECL std::uint64_t simulated_kernel::trace_dropped() const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  return s_->trace_dropped_;
}

VFIO_TESTING_DECL void simulated_kernel::clear_trace() noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  s_->trace_.clear();
  s_->trace_dropped_ = 0;
}

VFIO_TESTING_DECL bool simulated_kernel::raise_interrupt(const std::string& bdf, std::uint32_t index,
                                                         std::uint32_t vector) noexcept {
  return s_->device_event(bdf, [&](sim::vfio_pci_device& d) { return d.irqs().raise(index, vector); });
}

VFIO_TESTING_DECL bool simulated_kernel::request_release(const std::string& bdf) noexcept {
  return s_->device_event(bdf, [&](sim::vfio_pci_device& d) { return d.irqs().request(); });
}

VFIO_TESTING_DECL bool simulated_kernel::report_error(const std::string& bdf) noexcept {
  return s_->device_event(bdf, [&](sim::vfio_pci_device& d) { return d.irqs().error_detected(); });
}

VFIO_TESTING_DECL std::size_t simulated_kernel::ioeventfd_count(const std::string& bdf) const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  const sim::sim_function* f = s_->find(bdf);
  return f && f->vfio ? f->vfio->ioeventfd_count() : 0;
}

VFIO_TESTING_DECL long simulated_kernel::migration_state(const std::string& bdf) const noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  const sim::sim_function* f = s_->find(bdf);
  sim::migration_device* m = f && f->vfio ? f->vfio->migration() : nullptr;
  return m ? static_cast<long>(m->state()) : -1;
}

VFIO_TESTING_DECL bool simulated_kernel::device_dma_write(const std::string& bdf, std::uint64_t iova,
                                                          std::uint64_t length) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  sim::sim_function* f = s_->k_.function(bdf);
  sim::migration_device* m = f && f->vfio ? f->vfio->migration() : nullptr;
  return m && m->dma_write(iova, length);
}

VFIO_TESTING_DECL void simulated_kernel::inject(sim::fault_rule rule) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  s_->faults_.add(std::move(rule));
}

VFIO_TESTING_DECL void simulated_kernel::clear_faults() noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  s_->faults_.clear();
}

VFIO_TESTING_DECL int simulated_kernel::open(const char* path, int flags, unsigned mode) noexcept {
  (void)mode;
  std::lock_guard<std::mutex> lock(s_->mu_);
  sim::call_record rec = s_->start(call_kind::open, -1, 0, static_cast<unsigned long>(flags), path);
  long r;
  if (auto e = s_->faults_.check(call_kind::open, -1, 0, path))
    r = s_->inject_result(rec, *e);
  else
    r = s_->do_open(path ? path : "", flags);
  return static_cast<int>(s_->finish(rec, r));
}

VFIO_TESTING_DECL int simulated_kernel::close(int fd) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  sim::call_record rec = s_->start(call_kind::close, fd, 0, 0, nullptr);
  const auto e = s_->faults_.check(call_kind::close, fd, 0, nullptr);
  long r = s_->do_close(fd);
  if (e && r == 0) r = s_->inject_result(rec, *e);
  return static_cast<int>(s_->finish(rec, r));
}

VFIO_TESTING_DECL int simulated_kernel::ioctl(int fd, unsigned long request, void* arg) noexcept {
  return s_->do_ioctl(call_kind::ioctl, fd, request, reinterpret_cast<unsigned long>(arg), arg);
}

VFIO_TESTING_DECL int simulated_kernel::ioctl_value(int fd, unsigned long request, unsigned long value) noexcept {
  // The kernel receives an unsigned long either way; pointer-taking
  // requests made through ioctl_value see it as the pointer it is.
  return s_->do_ioctl(call_kind::ioctl_value, fd, request, value,
                      reinterpret_cast<void*>(value));  // NOLINT(performance-no-int-to-ptr)
}

VFIO_TESTING_DECL long simulated_kernel::pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept {
  return s_->io(call_kind::pread, fd, buf, count, offset, false);
}

VFIO_TESTING_DECL long simulated_kernel::pwrite(int fd, const void* buf, std::size_t count,
                                                std::int64_t offset) noexcept {
  return s_->io(call_kind::pwrite, fd, const_cast<void*>(buf), count, offset, true);
}

VFIO_TESTING_DECL long simulated_kernel::read(int fd, void* buf, std::size_t count) noexcept {
  return s_->io(call_kind::read, fd, buf, count, -1, false);
}

VFIO_TESTING_DECL long simulated_kernel::write(int fd, const void* buf, std::size_t count) noexcept {
  return s_->io(call_kind::write, fd, const_cast<void*>(buf), count, -1, true);
}

VFIO_TESTING_DECL int simulated_kernel::mmap(void** addr, std::size_t length, int prot, int flags, int fd,
                                             std::int64_t offset) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  sim::call_record rec = s_->start(call_kind::mmap, fd, 0, static_cast<unsigned long>(flags), nullptr);
  rec.offset = offset;
  rec.length = length;
  long r;
  if (auto e = s_->faults_.check(call_kind::mmap, fd, 0, nullptr))
    r = s_->inject_result(rec, *e);
  else if (!addr)
    r = -EFAULT;
  else {
    sim::descriptor* d = s_->k_.fds.find(fd);
    if (!d)
      r = -EBADF;
    else if (d->kind != sim::descriptor_kind::device)
      r = -ENODEV;
    else
      r = sim::vfio_files::mmap_device(s_->k_, *d, addr, length, flags, offset);
    if (r == 0) s_->mmaps_.push_back({reinterpret_cast<std::uintptr_t>(*addr), length, prot});
  }
  return static_cast<int>(s_->finish(rec, r));
}

VFIO_TESTING_DECL int simulated_kernel::munmap(void* addr, std::size_t length) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  sim::call_record rec = s_->start(call_kind::munmap, -1, 0, 0, nullptr);
  rec.length = length;
  long r;
  if (auto e = s_->faults_.check(call_kind::munmap, -1, 0, nullptr))
    r = s_->inject_result(rec, *e);
  else
    r = sim::vfio_files::munmap_device(s_->k_, addr, length);
  if (r == 0) s_->forget_unmapped();
  return static_cast<int>(s_->finish(rec, r));
}

VFIO_TESTING_DECL int simulated_kernel::eventfd(unsigned initval, int flags) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  sim::call_record rec = s_->start(call_kind::eventfd, -1, 0, static_cast<unsigned long>(flags), nullptr);
  long r;
  if (auto e = s_->faults_.check(call_kind::eventfd, -1, 0, nullptr))
    r = s_->inject_result(rec, *e);
  else if (!sim::eventfd_counter::valid_flags(flags))
    r = -EINVAL;  // eventfd2
  else {
    sim::descriptor d;
    d.kind = sim::descriptor_kind::eventfd;
    d.eventfd = std::make_shared<sim::eventfd_counter>(initval, flags);
    r = s_->k_.fds.add(std::move(d));
  }
  return static_cast<int>(s_->finish(rec, r));
}

VFIO_TESTING_DECL long simulated_kernel::readlink(const char* path, char* buf, std::size_t size) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  sim::call_record rec = s_->start(call_kind::readlink, -1, 0, 0, path);
  long r;
  if (auto e = s_->faults_.check(call_kind::readlink, -1, 0, path))
    r = s_->inject_result(rec, *e);
  else if (!path || !buf)
    r = -EFAULT;
  else if (!size)
    r = -EINVAL;
  else if (std::strncmp(path, "/sys/", 5) == 0)
    r = sim::sysfs_files::readlink(s_->k_, path, buf, size);
  else
    r = -ENOENT;
  return s_->finish(rec, r);
}

VFIO_TESTING_DECL int simulated_kernel::poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept {
  std::unique_lock<std::mutex> lock(s_->mu_);
  sim::call_record rec = s_->start(call_kind::poll, nfds ? fds[0].fd : -1, 0, nfds, nullptr);
  long r;
  if (auto e = s_->faults_.check(call_kind::poll, rec.fd, 0, nullptr)) {
    r = s_->inject_result(rec, *e);
  } else {
    r = s_->ready(fds, nfds);
    if (!r && timeout_ms > 0) {
      s_->timed_block(lock, static_cast<std::int64_t>(timeout_ms) * 1'000'000,
                      [&] { return s_->ready(fds, nfds) != 0; });
      r = s_->ready(fds, nfds);
    } else if (!r && timeout_ms < 0) {
      while (!(r = s_->ready(fds, nfds))) s_->cv_.wait(lock);
    }
  }
  return static_cast<int>(s_->finish(rec, r));
}

VFIO_TESTING_DECL int simulated_kernel::access(const char* path, int mode) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  sim::call_record rec = s_->start(call_kind::access, -1, 0, static_cast<unsigned long>(mode), path);
  long r;
  if (auto e = s_->faults_.check(call_kind::access, -1, 0, path))
    r = s_->inject_result(rec, *e);
  else
    r = path ? s_->do_access(path, mode) : -EFAULT;
  return static_cast<int>(s_->finish(rec, r));
}

VFIO_TESTING_DECL long simulated_kernel::getdents64(int fd, void* buf, std::size_t size) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  sim::call_record rec = s_->start(call_kind::getdents64, fd, 0, 0, nullptr);
  rec.length = size;
  long r;
  if (auto e = s_->faults_.check(call_kind::getdents64, fd, 0, nullptr))
    r = s_->inject_result(rec, *e);
  else
    r = s_->do_getdents64(fd, buf, size);
  return s_->finish(rec, r);
}

VFIO_TESTING_DECL int simulated_kernel::getrlimit(int resource, struct rlimit* limit) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  sim::call_record rec = s_->start(call_kind::getrlimit, -1, 0, static_cast<unsigned long>(resource), nullptr);
  long r = 0;
  if (auto e = s_->faults_.check(call_kind::getrlimit, -1, 0, nullptr)) {
    r = s_->inject_result(rec, *e);
  } else if (!limit) {
    r = -EFAULT;
  } else if (resource == RLIMIT_MEMLOCK) {
    limit->rlim_cur = limit->rlim_max = static_cast<rlim_t>(s_->k_.opt.host.memlock_limit);
  } else {
    limit->rlim_cur = limit->rlim_max = RLIM_INFINITY;  // only the memlock limit is modelled
  }
  return static_cast<int>(s_->finish(rec, r));
}

VFIO_TESTING_DECL std::int64_t simulated_kernel::monotonic_ns() noexcept {
  std::lock_guard<std::mutex> lock(s_->mu_);
  s_->catch_up();
  return s_->k_.clock.now();
}

VFIO_TESTING_DECL int simulated_kernel::sleep_ns(std::int64_t ns) noexcept {
  std::unique_lock<std::mutex> lock(s_->mu_);
  s_->catch_up();
  if (ns <= 0) return 0;
  if (s_->k_.opt.real_time_sleeps) {
    s_->timed_block(lock, ns, [] { return false; });
  } else {
    s_->k_.clock.advance(ns);
    s_->cv_.notify_all();  // runtime-PM work that came due may be what a poller waits for
  }
  return 0;
}

}  // namespace vfio::testing

#undef VFIO_TESTING_DECL

#endif  // VFIO_TESTING_SIMULATED_KERNEL_IMPL_HPP_INCLUDED
