/* lib/cli.h: what every command shares: whole-number options, and signals that only raise a flag. */
#ifndef ONYX_CLI_H
#define ONYX_CLI_H

#include <signal.h>

struct onyx_conf;

/*
 * onyx_cli_number: s as a whole decimal number in [min, max] into *out.
 * Returns 0, or -1 (nothing stored) when s is empty, not a number, or out
 * of range.
 */
int onyx_cli_number(const char *s, long min, long max, long *out);

/*
 * onyx_cli_signals: SIGINT and SIGTERM set *flag (so a program stops in
 * order: the flag is checked between batches and in every wait), and
 * SIGPIPE is ignored (a closed output is an error to report, not a death).
 */
void onyx_cli_signals(volatile sig_atomic_t *flag);

/*
 * onyx_cli_set: a flag's value for the setting key of c (onyx_conf_set);
 * a bad value exits with a message naming flag: EX_CONFIG for a password
 * file that cannot be read, EX_USAGE otherwise.
 */
void onyx_cli_set(
    struct onyx_conf *c, const char *key, const char *flag, const char *v);

#endif
