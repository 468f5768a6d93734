/* sig: stop/reload flags set by signal handlers, a self-pipe and a drain helper. */
#include "sig.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

/* Poll interval of sig_drain(). */
#define SIG_DRAIN_STEP_MS 5

static volatile sig_atomic_t sig_stop;
static volatile sig_atomic_t sig_reload;
static volatile sig_atomic_t sig_pipe_r = -1;
static volatile sig_atomic_t sig_pipe_w = -1;

/* Async-signal-safe: one byte into the self-pipe; a full pipe already wakes
 * the reader, so EAGAIN is fine. errno is preserved for the interrupted code. */
static void sig_poke(void) {
    int saved = errno;
    int fd = sig_pipe_w;
    if (fd >= 0) {
        ssize_t r = write(fd, "x", 1);
        (void)r;
    }
    errno = saved;
}

static void sig_on_stop(int signo) {
    (void)signo;
    sig_stop = 1;
    sig_poke();
}

static void sig_on_reload(int signo) {
    (void)signo;
    sig_reload = 1;
    sig_poke();
}

/* Sets O_NONBLOCK and FD_CLOEXEC. 0 or -1. */
static int sig_fd_setup(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

static int sig_set(int signo, void (*handler)(int), int flags) {
    struct sigaction sa;
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    return sigaction(signo, &sa, NULL);
}

int sig_mask_handled(int how) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return pthread_sigmask(how, &set, NULL);
}

int sig_install(void) {
    int saved;
    if (sig_pipe_r < 0) {
        int fds[2];
        if (pipe(fds) != 0)
            return -1;
        if (sig_fd_setup(fds[0]) != 0 || sig_fd_setup(fds[1]) != 0) {
            saved = errno;
            close(fds[0]);
            close(fds[1]);
            errno = saved;
            return -1;
        }
        sig_pipe_r = fds[0];
        sig_pipe_w = fds[1];
    }
    if (sig_set(SIGTERM, sig_on_stop, 0) != 0 || sig_set(SIGINT, sig_on_stop, 0) != 0 ||
        sig_set(SIGHUP, sig_on_reload, SA_RESTART) != 0 || sig_set(SIGPIPE, SIG_IGN, 0) != 0) {
        saved = errno;
        sig_uninstall();
        errno = saved;
        return -1;
    }
    return 0;
}

void sig_uninstall(void) {
    sig_set(SIGTERM, SIG_DFL, 0);
    sig_set(SIGINT, SIG_DFL, 0);
    sig_set(SIGHUP, SIG_DFL, 0);
    sig_set(SIGPIPE, SIG_DFL, 0);
    int r = sig_pipe_r, w = sig_pipe_w;
    sig_pipe_r = -1;
    sig_pipe_w = -1;
    if (r >= 0)
        close(r);
    if (w >= 0)
        close(w);
    sig_stop = 0;
    sig_reload = 0;
}

void sig_finish(void) {
    sig_uninstall();
    sig_set(SIGTERM, SIG_IGN, 0);
    sig_set(SIGINT, SIG_IGN, 0);
    sig_set(SIGHUP, SIG_IGN, 0);
}

int sig_wakeup_fd(void) {
    return sig_pipe_r;
}

int sig_stop_requested(void) {
    return sig_stop != 0;
}

/* Empties the self-pipe unless a stop is pending (then it stays readable). */
static void sig_pipe_drain(void) {
    char buf[64];
    int fd = sig_pipe_r;
    if (fd < 0 || sig_stop)
        return;
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

int sig_take_reload(void) {
    /* Only a stop or a reload writes the pipe, so there is nothing to drain
     * without a reload: no read() per call (billing calls it per record). */
    if (!sig_reload)
        return 0;
    sig_reload = 0;
    sig_pipe_drain();
    return 1;
}

void sig_request_stop(void) {
    sig_stop = 1;
    sig_poke();
}

int sig_wait(long timeout_ms) {
    if (sig_stop)
        return 1;
    struct pollfd p = {.fd = sig_pipe_r, .events = POLLIN, .revents = 0};
    int timeout = timeout_ms < 0 ? -1 : timeout_ms > 0x7fffffffL ? 0x7fffffff : (int)timeout_ms;
    /* EINTR is a wakeup too; the flags say what happened. */
    (void)poll(&p, 1, timeout);
    if (sig_stop)
        return 1;
    sig_pipe_drain();
    return 0;
}

static long long sig_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sig_drain(int (*pending)(void *ctx), void *ctx, long deadline_ms) {
    long long end = sig_now_ms() + (deadline_ms > 0 ? deadline_ms : 0);
    for (;;) {
        int n = pending(ctx);
        if (n == 0)
            return 0;
        if (n < 0)
            return -1;
        long long left = end - sig_now_ms();
        if (left <= 0)
            return -1;
        long step = left < SIG_DRAIN_STEP_MS ? (long)left : SIG_DRAIN_STEP_MS;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
    }
}
