#include "itest_proc.h"

#include <criterion/criterion.h>

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int itest_free_port(void) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

void itest_bin_path(const char *name, char *out, size_t outlen) {
    char var[64], exe[400];
    size_t i;
    snprintf(var, sizeof var, "%s_BIN", name);
    for (i = 0; var[i]; i++)
        var[i] =
            var[i] == '-' ? '_' : (char)(var[i] >= 'a' && var[i] <= 'z' ? var[i] - 32 : var[i]);
    const char *env = getenv(var);
    if (env && *env) {
        snprintf(out, outlen, "%s", env);
        return;
    }
    /* <build>/tests/integration_tests -> <build>/bin/<name> */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    cr_assert_gt(n, 0);
    exe[n] = '\0';
    for (int k = 0; k < 2; k++) {
        char *slash = strrchr(exe, '/');
        cr_assert_not_null(slash);
        *slash = '\0';
    }
    snprintf(out, outlen, "%s/bin/%s", exe, name);
}

long itest_http_get(int port, const char *path) {
    char url[160];
    long status = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    cr_assert_not_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

void itest_proc_init(struct itest_proc *p, const char *name) {
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->dir, sizeof p->dir, "/tmp/itest-%s-XXXXXX", name);
    cr_assert_not_null(mkdtemp(p->dir), "mkdtemp: %s", strerror(errno));
    const char *data = getenv("OP_DATA_DIR");
    snprintf(p->log, sizeof p->log, "%s/logs/itest-%s-%ld.log", data && *data ? data : "/tmp", name,
             (long)getpid());
    FILE *f = fopen(p->log, "a");
    if (!f)
        snprintf(p->log, sizeof p->log, "/tmp/itest-%s-%ld.log", name, (long)getpid());
    else
        fclose(f);
}

void itest_proc_setenv(struct itest_proc *p, const char *name, const char *value) {
    size_t nlen = strlen(name);
    char *kv = malloc(nlen + (value ? strlen(value) : 0) + 2);
    cr_assert_not_null(kv);
    if (value)
        sprintf(kv, "%s=%s", name, value);
    else
        strcpy(kv, name); /* no '=': only removed from the child's environment */
    for (int i = 0; i < p->nenv; i++) {
        if (strncmp(p->env[i], name, nlen) == 0 &&
            (p->env[i][nlen] == '=' || p->env[i][nlen] == '\0')) {
            free(p->env[i]);
            p->env[i] = kv;
            return;
        }
    }
    cr_assert_lt(p->nenv, ITEST_PROC_MAX_ENV, "too many variables for %s", p->name);
    p->env[p->nenv++] = kv;
}

void itest_proc_secret(struct itest_proc *p, const char *name, const char *file,
                       const char *value) {
    char path[300], var[128];
    snprintf(path, sizeof path, "%s/%s", p->dir, file);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, value, strlen(value)), (ssize_t)strlen(value));
    close(fd);
    snprintf(var, sizeof var, "%s_FILE", name);
    itest_proc_setenv(p, var, path);
}

/* In the child: drop NAME and NAME_FILE for every NAME the test sets (or
 * NAME without _FILE for a *_FILE variable), so nothing leaks from the
 * developer's shell or local.env, then apply p's variables. */
static void itest_proc_apply_env(const struct itest_proc *p) {
    for (int i = 0; i < p->nenv; i++) {
        char name[128];
        const char *eq = strchr(p->env[i], '=');
        size_t n = eq ? (size_t)(eq - p->env[i]) : strlen(p->env[i]);
        if (n >= sizeof name - 6)
            continue;
        memcpy(name, p->env[i], n);
        name[n] = '\0';
        unsetenv(name);
        if (n > 5 && strcmp(name + n - 5, "_FILE") == 0) {
            name[n - 5] = '\0';
            unsetenv(name);
        } else {
            strcat(name, "_FILE");
            unsetenv(name);
        }
    }
    for (int i = 0; i < p->nenv; i++)
        if (strchr(p->env[i], '='))
            putenv(p->env[i]);
}

void itest_proc_start(struct itest_proc *p, long ready_timeout_ms) {
    char bin[512];
    itest_bin_path(p->name, bin, sizeof bin);
    cr_assert_eq(access(bin, X_OK), 0, "%s is missing: run `make all` first", bin);
    cr_assert_gt(p->admin_port, 0, "%s: set admin_port before starting", p->name);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* A test killed by Criterion's timeout must not leave a service
         * running (an orphaned consumer keeps its group partitions). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        itest_proc_apply_env(p);
        execl(bin, p->name, (char *)NULL);
        _exit(127);
    }
    p->pid = pid;
    for (long waited = 0;; waited += 100) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            p->pid = 0;
            cr_assert_fail("%s exited early (status %d); see %s", p->name, st, p->log);
        }
        if (itest_http_get(p->admin_port, "/readyz") == 200)
            return;
        cr_assert_lt(waited, ready_timeout_ms, "%s not ready after %ld ms; see %s", p->name,
                     ready_timeout_ms, p->log);
        usleep(100 * 1000);
    }
}

int itest_proc_stop(struct itest_proc *p, int sig, long timeout_ms) {
    int st = 0;
    if (p->pid <= 0)
        return 0;
    kill(p->pid, sig);
    for (long waited = 0;; waited += 20) {
        if (waitpid(p->pid, &st, WNOHANG) == p->pid)
            break;
        if (waited >= timeout_ms) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            p->pid = 0;
            cr_assert_fail("%s did not exit within %ld ms of signal %d", p->name, timeout_ms, sig);
        }
        usleep(20 * 1000);
    }
    p->pid = 0;
    return st;
}

void itest_proc_cleanup(struct itest_proc *p) {
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
    if (p->dir[0]) {
        DIR *d = opendir(p->dir);
        if (d) {
            struct dirent *e;
            char path[400];
            while ((e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof path, "%s/%s", p->dir, e->d_name);
                unlink(path);
            }
            closedir(d);
        }
        rmdir(p->dir);
        p->dir[0] = '\0';
    }
    for (int i = 0; i < p->nenv; i++)
        free(p->env[i]);
    p->nenv = 0;
}
