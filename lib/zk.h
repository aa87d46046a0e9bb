/* lib/zk.h: a ZooKeeper session with synchronous calls that ride out connection loss. */
#ifndef ONYX_ZK_H
#define ONYX_ZK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct onyx_zk;

/*
 * onyx_zk_connect: open a session to hosts (a connect string) with the
 * given session timeout, waiting at most connect_ms for the first
 * connection and, with an identity (onyx_zk_set_identity), for its
 * authentication. Returns ONYX_OK with *out set, ONYX_EUNAVAIL (err names
 * the connect string), ONYX_EAUTH (the server refused the identity) or
 * ONYX_ERR. Free with onyx_zk_close.
 */
int onyx_zk_connect(const char *hosts, int session_ms, int connect_ms,
    struct onyx_zk **out, char *err, size_t errlen);

/*
 * onyx_zk_set_identity: the ZooKeeper identity of the process, for every
 * later onyx_zk_connect (call it before the first; not thread-safe). With
 * secret ("user:password", lib/zkauth.h) each new session authenticates
 * with the digest scheme, and every node created carries the ACL: ALL for
 * that identity, READ for reader when not NULL or empty (an ACL id
 * "user:digest", see onyx_zkauth_check_id), nothing for anyone else.
 * secret NULL: no authentication, nodes open to every client (insecure;
 * logged at info level on connect). Copies both. Returns ONYX_OK,
 * ONYX_ECONFIG (a bad secret or id, err says which without the secret) or
 * ONYX_ERR (memory).
 */
int onyx_zk_set_identity(
    const char *secret, const char *reader, char *err, size_t errlen);

/* onyx_zk_has_identity: whether onyx_zk_set_identity set a secret. */
bool onyx_zk_has_identity(void);

/* onyx_zk_close: end the session (its ephemeral nodes go) and free z. */
void onyx_zk_close(struct onyx_zk *z);

/* onyx_zk_expired: whether the session has expired (every call then fails). */
bool onyx_zk_expired(const struct onyx_zk *z);

/* onyx_zk_session_id: the session id, 0 before the first connection. */
long long onyx_zk_session_id(const struct onyx_zk *z);

/*
 * onyx_zk_set_retry: how long a call retries after connection loss before
 * it returns ONYX_EUNAVAIL (default 30000 ms).
 */
void onyx_zk_set_retry(struct onyx_zk *z, int retry_ms);

/*
 * onyx_zk_set_interrupt: once *flag is non-zero, a call that lost the
 * connection returns at once (ONYX_EUNAVAIL) instead of retrying.
 */
void onyx_zk_set_interrupt(struct onyx_zk *z, volatile sig_atomic_t *flag);

/*
 * Synchronous calls. Each returns ONYX_OK or: ONYX_ENOENT, ONYX_EEXIST,
 * ONYX_EVERSION (version given and different), ONYX_ENOTEMPTY,
 * ONYX_EEXPIRED (the session is gone: start a new one), ONYX_EUNAVAIL (no
 * server answered within the retry time), ONYX_EAUTH (NoAuth: the node's
 * ACL does not allow it to this identity; or the server requires an
 * identity the session did not present), ONYX_ERR, with err saying which
 * path failed and why. A call that lost its connection is retried; a
 * create retried that finds its own node reports ONYX_OK.
 */

/* onyx_zk_create: create path with data; flags are ZOO_EPHEMERAL etc.
 * The created path (with a sequence suffix) goes to created when not NULL. */
int
onyx_zk_create(struct onyx_zk *z, const char *path, const void *data, int len,
    int flags, char *created, size_t createdlen, char *err, size_t errlen);

/* onyx_zk_ensure_path: create path and its missing parents, empty, persistent. */
int onyx_zk_ensure_path(
    struct onyx_zk *z, const char *path, char *err, size_t errlen);

/* onyx_zk_get: the data of path in a new malloc'd NUL-terminated *data
 * (caller frees), its length, and its version when version is not NULL. */
int onyx_zk_get(struct onyx_zk *z, const char *path, char **data, int *len,
    int *version, char *err, size_t errlen);

/* onyx_zk_set: replace the data; version -1 for any. */
int onyx_zk_set(struct onyx_zk *z, const char *path, const void *data, int len,
    int version, char *err, size_t errlen);

/* onyx_zk_delete: delete path; version -1 for any. */
int onyx_zk_delete(
    struct onyx_zk *z, const char *path, int version, char *err, size_t errlen);

/* onyx_zk_exists: ONYX_OK when path exists, ONYX_ENOENT when not. */
int
onyx_zk_exists(struct onyx_zk *z, const char *path, char *err, size_t errlen);

/* onyx_zk_children: the sorted child names of path in a new NULL-terminated
 * array (*names; free with onyx_zk_free_names) and their count. */
int onyx_zk_children(struct onyx_zk *z, const char *path, char ***names,
    int *count, char *err, size_t errlen);
void onyx_zk_free_names(char **names);

/*
 * Watches. The w-variants leave a one-shot watch on path (data and
 * existence, or children). Whatever watch fires, and every session change,
 * makes onyx_zk_wake_fd readable: poll it, call onyx_zk_drain, then read
 * again (and so re-arm) what matters. The calls return as their plain forms.
 */
int onyx_zk_wake_fd(const struct onyx_zk *z);
void onyx_zk_drain(struct onyx_zk *z);
int onyx_zk_wget(struct onyx_zk *z, const char *path, bool watch, char **data,
    int *len, int *version, char *err, size_t errlen);
int onyx_zk_wchildren(struct onyx_zk *z, const char *path, bool watch,
    char ***names, int *count, char *err, size_t errlen);
int onyx_zk_wexists(
    struct onyx_zk *z, const char *path, bool watch, char *err, size_t errlen);

/*
 * onyx_zk_multi_create: create the n persistent nodes paths[i] (parents
 * before children) holding datas[i] (NUL-terminated text, or NULL for no
 * data) in one atomic zoo_multi: all are created or none. Returns as
 * onyx_zk_create; on failure err names the path whose create failed
 * (ONYX_EEXIST when it exists already, ONYX_ENOENT when its parent is
 * missing). n is at most 64.
 */
int onyx_zk_multi_create(struct onyx_zk *z, int n, const char *const *paths,
    const char *const *datas, char *err, size_t errlen);

#endif
