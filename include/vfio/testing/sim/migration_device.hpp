// A migration driver for a simulated vfio-pci function: the core's migration
// features (vfio_ioctl_device_feature_migration, _mig_device_state,
// _migration_data_size, _logging_start / _stop / _report in
// drivers/vfio/vfio_main.c), the FSM walk of vfio_mig_get_next_state, and a
// driver modelled on the mtty sample (samples/vfio-mdev/mtty.c, 6.12): its data
// files, pre-copy, stop-copy and resume, with an mlx5-like DMA log
// (drivers/vfio/pci/mlx5/cmd.c). The data_fd is a descriptor of the model's
// table (descriptor_kind::migration) created through vfio_pci_env.
//
// The FSM path here is found by a breadth-first search over the arcs the
// vfio_main.c comment says a driver implements for its flags, never crossing a
// saving state: an independent derivation of the kernel's table, against which
// the library's own table is tested.
#ifndef VFIO_TESTING_SIM_MIGRATION_DEVICE_HPP_INCLUDED
#define VFIO_TESTING_SIM_MIGRATION_DEVICE_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../../abi/vfio.hpp"
#include "device_profile.hpp"
#include "function_ref.hpp"
#include "migration_profile.hpp"
#include "pci_function.hpp"

namespace vfio::testing::sim {

namespace mig_fsm {

namespace st = abi::mig_device_state;
inline constexpr std::uint32_t state_count = 8;

/// state_flags_table: the flags a state needs; ERROR never.
inline bool offered(std::uint64_t flags, std::uint32_t s) {
  namespace f = abi::migration_flags;
  std::uint64_t need = ~std::uint64_t{0};
  switch (s) {
    case st::stop:
    case st::running:
    case st::stop_copy:
    case st::resuming: need = f::stop_copy; break;
    case st::running_p2p: need = f::stop_copy | f::p2p; break;
    case st::pre_copy: need = f::stop_copy | f::pre_copy; break;
    case st::pre_copy_p2p: need = f::stop_copy | f::p2p | f::pre_copy; break;
    default: break;
  }
  return (flags & need) == need;
}

inline bool saving(std::uint32_t s) { return s == st::pre_copy || s == st::pre_copy_p2p || s == st::stop_copy; }

/// The arcs a driver implements (the comment above vfio_mig_get_next_state).
inline bool arc(std::uint64_t flags, std::uint32_t from, std::uint32_t to) {
  namespace f = abi::migration_flags;
  const bool p2p = flags & f::p2p, pre = flags & f::pre_copy;
  const auto is = [&](std::uint32_t a, std::uint32_t b) { return from == a && to == b; };
  if (is(st::resuming, st::stop) || is(st::stop, st::resuming) || is(st::stop, st::stop_copy) ||
      is(st::stop_copy, st::stop))
    return true;
  if (p2p && (is(st::running, st::running_p2p) || is(st::running_p2p, st::running) || is(st::running_p2p, st::stop) ||
              is(st::stop, st::running_p2p)))
    return true;
  if (!p2p && (is(st::running, st::stop) || is(st::stop, st::running))) return true;
  if (pre && !p2p &&
      (is(st::running, st::pre_copy) || is(st::pre_copy, st::running) || is(st::pre_copy, st::stop_copy)))
    return true;
  if (pre && p2p &&
      (is(st::pre_copy, st::running) || is(st::pre_copy, st::pre_copy_p2p) || is(st::pre_copy_p2p, st::pre_copy) ||
       is(st::pre_copy_p2p, st::running_p2p) || is(st::pre_copy_p2p, st::stop_copy) || is(st::running, st::pre_copy) ||
       is(st::running_p2p, st::pre_copy_p2p)))
    return true;
  return false;
}

/// vfio_mig_get_next_state: 0 and the next step, or -EINVAL (a state not
/// offered, no path, STOP_COPY -> PRE_COPY* which the uAPI forbids, anything
/// from ERROR). The shortest path over the driver's arcs; a saving state may be
/// interior only while the whole path stays in the saving group (one session:
/// PRE_COPY -> PRE_COPY_P2P -> STOP_COPY), so a path that leaves the group leaves
/// it at once and none passes through it.
inline int next_state(std::uint64_t flags, std::uint32_t cur, std::uint32_t target, std::uint32_t& next) {
  if (cur >= state_count || !offered(flags, cur) || target >= state_count || !offered(flags, target)) return -EINVAL;
  if (cur == st::stop_copy && (target == st::pre_copy || target == st::pre_copy_p2p)) return -EINVAL;
  if (cur == target) {
    next = cur;
    return 0;
  }
  const bool within_session = saving(cur) && saving(target);
  std::uint32_t first_hop[state_count] = {};
  bool seen[state_count] = {};
  std::uint32_t queue[state_count];
  std::size_t head = 0, tail = 0;
  seen[cur] = true;
  queue[tail++] = cur;
  while (head < tail) {
    const std::uint32_t u = queue[head++];
    if (u != cur && saving(u) && !within_session) continue;  // only a start or an end
    for (std::uint32_t v = 0; v < state_count; ++v) {
      if (seen[v] || !offered(flags, v) || !arc(flags, u, v)) continue;
      if (within_session && !saving(v) && v != target) continue;  // the session path stays in the group
      seen[v] = true;
      first_hop[v] = u == cur ? v : first_hop[u];
      if (v == target) {
        next = first_hop[v];
        return 0;
      }
      queue[tail++] = v;
    }
  }
  return -EINVAL;
}

}  // namespace mig_fsm

class migration_device;

/// mtty's struct mtty_migration_file: an anon file, O_RDONLY for saving (read
/// and VFIO_MIG_GET_PRECOPY_INFO), O_WRONLY for resuming (write), opened with
/// stream_open (pread / pwrite: ESPIPE, in simulated_kernel).
class migration_file {
 public:
  static constexpr std::size_t header_size = 24;  ///< offsetof(struct mtty_data, ports)
  static constexpr std::size_t port_size = 36;    ///< sizeof(struct serial_port)
  static constexpr std::uint64_t magic = 0x7e9d09898c3e2c4eULL;

  migration_file(bool saving, std::size_t capacity, std::weak_ptr<migration_device> dev)
      : saving_(saving), data_(capacity, 0), dev_(std::move(dev)) {}

  bool saving() const noexcept { return saving_; }
  bool disabled() const noexcept { return disabled_; }
  std::size_t filled() const noexcept { return filled_; }
  const std::vector<std::uint8_t>& data() const noexcept { return data_; }

  /// mtty_disable_file.
  void disable() {
    disabled_ = true;
    filled_ = 0;
    pos_ = 0;
  }
  /// Appends bytes the driver saved (the header, mtty_save_state's ports).
  void append(const std::uint8_t* p, std::size_t n) {
    if (filled_ + n > data_.size()) n = data_.size() - filled_;
    std::memcpy(data_.data() + filled_, p, n);
    filled_ += n;
  }

  /// read(2): vfs_read refuses a write-only file (EBADF); mtty_save_read.
  inline long read(void* buf, std::size_t count);
  /// write(2): vfs_write refuses a read-only file (EBADF); mtty_resume_write.
  inline long write(const void* buf, std::size_t count);
  /// ioctl(2): no unlocked_ioctl on the resume file (ENOTTY); mtty_precopy_ioctl.
  inline long ioctl(unsigned long request, void* arg);

 private:
  bool saving_;
  std::vector<std::uint8_t> data_;  ///< struct mtty_data
  std::size_t filled_ = 0;
  std::uint64_t pos_ = 0;  ///< filp->f_pos
  bool disabled_ = false;
  std::weak_ptr<migration_device> dev_;
};

/// The migration state of one device and its DMA log.
class migration_device : public std::enable_shared_from_this<migration_device> {
 public:
  using install_fn = function_ref<int(std::shared_ptr<migration_file>)>;

  migration_device(const migration_description& d, pci_function& hw, bool has_pre_copy)
      : d_(d), hw_(&hw), ports_(d.nr_ports * migration_file::port_size, 0) {
    flags_ = d.flags;
    if (!has_pre_copy) flags_ &= ~abi::migration_flags::pre_copy;                                // 6.1 has no PRE_COPY
    for (unsigned i = 0; i < d_.nr_ports; ++i) ports_[i * migration_file::port_size + 33] = 16;  // max_fifo_size
  }

  std::uint32_t state() const noexcept { return state_; }
  std::uint64_t flags() const noexcept { return flags_; }
  bool logging() const noexcept { return log_active_; }
  std::size_t data_size() const noexcept {
    return migration_file::header_size + d_.nr_ports * migration_file::port_size;  // mtty_data_size
  }

  /// The features this model answers (the core's, given mig_ops and log_ops).
  bool handles(std::uint32_t id) const noexcept {
    namespace fid = abi::feature_id;
    if (id == fid::migration || id == fid::mig_device_state) return true;
    if (id == fid::mig_data_size) return has_data_size_;
    return d_.dma_logging &&
           (id == fid::dma_logging_start || id == fid::dma_logging_stop || id == fid::dma_logging_report);
  }
  void set_has_data_size(bool v) noexcept { has_data_size_ = v; }

  /// open_device of vfio-pci variant drivers (mlx5vf_pci_open_device): RUNNING.
  void open_device() { state_ = abi::mig_device_state::running; }
  /// close_device: the files are disabled (mtty_close) and logging stops.
  void close_device() {
    disable_files();
    log_active_ = false;
    dirty_.clear();
  }
  /// reset_done after VFIO_DEVICE_RESET (mtty_reset, mlx5vf_pci_aer_reset_done):
  /// the deferred reset puts the device in RUNNING and disables the files.
  void reset_done() {
    state_ = abi::mig_device_state::running;
    disable_files();
  }

  /// The device writes [iova, iova + length) of guest memory: pages of tracked
  /// ranges become dirty in the log. True when logging recorded something.
  bool dma_write(std::uint64_t iova, std::uint64_t length) {
    if (!log_active_ || !length || !log_page_) return false;
    bool any = false;
    const std::uint64_t last = iova + length - 1 < iova ? UINT64_MAX : iova + length - 1;
    for (std::uint64_t p = iova & ~(log_page_ - 1); p <= last; p += log_page_) {
      for (const auto& r : log_ranges_)
        if (p >= r.iova && p - r.iova < r.length) {
          dirty_.insert(p);
          any = true;
        }
      if (p + log_page_ < p) break;
    }
    return any;
  }

  /// The core's feature handlers. `install` puts a file in the descriptor table.
  int feature(std::uint32_t flags, std::uint32_t id, unsigned char* data, std::size_t argsz,
              const install_fn& install) {
    namespace fid = abi::feature_id;
    namespace ff = abi::feature_flags;
    if (id == fid::migration) {
      // vfio_ioctl_device_feature_migration
      const int c = check(flags, argsz, ff::get, sizeof(abi::feature_migration));
      if (c != 1) return c;
      abi::feature_migration m{};
      m.flags = flags_;
      std::memcpy(data, &m, sizeof m);
      return 0;
    }
    if (id == fid::mig_device_state) return device_state(flags, data, argsz, install);
    if (id == fid::mig_data_size) {
      // vfio_ioctl_device_feature_migration_data_size -> mtty_get_data_size
      const int c = check(flags, argsz, ff::get, sizeof(abi::feature_mig_data_size));
      if (c != 1) return c;
      abi::feature_mig_data_size s{};
      s.stop_copy_length = data_size();
      std::memcpy(data, &s, sizeof s);
      return 0;
    }
    if (id == fid::dma_logging_start) return log_start(flags, data, argsz);
    if (id == fid::dma_logging_stop) {
      // vfio_ioctl_device_feature_logging_stop -> mlx5vf_stop_page_tracker: 0 even when not started
      const int c = check(flags, argsz, ff::set, 0);
      if (c != 1) return c;
      log_active_ = false;
      dirty_.clear();
      return 0;
    }
    if (id == fid::dma_logging_report) return log_report(flags, data, argsz);
    return -ENOTTY;
  }

 private:
  friend class migration_file;

  /// vfio_check_feature (include/linux/vfio.h).
  static int check(std::uint32_t flags, std::size_t argsz, std::uint32_t supported, std::size_t minsz) {
    namespace ff = abi::feature_flags;
    if ((flags & (ff::get | ff::set)) & ~supported) return -EINVAL;
    if (flags & ff::probe) return 0;
    if (!(flags & (ff::get | ff::set))) return -EINVAL;
    if (argsz < minsz) return -EINVAL;
    return 1;
  }

  /// vfio_ioctl_device_feature_mig_device_state: GET copies the state with
  /// data_fd -1; SET runs the driver's walk, then either installs the returned
  /// file (vfio_ioct_mig_return_fd) or copies data_fd -1 back and returns the
  /// walk's error.
  int device_state(std::uint32_t flags, unsigned char* data, std::size_t argsz, const install_fn& install) {
    namespace ff = abi::feature_flags;
    const int c = check(flags, argsz, ff::get | ff::set, sizeof(abi::feature_mig_state));
    if (c != 1) return c;
    abi::feature_mig_state mig{};
    std::memcpy(&mig, data, sizeof mig);
    if (flags & ff::get) {
      mig.device_state = state_;
      mig.data_fd = -1;
      std::memcpy(data, &mig, sizeof mig);
      return 0;
    }
    std::shared_ptr<migration_file> file;
    const int r = set_state(mig.device_state, file);
    if (r == 0 && file) {
      const int fd = install(std::move(file));
      if (fd < 0) return fd;  // get_unused_fd_flags failed: the driver keeps its own reference
      mig.data_fd = fd;
      std::memcpy(data, &mig, sizeof mig);
      return 0;
    }
    mig.data_fd = -1;
    std::memcpy(data, &mig, sizeof mig);
    return r;
  }

  /// mtty_set_state: step until the target, stopping at the first failing arc
  /// (the device stays where the last good step left it).
  int set_state(std::uint32_t target, std::shared_ptr<migration_file>& out) {
    while (state_ != target) {
      std::uint32_t next = 0;
      if (const int rc = mig_fsm::next_state(flags_, state_, target, next); rc) return rc;
      if (const int rc = injected(state_, next); rc) return rc;
      std::shared_ptr<migration_file> file;
      if (const int rc = step(next, file); rc) return rc;
      state_ = next;
      if (file && next != target) return -EINVAL;  // WARN_ON: a file from an interior arc
      if (file) out = std::move(file);
    }
    return 0;
  }

  int injected(std::uint32_t from, std::uint32_t to) {
    for (std::size_t i = 0; i < d_.arc_faults.size(); ++i) {
      const mig_arc_fault& f = d_.arc_faults[i];
      if (f.from != from || f.to != to) continue;
      const std::uint64_t n = ++fault_hits_[i];
      if (f.nth && f.nth != n) continue;
      if (f.enter_error_state) {
        state_ = abi::mig_device_state::error;
        disable_files();
      }
      return -f.error;
    }
    return 0;
  }

  /// mtty_step_state for one arc from state_ to next.
  int step(std::uint32_t next, std::shared_ptr<migration_file>& file) {
    namespace s = abi::mig_device_state;
    const std::uint32_t cur = state_;
    const auto is = [&](std::uint32_t a, std::uint32_t b) { return cur == a && next == b; };
    if (is(s::resuming, s::stop)) {
      if (const int r = load_state(); r) return r;  // mtty_load_state: incomplete stream
      disable_files();
      return 0;
    }
    if (is(s::pre_copy, s::running) || is(s::pre_copy_p2p, s::running_p2p) || is(s::stop_copy, s::stop)) {
      disable_files();
      return 0;
    }
    if (is(s::running, s::pre_copy) || is(s::running_p2p, s::pre_copy_p2p) || is(s::stop, s::stop_copy) ||
        is(s::pre_copy_p2p, s::stop_copy) || is(s::pre_copy, s::stop_copy)) {
      file = save_device_data(next);
      return 0;
    }
    if (is(s::stop, s::resuming)) {
      resuming_ = std::make_shared<migration_file>(false, data_size(), weak_from_this());
      file = resuming_;
      return 0;
    }
    return 0;  // RUNNING <-> RUNNING_P2P <-> STOP, PRE_COPY <-> PRE_COPY_P2P: nothing to do
  }

  /// mtty_save_device_data: a new file gets the header; STOP_COPY adds the ports.
  /// An existing saving file is not returned again.
  std::shared_ptr<migration_file> save_device_data(std::uint32_t next) {
    std::shared_ptr<migration_file> ret;
    if (!saving_) {
      saving_ = std::make_shared<migration_file>(true, data_size(), weak_from_this());
      std::uint8_t h[migration_file::header_size] = {};
      const std::uint64_t m = migration_file::magic;
      const std::uint32_t major = 1, minor = 0, ports = d_.nr_ports;
      std::memcpy(h, &m, 8);
      std::memcpy(h + 8, &major, 4);
      std::memcpy(h + 12, &minor, 4);
      std::memcpy(h + 16, &ports, 4);
      saving_->append(h, sizeof h);
      ret = saving_;
    }
    if (next == abi::mig_device_state::stop_copy) {
      // mtty_save_state: each port's struct serial_port, its UART registers first.
      for (unsigned i = 0; i < d_.nr_ports; ++i) {
        std::uint8_t* port = ports_.data() + i * migration_file::port_size;
        if (auto mem = bar(i)) std::memcpy(port, mem->data(), 8);
        saving_->append(port, migration_file::port_size);
      }
    }
    return ret;
  }

  /// mtty_load_state: EINVAL unless the whole state arrived.
  int load_state() {
    if (!resuming_ || resuming_->filled() < data_size()) return -EINVAL;
    std::memcpy(ports_.data(), resuming_->data().data() + migration_file::header_size, ports_.size());
    for (unsigned i = 0; i < d_.nr_ports; ++i)
      if (auto mem = bar(i)) std::memcpy(mem->data(), ports_.data() + i * migration_file::port_size, 8);
    return 0;
  }

  std::shared_ptr<device_memory> bar(unsigned i) {
    if (i >= 6 || !hw_->bar(i).size) return nullptr;
    return hw_->bar_memory(i);
  }

  /// mtty_disable_files: the driver lets go of its files; descriptors the user
  /// holds read ENODEV from now on.
  void disable_files() {
    if (saving_) saving_->disable();
    if (resuming_) resuming_->disable();
    saving_.reset();
    resuming_.reset();
  }

  /// vfio_ioctl_device_feature_logging_start, then the driver's log_start
  /// (mlx5vf_start_page_tracker: EINVAL while already logging).
  int log_start(std::uint32_t flags, unsigned char* data, std::size_t argsz) {
    namespace ff = abi::feature_flags;
    const int c = check(flags, argsz, ff::set, sizeof(abi::feature_dma_logging_control));
    if (c != 1) return c;
    abi::feature_dma_logging_control control{};
    std::memcpy(&control, data, sizeof control);
    if (!control.num_ranges) return -EINVAL;
    if (control.num_ranges > 4096 / sizeof(abi::feature_dma_logging_range)) return -E2BIG;  // LOG_MAX_RANGES
    if (!control.ranges) return -EFAULT;
    const auto* user = reinterpret_cast<const abi::feature_dma_logging_range*>(  // NOLINT(performance-no-int-to-ptr)
        static_cast<std::uintptr_t>(control.ranges));
    std::vector<abi::feature_dma_logging_range> ranges;
    const auto aligned = [&](std::uint64_t v) { return (v & (control.page_size - 1)) == 0; };  // IS_ALIGNED
    for (std::uint32_t i = 0; i < control.num_ranges; ++i) {
      const abi::feature_dma_logging_range r = user[i];
      if (!aligned(r.iova) || !aligned(r.length)) return -EINVAL;
      if (r.iova + r.length < r.iova) return -EOVERFLOW;  // check_add_overflow
      for (const auto& o : ranges)                        // interval_tree_iter_first: overlapping ranges
        if (r.length && o.length && r.iova <= o.iova + o.length - 1 && o.iova <= r.iova + r.length - 1) return -EINVAL;
      ranges.push_back(r);
    }
    if (log_active_) return -EINVAL;
    log_active_ = true;
    log_ranges_ = std::move(ranges);
    log_page_ = d_.log_page_size ? d_.log_page_size : control.page_size;
    if (!log_page_ || (log_page_ & (log_page_ - 1))) log_page_ = 4096;
    control.page_size = log_page_;
    dirty_.clear();
    std::memcpy(data, &control, sizeof control);
    return 0;
  }

  /// vfio_ioctl_device_feature_logging_report: the bitmap is walked in u64 words
  /// (iova_bitmap_alloc / iova_bitmap_set); the driver reads and clears its log
  /// (mlx5vf_tracker_read_and_clear: EINVAL while not logging).
  int log_report(std::uint32_t flags, unsigned char* data, std::size_t argsz) {
    namespace ff = abi::feature_flags;
    const int c = check(flags, argsz, ff::get, sizeof(abi::feature_dma_logging_report));
    if (c != 1) return c;
    abi::feature_dma_logging_report rep{};
    std::memcpy(&rep, data, sizeof rep);
    if (rep.page_size < 4096 || (rep.page_size & (rep.page_size - 1))) return -EINVAL;
    if (rep.iova + rep.length < rep.iova) return -EOVERFLOW;
    if (!rep.length) return 0;
    if (!rep.bitmap) return -EFAULT;  // iova_bitmap_get: the pin fails
    if (!log_active_) return -EINVAL;
    auto* words = reinterpret_cast<std::uint64_t*>(  // NOLINT(performance-no-int-to-ptr)
        static_cast<std::uintptr_t>(rep.bitmap));
    const std::uint64_t end = rep.iova + rep.length;
    for (auto it = dirty_.begin(); it != dirty_.end();) {
      const std::uint64_t p = *it;
      if (p + log_page_ <= rep.iova || p >= end) {
        ++it;
        continue;
      }
      const std::uint64_t lo = p < rep.iova ? rep.iova : p;
      const std::uint64_t hi = p + log_page_ > end ? end : p + log_page_;
      for (std::uint64_t b = (lo - rep.iova) / rep.page_size; b <= (hi - 1 - rep.iova) / rep.page_size; ++b)
        words[b / 64] |= std::uint64_t{1} << (b % 64);
      it = dirty_.erase(it);
    }
    return 0;
  }

  migration_description d_;
  pci_function* hw_;
  std::uint64_t flags_ = 0;
  bool has_data_size_ = true;
  std::uint32_t state_ = abi::mig_device_state::running;
  std::vector<std::uint8_t> ports_;  ///< struct serial_port per port (the UART registers live in the BARs)
  std::shared_ptr<migration_file> saving_, resuming_;
  std::map<std::size_t, std::uint64_t> fault_hits_;
  bool log_active_ = false;
  std::uint64_t log_page_ = 0;
  std::vector<abi::feature_dma_logging_range> log_ranges_;
  std::set<std::uint64_t> dirty_;  ///< dirty pages (addresses, log_page_ aligned)
};

inline long migration_file::read(void* buf, std::size_t count) {
  if (!saving_) return -EBADF;  // vfs_read: not FMODE_READ
  if (disabled_) return -ENODEV;
  if (pos_ > filled_) return -EINVAL;
  const std::size_t len = count < filled_ - pos_ ? count : static_cast<std::size_t>(filled_ - pos_);
  if (len) {
    std::memcpy(buf, data_.data() + pos_, len);
    pos_ += len;
    return static_cast<long>(len);
  }
  // The temporary end of pre-copy data: mtty returns 0; the uAPI asks for ENOMSG.
  auto dev = dev_.lock();
  if (dev && dev->d_.precopy_end_enomsg &&
      (dev->state_ == abi::mig_device_state::pre_copy || dev->state_ == abi::mig_device_state::pre_copy_p2p))
    return -ENOMSG;
  return 0;
}

inline long migration_file::write(const void* buf, std::size_t count) {
  if (saving_) return -EBADF;  // vfs_write: not FMODE_WRITE
  if (pos_ + count < pos_) return -EINVAL;
  if (pos_ + count > data_.size()) return -ENOMEM;  // requested_length > mtty_data_size
  if (disabled_) return -ENODEV;
  std::memcpy(data_.data() + pos_, buf, count);
  pos_ += count;
  long ret = static_cast<long>(count);
  if (filled_ < header_size && filled_ + count >= header_size) {
    // mtty_resume_write validates the header once it is complete; the bytes
    // still count as written.
    std::uint64_t m = 0;
    std::uint32_t major = 0, minor = 0, ports = 0, flags = 0;
    std::memcpy(&m, data_.data(), 8);
    std::memcpy(&major, data_.data() + 8, 4);
    std::memcpy(&minor, data_.data() + 12, 4);
    std::memcpy(&ports, data_.data() + 16, 4);
    std::memcpy(&flags, data_.data() + 20, 4);
    auto dev = dev_.lock();
    if (m != magic || flags || major != 1 || minor != 0 || !dev || ports != dev->d_.nr_ports) ret = -EFAULT;
  }
  filled_ += count;
  return ret;
}

inline long migration_file::ioctl(unsigned long request, void* arg) {
  if (!saving_) return -ENOTTY;                                   // no unlocked_ioctl
  if (request != abi::req::mig_get_precopy_info) return -ENOTTY;  // mtty_precopy_ioctl
  if (!arg) return -EFAULT;
  abi::precopy_info info{};
  std::memcpy(&info, arg, sizeof info);
  if (info.argsz < sizeof info) return -EINVAL;
  auto dev = dev_.lock();
  if (!dev || (dev->state_ != abi::mig_device_state::pre_copy && dev->state_ != abi::mig_device_state::pre_copy_p2p))
    return -EINVAL;
  if (disabled_) return -ENODEV;
  if (pos_ > filled_) return -EINVAL;
  info.dirty_bytes = 0;
  info.initial_bytes = filled_ - pos_;
  std::memcpy(arg, &info, sizeof info);
  return 0;
}

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_MIGRATION_DEVICE_HPP_INCLUDED
