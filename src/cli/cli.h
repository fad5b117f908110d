// SPDX-License-Identifier: Apache-2.0
#ifndef CORDON_CLI_H
#define CORDON_CLI_H

#include <cordon/cordon.h>

int cmd_run(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_setup(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_sessions(int argc, char **argv);
int cmd_diff(int argc, char **argv);
/* cordon-diff's front end: `cordon diff`'s options (argv[0] is skipped), carried out by fn. */
struct stage_request;
int cmd_diff_with(int argc, char **argv, int (*fn)(const struct stage_request *, struct cordon_error **));
int cmd_commit(int argc, char **argv);
int cmd_discard(int argc, char **argv);
/* Which of stdin, stdout, stderr (bits 0-2) cordon started with closed (main() holds their places). */
extern unsigned cli_stdio_closed;
/* Prints "cordon: MESSAGE; hint: HINT" on one line and returns CORDON_EXIT_FAILURE. */
int cli_fail(const struct cordon_error *err);
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
