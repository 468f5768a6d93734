/* ordersctl: the command-line client of the orders pipeline (sign, send, load,
 * and dlq list|redrive). */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "args.h"
#include "dlq_cmd.h"
#include "load.h"
#include "send.h"
#include "sign.h"

/* One entry per subcommand. To add one (e.g. "dlq" with its own list and
 * redrive actions), write `int ordersctl_<name>_main(int argc, char **argv)`
 * (argv[0] is the subcommand name; return an ORDERSCTL_EXIT_* status) and add
 * a line here. */
struct main_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

/* Parses argv for `cmd`, then runs it: the shared path of sign/send/load. */
static int main_run_parsed(enum ordersctl_cmd cmd, int argc, char **argv,
                           int (*run)(const struct ordersctl_opts *)) {
    struct ordersctl_opts o;
    char err[512];
    if (ordersctl_args_parse(cmd, argc, argv, &o, err, sizeof(err)) != 0) {
        fprintf(stderr, "ordersctl %s: %s\n", ordersctl_cmd_name(cmd), err);
        fprintf(stderr, "Try 'ordersctl %s --help'.\n", ordersctl_cmd_name(cmd));
        return ORDERSCTL_EXIT_USAGE;
    }
    if (o.help) {
        ordersctl_usage(cmd, stdout);
        return ORDERSCTL_EXIT_OK;
    }
    return run(&o);
}

static int main_sign(int argc, char **argv) {
    return main_run_parsed(ORDERSCTL_CMD_SIGN, argc, argv, ordersctl_sign_run);
}

static int main_send(int argc, char **argv) {
    return main_run_parsed(ORDERSCTL_CMD_SEND, argc, argv, ordersctl_send_run);
}

static int main_load(int argc, char **argv) {
    return main_run_parsed(ORDERSCTL_CMD_LOAD, argc, argv, ordersctl_load_run);
}

static const struct main_command main_commands[] = {
    {"sign", main_sign, "print the signature headers (or a curl command) for a body"},
    {"send", main_send, "sign and POST one order, print the response"},
    {"load", main_load, "drive N signed orders at a fixed rate, print latency percentiles"},
    {"dlq", ordersctl_dlq_main, "list or redrive a subscription's dead letters (Kafka)"},
};

static void main_usage(FILE *out) {
    fprintf(out, "usage: ordersctl <command> [options]   (ordersctl <command> --help)\n\n");
    for (size_t i = 0; i < sizeof(main_commands) / sizeof(main_commands[0]); i++)
        fprintf(out, "  %-6s %s\n", main_commands[i].name, main_commands[i].summary);
    fprintf(
        out,
        "\nExit status: 0 ok, 1 request failures (dlq: Kafka or data errors), 2 usage errors.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        main_usage(stderr);
        return ORDERSCTL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        main_usage(stdout);
        return ORDERSCTL_EXIT_OK;
    }
    const struct main_command *cmd = NULL;
    for (size_t i = 0; i < sizeof(main_commands) / sizeof(main_commands[0]); i++)
        if (strcmp(argv[1], main_commands[i].name) == 0)
            cmd = &main_commands[i];
    if (!cmd) {
        fprintf(stderr, "ordersctl: unknown command '%s'\n\n", argv[1]);
        main_usage(stderr);
        return ORDERSCTL_EXIT_USAGE;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "ordersctl: curl_global_init failed\n");
        return ORDERSCTL_EXIT_FAIL;
    }
    int rc = cmd->run(argc - 1, argv + 1);
    curl_global_cleanup();
    return rc;
}
