#ifndef FLOW_CPROCESS_SUPPORT_H
#define FLOW_CPROCESS_SUPPORT_H
#include <sys/types.h>

/// Spawns `path` with `argv`/`envp` in `cwd`, in a new process group (or a new session when `new_session`),
/// with default signal dispositions and an empty signal mask, stdin/stdout/stderr from the given fds and
/// `extra_fd` (if >= 0) as fd 3; every other descriptor is closed in the child. Returns 0 or an errno.
int flow_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
               int stdin_fd, int stdout_fd, int stderr_fd, int extra_fd, int new_session, pid_t *pid_out);

/// pidfd_open(2): a descriptor that becomes readable when `pid` exits; -1 with errno on failure.
int flow_pidfd_open(pid_t pid);

/// An inotify descriptor watching `dir` for created and modified files; -1 with errno on failure.
int flow_inotify_watch_dir(const char *dir);

/// pipe2(2) with O_CLOEXEC (and O_NONBLOCK on the read end when `nonblocking_read`).
int flow_pipe(int fds[2], int nonblocking_read);

/// Makes `dst_fd` share `src_fd`'s blocks (FICLONE) where the file system can; 0 on success.
int flow_clone_file(int src_fd, int dst_fd);

/// Copies up to `length` bytes from `src_fd` to `dst_fd` inside the kernel (copy_file_range), from and to the
/// descriptors' offsets; the bytes copied, 0 at the end of the source, -1 with errno on error.
long flow_copy_range(int src_fd, int dst_fd, unsigned long length);

/// Starts writing `length` bytes of `fd` from `offset` to disk without waiting (sync_file_range WRITE), after
/// waiting for the writeback of the range before it (`wait_offset`, `wait_length`; length 0 waits for none) so
/// that dirty pages stay bounded while a big file is written. 0 on success, -1 with errno.
int flow_writeback(int fd, long long offset, long long length, long long wait_offset, long long wait_length);

/// Clock ticks per second, for /proc/<pid>/stat start times.
long flow_clock_ticks(void);

#endif
