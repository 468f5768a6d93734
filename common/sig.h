/* sig: signal handling for graceful shutdown and reload.
 *
 * SIGTERM and SIGINT request a stop, SIGHUP requests a reload, SIGPIPE is
 * ignored (a closed socket then fails with EPIPE instead of killing us). The
 * handlers only set volatile sig_atomic_t flags and write one byte to a
 * self-pipe, so a poll() loop wakes immediately. SIGTERM/SIGINT are installed
 * without SA_RESTART: a blocking call they interrupt returns EINTR.
 *
 * The intended shape of main() (STYLE.md habit 6):
 *
 *   cfg_load_or_exit(...); create clients...;
 *   if (sig_install() != 0) { LOG_ERROR(...); return 1; }
 *   while (!sig_stop_requested()) {
 *       do_some_work();                      // or poll() including sig_wakeup_fd()
 *       if (sig_take_reload()) reopen_things();
 *       sig_wait(100);                       // idle wait, wakes on any signal
 *   }
 *   if (sig_drain(in_flight, ctx, 10000) != 0) LOG_WARN("drain deadline passed");
 *   destroy clients in reverse order; sig_finish();
 *   return 0;                                // SIGTERM drains, then exits 0
 *
 * Global state: one set of handlers per process. */
#ifndef COMMON_SIG_H
#define COMMON_SIG_H

/* Installs the handlers and creates the self-pipe. Calling it again only
 * reinstalls the handlers. Returns 0, or -1 with errno set (nothing is left
 * half-installed). */
int sig_install(void);

/* Blocks (how = SIG_BLOCK) or unblocks (SIG_UNBLOCK) SIGTERM, SIGINT and
 * SIGHUP in the calling thread. Threads inherit the mask, so main() blocks
 * them before creating any thread (librdkafka, libmicrohttpd, libcurl, its
 * own) and unblocks them after sig_install(): only the main thread then
 * runs a handler, and a stop cannot interrupt (EINTR) a publish, a Redis
 * or a Postgres call in flight on a worker thread. Returns 0 or an errno. */
int sig_mask_handled(int how);

/* Restores the default dispositions, closes the self-pipe and clears the
 * flags. Safe to call without sig_install(). */
void sig_uninstall(void);

/* The end of a service's main(): like sig_uninstall, but TERM, INT and HUP
 * are then ignored, not defaulted: a stop signal repeated while the process
 * exits (Kubernetes, a supervisor, an impatient operator) must not turn a
 * clean drain into death by signal. */
void sig_finish(void);

/* The read end of the self-pipe, for poll(POLLIN); -1 before sig_install().
 * It becomes readable when a signal arrives. After a stop it stays readable
 * (so every poller in every thread wakes); otherwise sig_take_reload() or
 * sig_wait() empties it. Owned by this module: do not read or close it. */
int sig_wakeup_fd(void);

/* Nonzero once SIGTERM/SIGINT arrived or sig_request_stop() was called. */
int sig_stop_requested(void);

/* Returns 1 if SIGHUP arrived since the last call (and clears it, emptying
 * the self-pipe unless a stop is pending), else 0 without a system call. */
int sig_take_reload(void);

/* Requests a stop as SIGTERM would (async-signal-safe; for tests and for
 * fatal error paths that want the normal drain). */
void sig_request_stop(void);

/* Sleeps until timeout_ms passes (negative: no limit) or a signal arrives.
 * Returns 1 if a stop is requested, else 0 (timeout, or a reload/other signal:
 * check sig_take_reload()). */
int sig_wait(long timeout_ms);

/* Calls pending(ctx) (the number of in-flight items, >= 0) every few
 * milliseconds until it returns 0 or deadline_ms milliseconds have passed.
 * Returns 0 if drained, -1 if the deadline passed or pending() returned a
 * negative value. */
int sig_drain(int (*pending)(void *ctx), void *ctx, long deadline_ms);

#endif
