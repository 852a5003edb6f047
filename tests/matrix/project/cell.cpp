// One cell of the build matrix: every public header in one TU, plus a program
// that exercises the version, the error model, result<T> and unique_fd.
#include "all_headers.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

#if VFIO_USE_EXCEPTIONS != VFIO_MATRIX_EXPECT_EXCEPTIONS
#error "VFIO_USE_EXCEPTIONS does not follow the compiler's exception mode"
#endif

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

vfio::result<int> parse_digit(char c) noexcept {
  if (c < '0' || c > '9') return vfio::error(vfio::errc::parse_error, "parse_digit");
  return c - '0';
}

vfio::result<void> refuse_busy() noexcept { return vfio::errno_error(EBUSY, "open"); }

#if !VFIO_USE_EXCEPTIONS
void on_bad_access(const vfio::error& e) noexcept {
  // value() on an error must reach this handler with the failing operation.
  const bool ok = failures == 0 && std::strcmp(e.operation(), "parse_digit") == 0 && e == vfio::errc::parse_error;
  std::printf("bad-access handler reached (%s)\n", ok ? "as expected" : "with failures");
  std::fflush(stdout);
  std::_Exit(ok ? 0 : 1);
}
#endif

}  // namespace

int main() {
  constexpr vfio::version_info v = vfio::version();
  char version_text[32];
  std::snprintf(version_text, sizeof version_text, "%d.%d.%d", v.major, v.minor, v.patch);
  std::printf("vfio %s, C++ %ld, exceptions %s\n", version_text, static_cast<long>(__cplusplus),
              VFIO_USE_EXCEPTIONS ? "on" : "off");
  check(std::strcmp(version_text, VFIO_EXPECTED_VERSION) == 0, "vfio::version() is the project version");
  check(VFIO_VERSION == v.major * 10000 + v.minor * 100 + v.patch, "VFIO_VERSION encodes version()");

  const auto seven = parse_digit('7');
  check(seven.has_value() && *seven == 7 && seven.value() == 7, "result<int> holds a value");
  const auto bad = parse_digit('x');
  check(!bad && bad.value_or(-1) == -1, "result<int> holds an error");
  check(bad.error() == vfio::errc::parse_error && std::strcmp(bad.error().operation(), "parse_digit") == 0,
        "the error names its code and operation");
  check(std::string(bad.error().code().category().name()) == "vfio", "library errors are in vfio::category()");

  const auto busy = refuse_busy();
  check(!busy.has_value() && busy.error() == std::errc::device_or_resource_busy, "errno errors compare to std::errc");
  check(busy.error().code().category() == std::system_category(), "errno errors are in std::system_category()");
  check(busy.error().message().find("open") == 0, "error::message() starts with the operation");

  // unique_fd closes through the default (Linux) seam exactly once.
  int fds[2];
  check(::pipe2(fds, O_CLOEXEC) == 0, "pipe2");
  {
    vfio::unique_fd read_end(fds[0]);
    vfio::unique_fd write_end(fds[1]);
    check(read_end.get() == fds[0] && static_cast<bool>(write_end), "unique_fd adopts descriptors");
    check(write_end.close().has_value() && !write_end, "unique_fd::close() succeeds and empties");
  }
  check(::fcntl(fds[0], F_GETFD) == -1 && errno == EBADF, "the destructor closed the descriptor");
  check(::fcntl(fds[1], F_GETFD) == -1 && errno == EBADF, "close() closed the descriptor");

#if VFIO_USE_EXCEPTIONS
  bool threw = false;
  try {
    (void)bad.value();
  } catch (const std::system_error& e) {
    threw = e.code() == vfio::make_error_code(vfio::errc::parse_error);
  }
  check(threw, "value() on an error throws std::system_error with the error's code");
  return failures == 0 ? 0 : 1;
#else
  vfio::set_bad_access_handler(&on_bad_access);
  (void)bad.value();
  std::fprintf(stderr, "FAILED: value() on an error returned\n");
  return 1;
#endif
}
