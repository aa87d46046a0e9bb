/* lib/status.c: names and sysexits(3) codes of the library's status codes. */
#include <sysexits.h>

#include "status.h"

int
onyx_status_exit(int st)
{
	switch (st) {
	case ONYX_OK: return 0;
	case ONYX_EUNAVAIL:
	case ONYX_ENOENT: return EX_UNAVAILABLE;
	case ONYX_EAUTH: return EX_NOPERM;
	case ONYX_ETIMEDOUT:
	case ONYX_EEXPIRED:
	case ONYX_EVERSION:
	case ONYX_EINDOUBT:
	case ONYX_EREJECTED: return EX_TEMPFAIL;
	case ONYX_EDATA: return EX_DATAERR;
	case ONYX_EUSAGE: return EX_USAGE;
	case ONYX_EIO: return EX_IOERR;
	case ONYX_ECONFIG: return EX_CONFIG;
	case ONYX_EEXIST:
	case ONYX_ENOTEMPTY: return EX_CANTCREAT;
	default: return EX_SOFTWARE;
	}
}

const char *
onyx_status_str(int st)
{
	switch (st) {
	case ONYX_OK: return "ok";
	case ONYX_EUNAVAIL: return "service unavailable";
	case ONYX_EAUTH: return "authentication failed";
	case ONYX_ETIMEDOUT: return "timed out";
	case ONYX_EREJECTED: return "rejected by the broker";
	case ONYX_ENOENT: return "not found";
	case ONYX_EEXIST: return "already exists";
	case ONYX_EVERSION: return "version conflict";
	case ONYX_EEXPIRED: return "session expired";
	case ONYX_EDATA: return "bad data";
	case ONYX_EINTR: return "interrupted";
	case ONYX_EINDOUBT: return "commit in doubt";
	case ONYX_ENOTEMPTY: return "not empty";
	case ONYX_EUSAGE: return "usage";
	case ONYX_EIO: return "I/O error";
	case ONYX_ECONFIG: return "bad configuration";
	default: return "internal error";
	}
}
