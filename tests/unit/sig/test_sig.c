/* Unit tests for common/sig: stop/reload flags, self-pipe wakeups, SIGPIPE, drain. */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "sig.h"

static void setup(void) {
    cr_assert_eq(sig_install(), 0);
}

static void teardown(void) {
    sig_uninstall();
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* 1 if the wakeup fd is readable right now. */
static int wakeup_readable(void) {
    struct pollfd p = {.fd = sig_wakeup_fd(), .events = POLLIN, .revents = 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

struct delayed_signal {
    pthread_t target;
    int signo;
    long delay_ms;
};

/* Sends ds->signo to ds->target after ds->delay_ms. */
static void *send_later(void *arg) {
    struct delayed_signal *ds = arg;
    sleep_ms(ds->delay_ms);
    pthread_kill(ds->target, ds->signo);
    return NULL;
}

TestSuite(sig, .init = setup, .fini = teardown);

Test(sig, sigterm_sets_stop_and_wait_returns_promptly) {
    cr_assert_not(sig_stop_requested());
    cr_assert_eq(raise(SIGTERM), 0);
    cr_assert(sig_stop_requested());
    long long t0 = now_ms();
    cr_assert_eq(sig_wait(5000), 1);
    cr_assert_lt(now_ms() - t0, 100);
    cr_assert_eq(sig_take_reload(), 0, "SIGTERM must not request a reload");
}

Test(sig, sigint_sets_stop) {
    cr_assert_eq(raise(SIGINT), 0);
    cr_assert(sig_stop_requested());
}

Test(sig, sigterm_during_wait_wakes_it) {
    pthread_t th;
    struct delayed_signal ds = {pthread_self(), SIGTERM, 50};
    cr_assert_eq(pthread_create(&th, NULL, send_later, &ds), 0);
    long long t0 = now_ms();
    int rc = sig_wait(10000);
    long long took = now_ms() - t0;
    pthread_join(th, NULL);
    cr_assert_eq(rc, 1);
    cr_assert_geq(took, 40);
    cr_assert_lt(took, 2000);
}

/* raise() in a thread signals that very thread. */
static void *raise_later(void *arg) {
    const struct delayed_signal *ds = arg;
    sleep_ms(ds->delay_ms);
    raise(ds->signo);
    return NULL;
}

Test(sig, signal_to_another_thread_wakes_wait_through_pipe) {
    /* The handler runs in the helper thread and this thread has SIGTERM
     * blocked, so poll() is not interrupted: only the self-pipe wakes it. */
    pthread_t th;
    struct delayed_signal ds = {pthread_self(), SIGTERM, 50};
    cr_assert_eq(pthread_create(&th, NULL, raise_later, &ds), 0);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    cr_assert_eq(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
    long long t0 = now_ms();
    int rc = sig_wait(10000);
    long long took = now_ms() - t0;
    pthread_join(th, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    cr_assert_eq(rc, 1);
    cr_assert_geq(took, 40);
    cr_assert_lt(took, 2000);
}

struct unblocker {
    pthread_t target;
    int wfd;
};

/* Sends SIGTERM to the target after 50 ms; if the target's read() was
 * restarted instead of interrupted, a byte 1 s later ends it (the test then
 * fails instead of hanging). */
static void *term_then_unblock(void *arg) {
    const struct unblocker *u = arg;
    sleep_ms(50);
    pthread_kill(u->target, SIGTERM);
    sleep_ms(1000);
    ssize_t r = write(u->wfd, "x", 1);
    (void)r;
    return NULL;
}

Test(sig, sigterm_interrupts_blocking_read) {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pthread_t th;
    struct unblocker u = {pthread_self(), fds[1]};
    cr_assert_eq(pthread_create(&th, NULL, term_then_unblock, &u), 0);
    char c;
    ssize_t r = read(fds[0], &c, 1); /* only EINTR ends it early */
    int saved = errno;
    pthread_join(th, NULL);
    cr_assert_eq(r, -1, "read was restarted: SIGTERM must not use SA_RESTART");
    cr_assert_eq(saved, EINTR);
    cr_assert(sig_stop_requested());
    close(fds[0]);
    close(fds[1]);
}

Test(sig, sighup_sets_reload_once) {
    cr_assert_eq(sig_take_reload(), 0);
    cr_assert_eq(raise(SIGHUP), 0);
    cr_assert_not(sig_stop_requested());
    cr_assert_eq(sig_take_reload(), 1);
    cr_assert_eq(sig_take_reload(), 0);
    cr_assert_eq(raise(SIGHUP), 0);
    cr_assert_eq(raise(SIGHUP), 0);
    cr_assert_eq(sig_take_reload(), 1, "two HUPs are one reload");
    cr_assert_eq(sig_take_reload(), 0);
}

Test(sig, sighup_wakes_wait_without_stopping) {
    pthread_t th;
    struct delayed_signal ds = {pthread_self(), SIGHUP, 50};
    cr_assert_eq(pthread_create(&th, NULL, send_later, &ds), 0);
    long long t0 = now_ms();
    int rc = sig_wait(10000);
    long long took = now_ms() - t0;
    pthread_join(th, NULL);
    cr_assert_eq(rc, 0);
    cr_assert_lt(took, 2000);
    cr_assert_eq(sig_take_reload(), 1);
    cr_assert_not(sig_stop_requested());
}

Test(sig, wakeup_fd_readable_after_signal) {
    cr_assert_geq(sig_wakeup_fd(), 0);
    cr_assert_not(wakeup_readable());
    cr_assert_eq(raise(SIGHUP), 0);
    cr_assert(wakeup_readable());
    cr_assert_eq(sig_take_reload(), 1);
    cr_assert_not(wakeup_readable(), "sig_take_reload empties the pipe");
    sig_request_stop();
    cr_assert(wakeup_readable());
    cr_assert_eq(sig_take_reload(), 0);
    cr_assert(wakeup_readable(), "a stop keeps the pipe readable for every poller");
}

Test(sig, sigpipe_is_ignored) {
    cr_assert_eq(raise(SIGPIPE), 0);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    close(fds[0]);
    ssize_t r = write(fds[1], "x", 1);
    cr_assert_eq(r, -1);
    cr_assert_eq(errno, EPIPE);
    close(fds[1]);
    cr_assert_not(sig_stop_requested());
}

Test(sig, wait_times_out) {
    long long t0 = now_ms();
    cr_assert_eq(sig_wait(60), 0);
    long long took = now_ms() - t0;
    cr_assert_geq(took, 50);
    cr_assert_lt(took, 2000);
    cr_assert_eq(sig_wait(0), 0);
}

Test(sig, request_stop) {
    sig_request_stop();
    cr_assert(sig_stop_requested());
    cr_assert_eq(sig_wait(-1), 1, "must not block once stopped");
}

Test(sig, uninstall_restores_defaults) {
    sig_request_stop();
    sig_uninstall();
    cr_assert_eq(sig_wakeup_fd(), -1);
    cr_assert_not(sig_stop_requested());
    struct sigaction sa;
    cr_assert_eq(sigaction(SIGTERM, NULL, &sa), 0);
    cr_assert_eq(sa.sa_handler, SIG_DFL);
    cr_assert_eq(sigaction(SIGPIPE, NULL, &sa), 0);
    cr_assert_eq(sa.sa_handler, SIG_DFL);
    cr_assert_eq(sig_install(), 0);
    cr_assert_eq(sig_install(), 0, "installing twice is fine");
    cr_assert_geq(sig_wakeup_fd(), 0);
}

Test(sig, default_sigterm_kills_without_install, .signal = SIGTERM) {
    sig_uninstall();
    raise(SIGTERM);
    cr_assert_fail("still alive after SIGTERM with default disposition");
}

/* pending(): counts down by one per call. */
static int countdown(void *ctx) {
    int *left = ctx;
    return *left > 0 ? (*left)-- : 0;
}

static int always_busy(void *ctx) {
    (void)ctx;
    return 1;
}

static int broken(void *ctx) {
    (void)ctx;
    return -1;
}

static atomic_int in_flight;

static void *finish_work(void *arg) {
    (void)arg;
    sleep_ms(50);
    atomic_store(&in_flight, 0);
    return NULL;
}

static int read_in_flight(void *ctx) {
    (void)ctx;
    return atomic_load(&in_flight);
}

Test(sig, drain_returns_0_when_work_finishes) {
    int left = 3;
    cr_assert_eq(sig_drain(countdown, &left, 5000), 0);
    cr_assert_eq(left, 0);

    atomic_store(&in_flight, 4);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, finish_work, NULL), 0);
    long long t0 = now_ms();
    int rc = sig_drain(read_in_flight, NULL, 5000);
    long long took = now_ms() - t0;
    pthread_join(th, NULL);
    cr_assert_eq(rc, 0);
    cr_assert_geq(took, 40);
    cr_assert_lt(took, 2000);
}

Test(sig, drain_returns_minus_1_at_deadline) {
    long long t0 = now_ms();
    cr_assert_eq(sig_drain(always_busy, NULL, 100), -1);
    long long took = now_ms() - t0;
    cr_assert_geq(took, 100);
    cr_assert_lt(took, 1000);
    cr_assert_eq(sig_drain(always_busy, NULL, 0), -1);
    cr_assert_eq(sig_drain(broken, NULL, 1000), -1);
}

/* Blocking in main() is inherited by threads created afterwards. */
static void *sig_test_mask_of_thread(void *arg) {
    sigset_t cur;
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    *(int *)arg =
        sigismember(&cur, SIGTERM) && sigismember(&cur, SIGINT) && sigismember(&cur, SIGHUP);
    return NULL;
}

Test(sig, mask_handled_blocks_for_new_threads_and_unblocks) {
    sigset_t cur;
    int blocked_in_thread = 0;
    pthread_t t;
    cr_assert_eq(sig_mask_handled(SIG_BLOCK), 0);
    cr_assert_eq(pthread_create(&t, NULL, sig_test_mask_of_thread, &blocked_in_thread), 0);
    pthread_join(t, NULL);
    cr_assert(blocked_in_thread, "a thread created after SIG_BLOCK must not take the signals");
    cr_assert_eq(sig_mask_handled(SIG_UNBLOCK), 0);
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    cr_assert_not(sigismember(&cur, SIGTERM));
    cr_assert_not(sigismember(&cur, SIGHUP));
}

/* A repeated SIGTERM while a service exits must not kill it. */
Test(sig, finish_ignores_a_repeated_stop) {
    sig_request_stop();
    sig_finish();
    raise(SIGTERM);
    raise(SIGHUP);
    struct sigaction sa;
    cr_assert_eq(sigaction(SIGTERM, NULL, &sa), 0);
    cr_assert_eq(sa.sa_handler, SIG_IGN);
    cr_assert_eq(sig_wakeup_fd(), -1);
    sig_uninstall();
    cr_assert_eq(sigaction(SIGTERM, NULL, &sa), 0);
    cr_assert_eq(sa.sa_handler, SIG_DFL);
}
