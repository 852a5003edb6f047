// Build configuration of the vfio library: exception mode and ABI tag.
#ifndef VFIO_CONFIG_HPP_INCLUDED
#define VFIO_CONFIG_HPP_INCLUDED

// VFIO_USE_EXCEPTIONS: 1 when result<T>::value() may throw std::system_error,
// 0 when it calls the bad-access handler instead. Detected from the compiler's
// exception mode; define it yourself to override.
#if !defined(VFIO_USE_EXCEPTIONS)
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define VFIO_USE_EXCEPTIONS 1
#else
#define VFIO_USE_EXCEPTIONS 0
#endif
#endif

// The only code whose body depends on the exception mode lives in this inline
// namespace, so translation units built in different modes never share (and the
// linker never silently merges) two different definitions. Layouts are identical.
#if VFIO_USE_EXCEPTIONS
#define VFIO_MODE_NAMESPACE mode_exceptions
#else
#define VFIO_MODE_NAMESPACE mode_no_exceptions
#endif

#endif  // VFIO_CONFIG_HPP_INCLUDED
