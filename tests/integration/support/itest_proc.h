/* itest_proc: runs a service binary (build/bin/<name>) as a child process
 * for an integration test, the way Kubernetes would: on free loopback
 * ports, secrets as files passed by *_FILE, its output in a log file, and
 * "started" meaning its /readyz answered 200. Used to kill (SIGKILL) and
 * restart services in the fault tests. */
#ifndef ITEST_PROC_H
#define ITEST_PROC_H

#include <stddef.h>
#include <sys/types.h>

#define ITEST_PROC_MAX_ENV 48

struct itest_proc {
    pid_t pid;      /* 0 when not running */
    char name[32];  /* binary name under build/bin */
    char dir[128];  /* private temp dir for secret files */
    char log[256];  /* stdout+stderr, appended across restarts */
    int admin_port; /* /readyz is polled here */
    int nenv;
    char *env[ITEST_PROC_MAX_ENV]; /* "NAME=value", set in the child */
};

/* A free TCP port on 127.0.0.1 (bound then released). */
int itest_free_port(void);

/* Path of build/bin/<name> next to the running test binary, or $<NAME>_BIN. */
void itest_bin_path(const char *name, char *out, size_t outlen);

/* GET http://127.0.0.1:<port><path> with a 1 s timeout; the status or 0. */
long itest_http_get(int port, const char *path);

/* Prepares `p` for binary `name` (creates its secret dir and log path). */
void itest_proc_init(struct itest_proc *p, const char *name);

/* Adds NAME=value to the child's environment (later calls win); a NULL
 * value only removes NAME (and NAME_FILE) from it. */
void itest_proc_setenv(struct itest_proc *p, const char *name, const char *value);

/* Writes `value` to <dir>/<file> (mode 0600) and sets NAME_FILE to it. */
void itest_proc_secret(struct itest_proc *p, const char *name, const char *file, const char *value);

/* Forks and execs the binary with the parent's environment minus every
 * variable that `p` sets (and its *_FILE twin), plus p's variables; waits up
 * to ready_timeout_ms for /readyz == 200 on p->admin_port (asserting it
 * did not exit first). */
void itest_proc_start(struct itest_proc *p, long ready_timeout_ms);

/* Sends `sig`, waits up to timeout_ms for the exit (then SIGKILL and a
 * failed assertion); returns the wait status. No-op returning 0 when the
 * process is not running. */
int itest_proc_stop(struct itest_proc *p, int sig, long timeout_ms);

/* Stops the process (SIGKILL) if running, removes the secret files and
 * frees the environment. */
void itest_proc_cleanup(struct itest_proc *p);

#endif
