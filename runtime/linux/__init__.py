"""The only place that speaks to the kernel: ctypes syscalls, mounts, cgroups, capabilities, seccomp."""
