/* error.c: the error sentence carried next to a negative errno. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
mvm_error_set(struct mvm_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e != NULL) {
		e->code = code;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

void
mvm_error_clear(struct mvm_error *e)
{
	if (e != NULL) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

const char *
mvm_errno_name(int code)
{
	static const struct {
		int		 code;
		const char	*name;
	} names[] = {
		{ EPERM, "EPERM" },	{ ENOENT, "ENOENT" },
		{ EIO, "EIO" },		{ E2BIG, "E2BIG" },
		{ ENOMEM, "ENOMEM" },	{ EACCES, "EACCES" },
		{ EBUSY, "EBUSY" },	{ EEXIST, "EEXIST" },
		{ ENOTDIR, "ENOTDIR" },	{ EISDIR, "EISDIR" },
		{ EINVAL, "EINVAL" },	{ ENOSPC, "ENOSPC" },
		{ EROFS, "EROFS" },	{ ERANGE, "ERANGE" },
		{ EAGAIN, "EAGAIN" },	{ ENAMETOOLONG, "ENAMETOOLONG" },
		{ ENOSYS, "ENOSYS" },	{ ENOTEMPTY, "ENOTEMPTY" },
		{ EPROTO, "EPROTO" },	{ EOVERFLOW, "EOVERFLOW" },
		{ EILSEQ, "EILSEQ" },	{ EOPNOTSUPP, "EOPNOTSUPP" },
		{ EADDRINUSE, "EADDRINUSE" }, { ETIMEDOUT, "ETIMEDOUT" },
		{ ECONNREFUSED, "ECONNREFUSED" }, { ESTALE, "ESTALE" },
		{ EDQUOT, "EDQUOT" },	{ ECANCELED, "ECANCELED" },
		{ EINTR, "EINTR" },	{ ESRCH, "ESRCH" },
		{ EFBIG, "EFBIG" },	{ EBADMSG, "EBADMSG" },
	};
	static _Thread_local char other[16];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == code)
			return names[i].name;
	snprintf(other, sizeof(other), "E%d", code);
	return other;
}
