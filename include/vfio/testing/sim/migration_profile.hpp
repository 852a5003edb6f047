// What a migratable simulated device offers: the description a
// device_description carries in `migration` (sim/device_profile.hpp). The
// model itself is sim/migration_device.hpp.
#ifndef VFIO_TESTING_SIM_MIGRATION_PROFILE_HPP_INCLUDED
#define VFIO_TESTING_SIM_MIGRATION_PROFILE_HPP_INCLUDED

#include <cerrno>
#include <cstdint>
#include <vector>

#include "../../abi/vfio.hpp"

namespace vfio::testing::sim {

/// An arc of the migration FSM the driver fails (the arc's step, as the
/// driver's migration_set_state loop sees it; a SET that walks several arcs
/// stops there, in `from`).
struct mig_arc_fault {
  std::uint32_t from = abi::mig_device_state::running;  ///< abi::mig_device_state
  std::uint32_t to = abi::mig_device_state::stop;
  int error = EIO;                 ///< positive errno the SET returns
  bool enter_error_state = false;  ///< the device lands in ERROR (otherwise it stays in `from`)
  std::uint64_t nth = 0;           ///< 0: every time; n > 0: only the n-th time the arc is taken
};

/// The migration driver of a device: mtty's data stream (samples/vfio-mdev/mtty.c)
/// behind vfio_pci_core's migration hooks, with mlx5-like DMA logging.
struct migration_description {
  /// VFIO_DEVICE_FEATURE_MIGRATION flags (mtty: STOP_COPY | P2P | PRE_COPY). On
  /// kernel_version::v6_1 PRE_COPY is not reported (it arrived in 6.2).
  std::uint64_t flags = abi::migration_flags::stop_copy | abi::migration_flags::p2p | abi::migration_flags::pre_copy;
  /// Serial ports (mtty-1 or mtty-2): the stream is a 24-byte header then 36
  /// bytes per port (mtty-2: 96, MIG_DATA_SIZE). Port i's UART registers are the
  /// first 8 bytes of BAR i.
  unsigned nr_ports = 2;
  /// read(2) at the temporary end of pre-copy data: 0 as mtty (6.12) does, or
  /// ENOMSG as the uAPI asks.
  bool precopy_end_enomsg = false;
  /// DMA_LOGGING_START / STOP / REPORT offered (log_ops).
  bool dma_logging = true;
  /// The page size logging tracks with, written back by START; 0: the one asked.
  std::uint64_t log_page_size = 0;
  /// Arcs that fail (first matching entry wins).
  std::vector<mig_arc_fault> arc_faults;
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_MIGRATION_PROFILE_HPP_INCLUDED
