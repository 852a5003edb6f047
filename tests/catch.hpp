// Includes Catch2's assertion macros from v2 (single header) or v3.
#ifndef VFIO_TESTS_CATCH_HPP_INCLUDED
#define VFIO_TESTS_CATCH_HPP_INCLUDED
#if __has_include(<catch2/catch.hpp>)
#include <catch2/catch.hpp>
#else
#include <catch2/catch_test_macros.hpp>
#endif
#endif
