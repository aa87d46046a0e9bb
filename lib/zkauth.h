/* lib/zkauth.h: ZooKeeper digest identities: secret files, their ACL ids. */
#ifndef ONYX_ZKAUTH_H
#define ONYX_ZKAUTH_H

#include <stddef.h>

/*
 * A digest identity is a secret "user:password" (the user is the text
 * before the first ':', the password all after it) that a session presents
 * with zoo_add_auth, and its ACL id "user:base64(sha1(user:password))"
 * that a node's ACL names.
 */

/*
 * onyx_zkauth_digest: the ACL id of secret into a new malloc'd *id
 * (caller frees). Returns ONYX_OK, ONYX_ECONFIG when secret is not
 * "user:password" with a user of at least one character and no '\n'
 * (err says so, never showing the secret), ONYX_ERR out of memory. Pure.
 */
int onyx_zkauth_digest(const char *secret, char **id, char *err, size_t errlen);

/*
 * onyx_zkauth_check_id: whether id has the form of an ACL id
 * ("user:" and 28 characters of base64 ending in '='). Returns ONYX_OK or
 * ONYX_ECONFIG with err naming id. Pure.
 */
int onyx_zkauth_check_id(const char *id, char *err, size_t errlen);

/*
 * onyx_zkauth_read_secret: the first line of file path (any length, the
 * line end dropped) into a new malloc'd *secret (caller frees, and should
 * clear it). Refuses, as ssh does, a file that is not a regular file or
 * that its group or others may read, write or run; refuses an empty
 * secret and one that is not user:password. Returns ONYX_OK, or
 * ONYX_ECONFIG with err naming the file and what is wrong (never the
 * secret), ONYX_ERR out of memory.
 */
int onyx_zkauth_read_secret(
    const char *path, char **secret, char *err, size_t errlen);

/*
 * onyx_zkauth_setup: the process's ZooKeeper identity
 * (onyx_zk_set_identity) from secret_file (read with
 * onyx_zkauth_read_secret; NULL or empty: none, open ACLs) and reader (an
 * ACL id given READ; NULL or empty: none). Returns ONYX_OK, ONYX_ECONFIG
 * with err naming the file or id, ONYX_ERR out of memory.
 */
int onyx_zkauth_setup(
    const char *secret_file, const char *reader, char *err, size_t errlen);

#endif
