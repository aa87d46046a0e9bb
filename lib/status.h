/* lib/status.h: the status codes every lib/ function returns, and their exit codes. */
#ifndef ONYX_STATUS_H
#define ONYX_STATUS_H

enum onyx_status {
	ONYX_OK = 0,
	ONYX_ERR = -1,        /* internal error, a bug or out of memory */
	ONYX_EUNAVAIL = -2,   /* a service cannot be reached */
	ONYX_EAUTH = -3,      /* the service refused our credentials */
	ONYX_ETIMEDOUT = -4,  /* no answer in time */
	ONYX_EREJECTED = -5,  /* the broker refused a transfer or transaction */
	ONYX_ENOENT = -6,     /* no such znode, queue or file */
	ONYX_EEXIST = -7,     /* it exists already */
	ONYX_EVERSION = -8,   /* a compare-and-set lost the race */
	ONYX_EEXPIRED = -9,   /* the ZooKeeper session expired */
	ONYX_EDATA = -10,     /* bad input data */
	ONYX_EINTR = -11,     /* interrupted by a signal the caller asked for */
	ONYX_EINDOUBT = -12,  /* a commit whose outcome is unknown */
	ONYX_ENOTEMPTY = -13, /* a znode still has children */
	ONYX_EUSAGE = -14,    /* a bad argument from the user */
	ONYX_EIO = -15,       /* a local read or write failed */
	ONYX_ECONFIG = -16,   /* bad configuration */
};

/*
 * onyx_status_exit: the sysexits(3) code a program exits with for status st.
 * ONYX_OK gives 0; every error gives a code between 64 and 78.
 */
int onyx_status_exit(int st);

/* onyx_status_str: a short static description of st, never NULL. */
const char *onyx_status_str(int st);

#endif
