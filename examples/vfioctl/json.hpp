// vfioctl's JSON output: a small streaming writer (objects, arrays, strings,
// integers, booleans, null), one document per run, compact, newline-terminated.
#ifndef VFIOCTL_JSON_HPP_INCLUDED
#define VFIOCTL_JSON_HPP_INCLUDED

#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace vfioctl {

class json {
 public:
  explicit json(std::FILE* out) : out_(out) {}

  json& begin_object(const char* key = nullptr) { return open(key, '{', '}'); }
  json& end_object() { return close(); }
  json& begin_array(const char* key = nullptr) { return open(key, '[', ']'); }
  json& end_array() { return close(); }

  json& field(const char* key, std::string_view v) {
    prefix(key);
    string(v);
    return *this;
  }
  json& field(const char* key, const char* v) {
    if (v == nullptr) return null(key);
    return field(key, std::string_view(v));
  }
  json& field(const char* key, const std::string& v) { return field(key, std::string_view(v)); }
  json& field(const char* key, bool v) {
    prefix(key);
    std::fputs(v ? "true" : "false", out_);
    return *this;
  }
  json& field(const char* key, std::int64_t v) {
    prefix(key);
    std::fprintf(out_, "%" PRId64, v);
    return *this;
  }
  json& field(const char* key, std::uint64_t v) {
    prefix(key);
    std::fprintf(out_, "%" PRIu64, v);
    return *this;
  }
  json& field(const char* key, unsigned v) { return field(key, static_cast<std::uint64_t>(v)); }
  json& field(const char* key, int v) { return field(key, static_cast<std::int64_t>(v)); }
  json& null(const char* key) {
    prefix(key);
    std::fputs("null", out_);
    return *this;
  }
  /// An array element.
  json& value(std::string_view v) { return field(nullptr, v); }

  /// How many objects and arrays are open.
  std::size_t depth() const { return closers_.size(); }
  /// Closes open objects and arrays until `depth` remain (an error found
  /// half-way through a listing still yields a valid document).
  json& unwind(std::size_t depth) {
    while (closers_.size() > depth) close();
    return *this;
  }
  /// Ends the document with a newline.
  void finish() {
    unwind(0);
    std::fputc('\n', out_);
  }

 private:
  json& open(const char* key, char opener, char closer) {
    prefix(key);
    std::fputc(opener, out_);
    first_.push_back(true);
    closers_.push_back(closer);
    return *this;
  }
  json& close() {
    if (closers_.empty()) return *this;
    std::fputc(closers_.back(), out_);
    closers_.pop_back();
    first_.pop_back();
    return *this;
  }
  void prefix(const char* key) {
    if (!first_.empty()) {
      if (!first_.back()) std::fputc(',', out_);
      first_.back() = false;
    }
    if (key != nullptr) {
      string(key);
      std::fputc(':', out_);
    }
  }
  void string(std::string_view s) {
    std::fputc('"', out_);
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\')
        std::fprintf(out_, "\\%c", ch);
      else if (c == '\n')
        std::fputs("\\n", out_);
      else if (c == '\t')
        std::fputs("\\t", out_);
      else if (c < 0x20)
        std::fprintf(out_, "\\u%04x", c);
      else
        std::fputc(ch, out_);
    }
    std::fputc('"', out_);
  }

  std::FILE* out_;
  std::vector<bool> first_;
  std::vector<char> closers_;
};

}  // namespace vfioctl

#endif  // VFIOCTL_JSON_HPP_INCLUDED
