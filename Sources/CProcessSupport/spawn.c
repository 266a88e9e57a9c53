#define _GNU_SOURCE
#include "CProcessSupport.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <sys/syscall.h>
#include <unistd.h>

int flow_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
               int stdin_fd, int stdout_fd, int stderr_fd, int extra_fd, int new_session, pid_t *pid_out) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) { posix_spawn_file_actions_destroy(&actions); return rc; }

    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    flags |= new_session ? POSIX_SPAWN_SETSID : POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setflags(&attr, flags);
    if (!new_session) posix_spawnattr_setpgroup(&attr, 0);
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &all);

    /* Copy the chosen fds to fresh numbers >= 1000 first (the lowest free ones there, distinct from each other
       and from 0..3), so the dup2s onto 0..3 below cannot clobber a source. */
    int src[4] = {stdin_fd, stdout_fd, stderr_fd, extra_fd};
    int tmp[4] = {-1, -1, -1, -1};
    for (int i = 0; i < 4; i++) {
        if (src[i] >= 0) {
            tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 1000);
            if (tmp[i] < 0) { rc = errno; goto done; }
            posix_spawn_file_actions_adddup2(&actions, tmp[i], i);
        }
    }
    posix_spawn_file_actions_addclosefrom_np(&actions, extra_fd >= 0 ? 4 : 3);
    if (cwd) posix_spawn_file_actions_addchdir_np(&actions, cwd);

    rc = posix_spawn(pid_out, path, &actions, &attr, argv, envp);
done:
    for (int i = 0; i < 4; i++) if (tmp[i] >= 0) close(tmp[i]);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc;
}

int flow_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int flow_inotify_watch_dir(const char *dir) {
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return -1;
    if (inotify_add_watch(fd, dir, IN_CREATE | IN_MODIFY | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

long flow_clock_ticks(void) { return sysconf(_SC_CLK_TCK); }

int flow_pipe(int fds[2], int nonblocking_read) {
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    if (nonblocking_read) fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    return 0;
}

int flow_clone_file(int src_fd, int dst_fd) {
#ifdef FICLONE
    return ioctl(dst_fd, FICLONE, src_fd) == 0 ? 0 : -1;
#else
    (void)src_fd; (void)dst_fd;
    return -1;
#endif
}

int flow_writeback(int fd, long long offset, long long length, long long wait_offset, long long wait_length) {
    if (wait_length > 0 &&
        sync_file_range(fd, wait_offset, wait_length,
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) != 0)
        return -1;
    return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
}

long flow_copy_range(int src_fd, int dst_fd, unsigned long length) {
    return (long)copy_file_range(src_fd, NULL, dst_fd, NULL, length, 0);
}
