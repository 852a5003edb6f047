// The umbrella header: the whole public library except the testing seams
// (include <vfio/testing/...> for those).
#ifndef VFIO_VFIO_HPP_INCLUDED
#define VFIO_VFIO_HPP_INCLUDED

#include "abi/kvm.hpp"
#include "abi/pci.hpp"
#include "abi/vfio.hpp"
#include "config.hpp"
#include "container.hpp"
#include "device.hpp"
#include "error.hpp"
#include "eventfd.hpp"
#include "feature.hpp"
#include "group.hpp"
#include "heap_array.hpp"
#include "host/diagnose.hpp"
#include "host/pci_address.hpp"
#include "host/power.hpp"
#include "host/reset_method.hpp"
#include "host/sysfs.hpp"
#include "hot_reset.hpp"
#include "ioeventfd.hpp"
#include "irq.hpp"
#include "kvm.hpp"
#include "notify_irq.hpp"
#include "pci/config.hpp"
#include "pci/config_snapshot.hpp"
#include "pci/power.hpp"
#include "power_states.hpp"
#include "region.hpp"
#include "result.hpp"
#include "span.hpp"
#include "syscalls.hpp"
#include "unique_fd.hpp"
#include "version.hpp"

#endif  // VFIO_VFIO_HPP_INCLUDED
