// POSIX/Linux calls that Swift's Glibc module does not export.
#ifndef TRIBUTARY_CPOSIX_SHIM_H
#define TRIBUTARY_CPOSIX_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <unistd.h>

/// Flushes the whole filesystem holding `fd` (group commit of many files in one call).
static inline int tributary_syncfs(int fd) { return syncfs(fd); }
#endif
