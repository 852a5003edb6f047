// tracing_syscalls: a decorator over any seam that records every call the
// library makes, normalized so that a run against the real kernel and a run
// against the simulated one can be compared line by line.
#ifndef VFIO_TESTING_TRACING_SYSCALLS_HPP_INCLUDED
#define VFIO_TESTING_TRACING_SYSCALLS_HPP_INCLUDED

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "../abi/vfio.hpp"
#include "../syscalls.hpp"
#include "ioctl_names.hpp"

namespace vfio::testing {

/// The errno name for a negative result ("-EINVAL"), or the number.
inline std::string errno_name(long negative_errno) {
  static const std::pair<int, const char*> names[] = {
      {EPERM, "EPERM"},   {ENOENT, "ENOENT"},   {EINTR, "EINTR"},         {EIO, "EIO"},       {ENXIO, "ENXIO"},
      {E2BIG, "E2BIG"},   {EBADF, "EBADF"},     {EAGAIN, "EAGAIN"},       {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"},
      {EFAULT, "EFAULT"}, {EBUSY, "EBUSY"},     {EEXIST, "EEXIST"},       {ENODEV, "ENODEV"}, {ENOTDIR, "ENOTDIR"},
      {EINVAL, "EINVAL"}, {ENOTTY, "ENOTTY"},   {ENOSPC, "ENOSPC"},       {ESPIPE, "ESPIPE"}, {ERANGE, "ERANGE"},
      {ENOSYS, "ENOSYS"}, {ENOTSUP, "ENOTSUP"}, {ETIMEDOUT, "ETIMEDOUT"}, {EPROTO, "EPROTO"}, {EOVERFLOW, "EOVERFLOW"},
  };
  for (const auto& n : names)
    if (-negative_errno == n.first) return std::string("-") + n.second;
  return std::to_string(negative_errno);
}

/// Records each call as one line: "<call> <object> <details> -> <result>".
/// Descriptors are named by what they are and the order they appeared in
/// (container#0, group#0, device#0 (also a cdev, /dev/vfio/devices/vfioN),
/// iommufd#0 (/dev/iommu), eventfd#0, migration#0: the data_fd of
/// a MIG_DEVICE_STATE SET, noted as " data_fd=migration#N" on that line), so
/// numbering differences between kernels vanish. sysfs attribute accesses (open/read/close of a path
/// outside /dev) become one line at close:
///   "sysfs <path> = <value>"          read (trailing newline stripped)
///   "sysfs <path> <- <value>"         written ("<value> -EINVAL" when refused)
///   "sysfs <path> pread N@OFF -> R"   binary file (e.g. config) read with pread
///   "sysfs <path> exists"             opened and closed without I/O (a directory probe)
///   "sysfs <path> = a b c"            a directory listed with getdents64 (names in order)
///   "sysfs <path> -ENOENT"            open failed
/// and within a run of consecutive sysfs/readlink lines, a read of a path
/// replaces the previous read of the same path in place, unless the path was
/// written in between: a polling loop records the state it settled on, not how
/// many polls that took, while a read, a write and a read-back stay three lines.
/// access(2) and readlink(2) join the run as "access <path> <mode> -> <result>";
/// getrlimit(2) is a line of its own. The clock (monotonic_ns, sleep_ns) is not traced.
class tracing_syscalls final : public syscalls {
 public:
  explicit tracing_syscalls(syscalls& inner) noexcept : inner_(&inner) {}

  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  std::string text() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string s;
    for (const auto& l : lines_) s += l + "\n";
    return s;
  }
  /// Adds a line of the caller's own (a scenario step marker, an observation).
  void note(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    append(line);
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.clear();
    run_.clear();
    run_start_ = 0;
  }

  int open(const char* path, int flags, unsigned mode) noexcept override {
    const int r = inner_->open(path, flags, mode);
    std::lock_guard<std::mutex> lock(mu_);
    const std::string p = path;
    if (p.rfind("/dev/", 0) != 0) {
      if (r >= 0)
        files_[r] = file_state{p, ""};
      else
        append_sysfs("sysfs " + p, " " + errno_name(r), false);
      return r;
    }
    const char* kind = p == "/dev/vfio/vfio"                   ? "container"
                       : p == "/dev/iommu"                     ? "iommufd"
                       : p.rfind("/dev/vfio/devices/", 0) == 0 ? "device"
                                                               : "group";
    std::string line = "open " + p + " -> ";
    line += r >= 0 ? name_new(r, kind) : errno_name(r);
    append(line);
    return r;
  }
  int close(int fd) noexcept override {
    const int r = inner_->close(fd);
    std::lock_guard<std::mutex> lock(mu_);
    auto f = files_.find(fd);
    if (f != files_.end()) {
      const file_state& st = f->second;
      std::string rest;
      if (st.wrote)
        rest = " <- " + st.value;
      else if (st.preads)
        rest = " " + st.value;
      else if (st.reads)
        rest = " = " + st.value;
      else
        rest = " exists";
      append_sysfs("sysfs " + st.path, rest, st.wrote);
      files_.erase(f);
      return r;
    }
    append("close " + name_of(fd) + " -> " + result_text(r));
    names_.erase(fd);
    return r;
  }
  int ioctl(int fd, unsigned long request, void* arg) noexcept override {
    std::uint32_t in[2] = {0, 0};
    const bool is_struct = arg && request != abi::req::group_set_container && request != abi::req::group_get_device_fd;
    if (is_struct) std::memcpy(in, arg, request == abi::req::device_feature ? 8 : 4);
    std::string detail;
    if (request == abi::req::group_get_device_fd && arg)
      detail = std::string(" \"") + static_cast<const char*>(arg) + "\"";
    const int r = inner_->ioctl(fd, request, arg);
    std::lock_guard<std::mutex> lock(mu_);
    std::string line = "ioctl " + name_of(fd) + " " + request_name(fd, request);
    if (request == abi::req::device_feature)
      line += " flags=" + hex(in[1]) + " argsz=" + std::to_string(in[0]);
    else if (is_struct)
      line += " argsz=" + std::to_string(in[0]);
    line += detail + " -> ";
    if (r >= 0 && request == abi::req::group_get_device_fd)
      line += name_new(r, "device");
    else
      line += result_text(r);
    // A MIG_DEVICE_STATE SET that opens a migration session returns its data_fd
    // in the payload (vfio_ioctl_device_feature_mig_device_state): named
    // "migration#N", so that its reads and writes trace without fd numbers.
    if (r >= 0 && request == abi::req::device_feature && !(in[1] & abi::feature_flags::probe) &&
        (in[1] & (abi::feature_flags::mask | abi::feature_flags::set)) ==
            (abi::feature_id::mig_device_state | abi::feature_flags::set) &&
        in[0] >= sizeof(abi::device_feature) + sizeof(abi::feature_mig_state)) {
      abi::feature_mig_state st{};
      std::memcpy(&st, static_cast<const unsigned char*>(arg) + sizeof(abi::device_feature), sizeof st);
      if (st.data_fd >= 0) line += " data_fd=" + name_new(st.data_fd, "migration");
    }
    append(line);
    return r;
  }
  int ioctl_value(int fd, unsigned long request, unsigned long value) noexcept override {
    const int r = inner_->ioctl_value(fd, request, value);
    std::lock_guard<std::mutex> lock(mu_);
    append("ioctl " + name_of(fd) + " " + request_name(fd, request) + " " + std::to_string(value) + " -> " +
           result_text(r));
    return r;
  }
  long pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept override {
    const long r = inner_->pread(fd, buf, count, offset);
    std::lock_guard<std::mutex> lock(mu_);
    auto f = files_.find(fd);
    if (f != files_.end()) {  // a binary sysfs file: record the transfer, not the bytes
      f->second.preads = true;
      f->second.value =
          "pread " + std::to_string(count) + "@" + hex64(static_cast<std::uint64_t>(offset)) + " -> " + result_text(r);
      return r;
    }
    std::string line =
        "pread " + name_of(fd) + " " + region_offset(offset) + " " + std::to_string(count) + " -> " + result_text(r);
    if (r > 0 && count <= 8) line += " data=" + bytes(buf, static_cast<std::size_t>(r));
    append(line);
    return r;
  }
  long pwrite(int fd, const void* buf, std::size_t count, std::int64_t offset) noexcept override {
    const long r = inner_->pwrite(fd, buf, count, offset);
    std::lock_guard<std::mutex> lock(mu_);
    std::string line = "pwrite " + name_of(fd) + " " + region_offset(offset) + " " + std::to_string(count);
    if (count <= 8) line += " data=" + bytes(buf, count);
    append(line + " -> " + result_text(r));
    return r;
  }
  long read(int fd, void* buf, std::size_t count) noexcept override {
    const long r = inner_->read(fd, buf, count);
    std::lock_guard<std::mutex> lock(mu_);
    auto f = files_.find(fd);
    if (f != files_.end()) {
      f->second.reads = true;
      if (r > 0)
        f->second.value.append(static_cast<const char*>(buf), static_cast<std::size_t>(r));
      else if (r < 0)
        f->second.value = errno_name(r);
      trim(f->second.value);
      return r;
    }
    std::string line = "read " + name_of(fd) + " " + std::to_string(count) + " -> " + result_text(r);
    if (r == 8) {
      std::uint64_t v;
      std::memcpy(&v, buf, 8);
      line += " value=" + std::to_string(v);
    }
    append(line);
    return r;
  }
  long write(int fd, const void* buf, std::size_t count) noexcept override {
    const long r = inner_->write(fd, buf, count);
    std::lock_guard<std::mutex> lock(mu_);
    auto f = files_.find(fd);
    if (f != files_.end()) {
      f->second.wrote = true;
      f->second.value = std::string(static_cast<const char*>(buf), count);
      trim(f->second.value);
      if (r < 0) f->second.value += " " + errno_name(r);
      return r;
    }
    append("write " + name_of(fd) + " " + std::to_string(count) + " -> " + result_text(r));
    return r;
  }
  int mmap(void** addr, std::size_t length, int prot, int flags, int fd, std::int64_t offset) noexcept override {
    const int r = inner_->mmap(addr, length, prot, flags, fd, offset);
    std::lock_guard<std::mutex> lock(mu_);
    append("mmap " + name_of(fd) + " " + region_offset(offset) + " " + std::to_string(length) + " -> " +
           result_text(r));
    return r;
  }
  int munmap(void* addr, std::size_t length) noexcept override {
    const int r = inner_->munmap(addr, length);
    std::lock_guard<std::mutex> lock(mu_);
    append("munmap " + std::to_string(length) + " -> " + result_text(r));
    return r;
  }
  int eventfd(unsigned initval, int flags) noexcept override {
    const int r = inner_->eventfd(initval, flags);
    std::lock_guard<std::mutex> lock(mu_);
    append("eventfd " + std::to_string(initval) + " -> " + (r >= 0 ? name_new(r, "eventfd") : errno_name(r)));
    return r;
  }
  long readlink(const char* path, char* buf, std::size_t size) noexcept override {
    const long r = inner_->readlink(path, buf, size);
    std::lock_guard<std::mutex> lock(mu_);
    append_sysfs(std::string("readlink ") + path,
                 " -> " + (r >= 0 ? std::string(buf, static_cast<std::size_t>(r)) : errno_name(r)), false);
    return r;
  }
  int poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept override {
    const int r = inner_->poll(fds, nfds, timeout_ms);
    std::lock_guard<std::mutex> lock(mu_);
    std::string line = "poll";
    for (std::size_t i = 0; i < nfds; ++i) line += " " + name_of(fds[i].fd);
    line += " -> " + result_text(r);
    if (r > 0 && nfds) line += " revents=" + hex(static_cast<std::uint32_t>(fds[0].revents));
    append(line);
    return r;
  }
  int access(const char* path, int mode) noexcept override {
    const int r = inner_->access(path, mode);
    std::lock_guard<std::mutex> lock(mu_);
    append_sysfs(std::string("access ") + path + " " + access_mode(mode), " -> " + result_text(r), false);
    return r;
  }
  long getdents64(int fd, void* buf, std::size_t size) noexcept override {
    const long r = inner_->getdents64(fd, buf, size);
    std::lock_guard<std::mutex> lock(mu_);
    auto f = files_.find(fd);
    if (f != files_.end()) {  // a directory listing: record the names, not the records
      f->second.reads = true;
      if (r < 0) f->second.value = errno_name(r);
      for (long at = 0; r > 0 && at + 19 < r;) {
        const auto* rec = static_cast<const unsigned char*>(buf) + at;
        std::uint16_t reclen;
        std::memcpy(&reclen, rec + 16, sizeof reclen);
        if (reclen == 0) break;
        const std::string name(reinterpret_cast<const char*>(rec + 19));
        if (name != "." && name != "..") f->second.value += (f->second.value.empty() ? "" : " ") + name;
        at += reclen;
      }
      return r;
    }
    append("getdents64 " + name_of(fd) + " -> " + result_text(r));
    return r;
  }
  int getrlimit(int resource, struct rlimit* limit) noexcept override {
    const int r = inner_->getrlimit(resource, limit);
    std::lock_guard<std::mutex> lock(mu_);
    std::string line =
        "getrlimit " + std::string(resource == RLIMIT_MEMLOCK ? "RLIMIT_MEMLOCK" : std::to_string(resource));
    line += " -> " + result_text(r);
    if (r == 0 && limit)
      line += " cur=" + (limit->rlim_cur == RLIM_INFINITY ? std::string("unlimited") : std::to_string(limit->rlim_cur));
    append(line);
    return r;
  }
  std::int64_t monotonic_ns() noexcept override { return inner_->monotonic_ns(); }
  int sleep_ns(std::int64_t ns) noexcept override { return inner_->sleep_ns(ns); }

 private:
  struct file_state {
    std::string path;
    std::string value;
    bool wrote = false;
    bool reads = false;
    bool preads = false;
  };
  // One line of the current run of sysfs/readlink lines.
  struct run_entry {
    std::string key;  // "sysfs <path>" or "readlink <path>"
    bool wrote;
  };

  // Appends a line that ends the current run of sysfs lines.
  void append(const std::string& line) {
    lines_.push_back(line);
    run_.clear();
    run_start_ = lines_.size();
  }
  // Appends "<key><rest>". A read replaces the latest line of the same key in
  // the run if that line was a read too (first position kept: independent of
  // how many polls it took); a write is always a line of its own.
  void append_sysfs(const std::string& key, const std::string& rest, bool wrote) {
    if (!wrote) {
      for (std::size_t i = run_.size(); i-- > 0;) {
        if (run_[i].key != key) continue;
        if (!run_[i].wrote) {
          lines_[run_start_ + i] = key + rest;
          return;
        }
        break;
      }
    }
    lines_.push_back(key + rest);
    run_.push_back(run_entry{key, wrote});
  }
  std::string name_new(int fd, const char* kind) {
    std::string n = std::string(kind) + "#" + std::to_string(counters_[kind]++);
    names_[fd] = n;
    return n;
  }
  std::string name_of(int fd) const {
    auto it = names_.find(fd);
    return it != names_.end() ? it->second : "fd?" + std::to_string(fd);
  }
  /// A container, or an iommufd: iommufd answers the VFIO container numbers
  /// itself (vfio_compat.c), and a device's never reach it.
  bool is_container(int fd) const {
    auto it = names_.find(fd);
    return it != names_.end() && (it->second.rfind("container", 0) == 0 || it->second.rfind("iommufd", 0) == 0);
  }
  std::string request_name(int fd, unsigned long request) const {
    return ioctl_text(request, is_container(fd) ? ioctl_target::container : ioctl_target::group_or_device);
  }
  static std::string region_offset(std::int64_t offset) {
    // vfio-pci encodes the region index above bit 40 (VFIO_PCI_OFFSET_SHIFT in
    // drivers/vfio/pci/vfio_pci_priv.h); show it as region:offset for reading.
    const std::uint64_t o = static_cast<std::uint64_t>(offset);
    return "r" + std::to_string(o >> 40) + "+" + hex64(o & ((std::uint64_t{1} << 40) - 1));
  }
  static std::string access_mode(int mode) {
    if (mode == F_OK) return "F_OK";
    std::string s;
    if (mode & R_OK) s += "R";
    if (mode & W_OK) s += "W";
    if (mode & X_OK) s += "X";
    return s + "_OK";
  }
  static std::string result_text(long r) { return r >= 0 ? std::to_string(r) : errno_name(r); }
  static std::string hex(std::uint32_t v) {
    char b[16];
    std::snprintf(b, sizeof b, "0x%x", v);
    return b;
  }
  static std::string hex64(std::uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
    return b;
  }
  static std::string bytes(const void* p, std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
      char b[4];
      std::snprintf(b, sizeof b, "%02x", static_cast<const std::uint8_t*>(p)[i]);
      s += b;
    }
    return s;
  }
  static void trim(std::string& s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\0' || s.back() == ' ')) s.pop_back();
  }

  syscalls* inner_;
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
  std::size_t run_start_ = 0;  // index in lines_ of run_[0]
  std::vector<run_entry> run_;
  std::map<int, std::string> names_;
  std::map<std::string, int> counters_;
  std::map<int, file_state> files_;
};

}  // namespace vfio::testing

#endif  // VFIO_TESTING_TRACING_SYSCALLS_HPP_INCLUDED
