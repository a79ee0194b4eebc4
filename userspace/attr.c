// SPDX-License-Identifier: GPL-2.0
/*
 * lazyfreectl - attribute access and error reporting
 *
 * Small helpers that read or write one sysfs/cgroupfs value, return -errno
 * and leave the reporting to the caller, which knows the value it tried
 * (zramctl and losetup do it this way).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lazyfreectl.h"

const char *lf_progname = "lazyfreectl";

/* LAZYFREE_ROOT: prefix for every absolute path; for the test suite only */
static char lf_root[LF_PATH_MAX];
static size_t lf_root_len;

void lf_root_init(void)
{
	const char *root = getenv("LAZYFREE_ROOT");

	if (!root || !*root)
		return;
	snprintf(lf_root, sizeof(lf_root), "%s", root);
	lf_root_len = strlen(lf_root);
	while (lf_root_len > 1 && lf_root[lf_root_len - 1] == '/')
		lf_root[--lf_root_len] = '\0';
}

bool lf_root_overridden(void)
{
	return lf_root_len > 0;
}

int lf_real_path(const char *logical, char *out, size_t size)
{
	int n = snprintf(out, size, "%s%s", lf_root, logical);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Inverse of lf_real_path() for paths found by walking the tree. */
const char *lf_logical_path(const char *real)
{
	if (lf_root_len && !strncmp(real, lf_root, lf_root_len))
		return real[lf_root_len] ? real + lf_root_len : "/";
	return real;
}

int lf_open(const char *logical, int flags)
{
	char real[LF_PATH_MAX];
	int ret = lf_real_path(logical, real, sizeof(real));

	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return open(real, flags | O_CLOEXEC);
}

/* fopen() for reading, below the root prefix; NULL and errno on failure */
FILE *lf_fopen(const char *logical)
{
	int fd = lf_open(logical, O_RDONLY);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (!f) {
		int err = errno;

		close(fd);
		errno = err;
	}
	return f;
}

int lf_stat(const char *logical, struct stat *st)
{
	char real[LF_PATH_MAX];
	int ret = lf_real_path(logical, real, sizeof(real));

	if (ret < 0)
		return ret;
	return stat(real, st) ? -errno : 0;
}

/*
 * Read one value; the trailing newline is removed.  -EOVERFLOW if it
 * does not fit in @size (a buffer it fills may not hold all of it).
 */
int lf_read_attr(const char *logical, char *buf, size_t size)
{
	ssize_t len;
	int fd, err;

	fd = lf_open(logical, O_RDONLY);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, size);
	err = errno;
	close(fd);
	if (len < 0)
		return -err;
	if ((size_t)len == size)	/* and perhaps more: never cut a value */
		return -EOVERFLOW;
	buf[len] = '\0';
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return 0;
}

/*
 * Write one value with its newline in a single write(), as sysfs wants.
 * O_TRUNC does nothing on sysfs but keeps the fake test tree exact.
 */
int lf_write_attr(const char *logical, const char *val)
{
	char buf[LF_ATTR_MAX];
	size_t len;
	ssize_t n;
	int fd, err;

	len = snprintf(buf, sizeof(buf), "%s\n", val);
	if (len >= sizeof(buf))
		return -E2BIG;
	fd = lf_open(logical, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	err = errno;
	if (close(fd) && n >= 0) {
		n = -1;
		err = errno;
	}
	if (n < 0)
		return -err;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

int lf_parse_u64(const char *s, uint64_t *val)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	if (*end)
		return -EINVAL;
	*val = v;
	return 0;
}

int lf_read_u64(const char *logical, uint64_t *val)
{
	char buf[64];
	int ret = lf_read_attr(logical, buf, sizeof(buf));

	if (ret < 0)
		return ret;
	return lf_parse_u64(buf, val);
}

/* lf_read_attr(), saying which attribute could not be read */
int lf_read_attr_report(const char *logical, char *buf, size_t size)
{
	int ret = lf_read_attr(logical, buf, size);

	if (ret < 0)
		lf_err(logical, "read failed", NULL, ret);
	return ret;
}

/* "lazyfreectl: <subject>: <what> (<value>): <reason>" */
void lf_errmsg(const char *subject, const char *what, const char *value,
	       const char *reason)
{
	fflush(stdout);
	fprintf(stderr, "%s: ", lf_progname);
	if (subject)
		fprintf(stderr, "%s: ", subject);
	fputs(what, stderr);
	if (value)
		fprintf(stderr, " (%s)", value);
	if (reason)
		fprintf(stderr, ": %s", reason);
	fputc('\n', stderr);
}

void lf_err(const char *subject, const char *what, const char *value, int err)
{
	lf_errmsg(subject, what, value, strerror(err < 0 ? -err : err));
}

/* util-linux style: 0B, 1023B, 1K, 1.5M, 12.3G */
void lf_size_human(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = "BKMGTPE";
	double v = bytes;
	int i = 0;

	if (bytes < 1024) {
		snprintf(buf, size, "%lluB", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && units[i + 1]) {
		v /= 1024;
		i++;
	}
	if (v >= 1023.95 && units[i + 1]) {
		v /= 1024;
		i++;
	}
	snprintf(buf, size, "%.1f", v);
	if (!strcmp(buf + strlen(buf) - 2, ".0"))
		buf[strlen(buf) - 2] = '\0';
	snprintf(buf + strlen(buf), size - strlen(buf), "%c", units[i]);
}

static const char * const lf_mode_names[] = {
	[LF_MODE_FREE] = "free",
	[LF_MODE_DONTNEED] = "dontneed",
	[LF_MODE_INHERIT] = "inherit",
};

enum lf_mode lf_mode_parse(const char *s)
{
	int i;

	for (i = 0; i < LF_MODE_INVALID; i++)
		if (!strcmp(s, lf_mode_names[i]))
			return i;
	return LF_MODE_INVALID;
}

const char *lf_mode_name(enum lf_mode mode)
{
	return mode < LF_MODE_INVALID ? lf_mode_names[mode] : "?";
}
