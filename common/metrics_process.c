/* metrics_process: standard families (build info, process_* from Linux /proc). */
#include "metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int metrics_register_build_info(struct metrics_registry *reg, const char *service,
                                const char *version) {
    static const char *const names[] = {"service", "version"};
    const char *const values[] = {service, version};
    struct metrics_gauge *g = metrics_gauge_new(
        reg, "orders_build_info", "Build information of the running service; always 1.", 2, names);
    struct metrics_child *ch = metrics_gauge_child(g, values);
    if (!ch)
        return -1;
    metrics_child_set(ch, 1);
    return 0;
}

/* Field `which` (1-based, as in proc(5)) of /proc/self/stat; -1 on error. */
static double metrics_proc_stat_field(int which) {
    char buf[1024];
    FILE *fp = fopen("/proc/self/stat", "r");
    if (!fp)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm (field 2) may hold spaces */
    if (!p)
        return -1;
    p++;
    for (int field = 3; field <= which; field++) {
        char *end;
        double v = strtod(p, &end); /* field 3 (state) is a letter: end == p */
        if (field == which)
            return end == p ? -1 : v;
        while (*p == ' ')
            p++;
        while (*p && *p != ' ')
            p++;
    }
    return -1;
}

/* Wall-clock start of this process in Unix seconds, or now on failure. */
static double metrics_process_start_time(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double fallback = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    long ticks = sysconf(_SC_CLK_TCK);
    double start = metrics_proc_stat_field(22); /* starttime, ticks since boot */
    FILE *fp = fopen("/proc/stat", "r");
    if (!fp || ticks <= 0 || start < 0) {
        if (fp)
            fclose(fp);
        return fallback;
    }
    char line[256];
    double btime = -1;
    while (fgets(line, sizeof line, fp))
        if (strncmp(line, "btime ", 6) == 0)
            btime = strtod(line + 6, NULL);
    fclose(fp);
    return btime > 0 ? btime + start / (double)ticks : fallback;
}

/* Field `which` (0-based) of /proc/self/statm in bytes, or 0. */
static double metrics_statm_bytes(int which) {
    unsigned long v[2] = {0, 0};
    FILE *fp = fopen("/proc/self/statm", "r");
    if (!fp)
        return 0;
    int n = fscanf(fp, "%lu %lu", &v[0], &v[1]);
    fclose(fp);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (double)v[which] * (double)page : 0;
}

static double metrics_resident_bytes(void *ctx) {
    (void)ctx;
    return metrics_statm_bytes(1);
}

static double metrics_virtual_bytes(void *ctx) {
    (void)ctx;
    return metrics_statm_bytes(0);
}

static double metrics_cpu_seconds(void *ctx) {
    (void)ctx;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double metrics_open_fds(void *ctx) {
    (void)ctx;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n > 0 ? n - 1 : 0; /* minus the directory stream's own fd */
}

static double metrics_max_fds(void *ctx) {
    (void)ctx;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    return (double)rl.rlim_cur;
}

int metrics_register_process(struct metrics_registry *reg) {
    struct metrics_gauge *start =
        metrics_gauge_new(reg, "process_start_time_seconds",
                          "Start time of the process since unix epoch in seconds.", 0, NULL);
    if (!start)
        return -1;
    metrics_gauge_set(start, metrics_process_start_time(), NULL);
    if (metrics_counter_fn_new(reg, "process_cpu_seconds_total",
                               "Total user and system CPU time spent in seconds.",
                               metrics_cpu_seconds, NULL) != 0 ||
        metrics_gauge_fn_new(reg, "process_resident_memory_bytes", "Resident memory size in bytes.",
                             metrics_resident_bytes, NULL) != 0 ||
        metrics_gauge_fn_new(reg, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                             metrics_virtual_bytes, NULL) != 0 ||
        metrics_gauge_fn_new(reg, "process_open_fds", "Number of open file descriptors.",
                             metrics_open_fds, NULL) != 0 ||
        metrics_gauge_fn_new(reg, "process_max_fds", "Maximum number of open file descriptors.",
                             metrics_max_fds, NULL) != 0)
        return -1;
    return 0;
}
