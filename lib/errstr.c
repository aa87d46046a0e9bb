/* lib/errstr.c: the text of an errno value, safe from any thread. */
#include <string.h>

#include "errstr.h"

const char *
onyx_strerror(int e)
{
	/* glibc's own table, the C locale's wording, MT-Safe */
	const char *s = strerrordesc_np(e);

	return s != NULL ? s : "unknown error";
}
