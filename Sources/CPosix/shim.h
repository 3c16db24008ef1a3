// POSIX/Linux calls that Swift's Glibc module does not export.
#ifndef TRIBUTARY_CPOSIX_SHIM_H
#define TRIBUTARY_CPOSIX_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <unistd.h>
#include <sys/inotify.h>
#include <malloc.h>

/// Flushes the whole filesystem holding `fd` (group commit of many files in one call).
static inline int tributary_syncfs(int fd) { return syncfs(fd); }

/// inotify (Linux): the inbox watcher's event source.
static inline int tributary_inotify_init(void) { return inotify_init1(IN_NONBLOCK | IN_CLOEXEC); }
static inline int tributary_inotify_add_watch(int fd, const char *path, unsigned int mask) { return inotify_add_watch(fd, path, mask); }
static const unsigned int TRIBUTARY_IN_CLOSE_WRITE = IN_CLOSE_WRITE;
static const unsigned int TRIBUTARY_IN_MOVED_TO = IN_MOVED_TO;
static const unsigned int TRIBUTARY_IN_CREATE = IN_CREATE;
static const unsigned int TRIBUTARY_IN_ISDIR = IN_ISDIR;
static const unsigned int TRIBUTARY_IN_Q_OVERFLOW = IN_Q_OVERFLOW;
static const unsigned int TRIBUTARY_IN_ATTRIB = IN_ATTRIB;
static const unsigned int TRIBUTARY_IN_IGNORED = IN_IGNORED;

/// pipe2(2) (GNU): the pipe that ends a cancelled wait in poll(2) (`ReadableWait`).
static inline int tributary_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

/// Caps glibc's malloc arenas (M_ARENA_MAX): the edge agent keeps one (TributaryEdgeCommand).
static inline int tributary_malloc_arena_max(int arenas) { return mallopt(M_ARENA_MAX, arenas); }
/// Fixes glibc's mmap and trim thresholds (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD) at `bytes`: without
/// this glibc raises both each time a large block is freed, so later large buffers come from the heap
/// and stay there after a burst (TributaryEdgeCommand). Nonzero when both were set.
static inline int tributary_malloc_fixed_thresholds(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes) && mallopt(M_TRIM_THRESHOLD, bytes);
}
/// malloc_trim(3): gives the heap's free pages back to the kernel (the batcher, once a burst is over).
static inline int tributary_malloc_trim(void) { return malloc_trim(0); }
#endif
