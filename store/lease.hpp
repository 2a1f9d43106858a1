// Owners of leases (store/index.hpp LeaseRecord): who this process is, and
// whether the process that took a lease still runs. A lease names its owner by
// pid, the pid's start time (clock ticks after boot, /proc/PID/stat field 22:
// a reused pid has another) and the boot id, so a lease left by a killed build
// or from before a reboot is seen dead, never mistaken for a live one.
#pragma once

#include <string>

#include "store/index.hpp"

namespace mkimage::store {

// This boot's id (/proc/sys/kernel/random/boot_id, read once; "" if unreadable).
std::string boot_id();

// A new lease of this process: random id, pid, pid_start, boot_id, description.
LeaseRecord new_lease_record(const std::string& description);

// True while the lease's owner process runs (the same boot, the same pid
// started at the same time). A lease of this process is alive.
bool lease_owner_alive(const LeaseRecord& lease);

}  // namespace mkimage::store
