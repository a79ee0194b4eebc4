// SPDX-License-Identifier: GPL-2.0
/*
 * lazyfreectl - cgroup hierarchy, path <-> id resolution, tracked entries
 *
 * A cgroup id is stat(dir).st_ino on 64-bit kernels, v1 and v2 alike; v1 ids
 * are per hierarchy, and the module's "hierarchy" file says which one its
 * ids belong to (v2, or the v1 memory hierarchy).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazyfreectl.h"

int lf_module_check(void)
{
	struct stat st;
	int ret = lf_stat(LF_SYSFS, &st);

	if (ret < 0) {
		lf_err(LF_SYSFS, "lazyfree module not loaded", NULL, ret);
		return ret;
	}
	return 0;
}

/*
 * The loaded module's MODULE_VERSION.  -ENOENT: not loaded; a module
 * without the file (built before it had one) reads "unknown".
 */
int lf_module_version(char *buf, size_t size)
{
	struct stat st;
	int ret = lf_stat("/sys/module/lazyfree", &st);

	if (ret < 0)
		return ret;
	ret = lf_read_attr("/sys/module/lazyfree/version", buf, size);
	if (ret == -ENOENT) {
		snprintf(buf, size, "unknown");
		ret = 0;
	}
	return ret;
}

int lf_hierarchy(enum lf_hierarchy *h)
{
	char buf[64];
	int ret = lf_read_attr(LF_SYSFS "/hierarchy", buf, sizeof(buf));

	if (ret < 0) {
		lf_err(LF_SYSFS "/hierarchy", "read failed", NULL, ret);
		return ret;
	}
	if (!strcmp(buf, "v2")) {
		*h = LF_V2;
	} else if (!strcmp(buf, "v1")) {
		*h = LF_V1;
	} else {
		lf_err(LF_SYSFS "/hierarchy", "unknown hierarchy", buf, EINVAL);
		return -EINVAL;
	}
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape_octal(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (s[1] - '0') << 6 | (s[2] - '0') << 3 |
			       (s[3] - '0');
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

static bool has_option(const char *opts, const char *name)
{
	size_t len = strlen(name);
	const char *p = opts;

	while (p && *p) {
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/*
 * Find the hierarchy's mount point in /proc/self/mountinfo: the cgroup2
 * mount, or the cgroup (v1) mount with the memory controller. A mount of the
 * hierarchy root is preferred over bind mounts of a subtree.
 */
int lf_mount_point(enum lf_hierarchy h, char *out, size_t size)
{
	const char *mi = "/proc/self/mountinfo";
	char *line = NULL, *sub = NULL;
	size_t cap = 0;
	bool found = false;
	int ret = 0;
	FILE *f;

	f = lf_fopen(mi);
	if (!f) {
		ret = -errno;
		lf_err(mi, "read failed", NULL, ret);
		return ret;
	}
	while (getline(&line, &cap, f) > 0) {
		char *fld[16], *save = NULL, *tok, *fstype, *opts;
		int n = 0, sep = -1;

		for (tok = strtok_r(line, "\n ", &save); tok && n < 16;
		     tok = strtok_r(NULL, "\n ", &save)) {
			if (sep < 0 && !strcmp(tok, "-"))
				sep = n;
			fld[n++] = tok;
		}
		if (sep < 5 || n < sep + 4)
			continue;
		fstype = fld[sep + 1];
		opts = fld[sep + 3];
		if (h == LF_V2 ? strcmp(fstype, "cgroup2") :
		    strcmp(fstype, "cgroup") || !has_option(opts, "memory"))
			continue;
		unescape_octal(fld[4]);
		if (!strcmp(fld[3], "/")) {
			snprintf(out, size, "%s", fld[4]);
			found = true;
			break;
		}
		if (!sub)
			sub = strdup(fld[4]);
	}
	free(line);
	fclose(f);
	if (!found && sub) {
		snprintf(out, size, "%s", sub);
		found = true;
	}
	free(sub);
	if (!found) {
		lf_err(mi, "no mount of the cgroup hierarchy",
		       h == LF_V2 ? "cgroup2" : "cgroup v1 memory", ENOENT);
		return -ENOENT;
	}
	return 0;
}

/*
 * Lexically normalise a hierarchy-relative path into "/" or "/a/b":
 * empty and "." components go, ".." goes up but never above the root.
 */
static int normalize(const char *in, char *out, size_t size)
{
	char *copy = strdup(in), *save = NULL, *tok;
	size_t len = 0;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	out[0] = '\0';
	for (tok = strtok_r(copy, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			char *slash = strrchr(out, '/');

			if (!slash) {
				ret = -EINVAL;
				break;
			}
			*slash = '\0';
			len = slash - out;
			continue;
		}
		if (len + 1 + strlen(tok) + 1 > size) {
			ret = -ENAMETOOLONG;
			break;
		}
		len += sprintf(out + len, "/%s", tok);
	}
	free(copy);
	if (!ret && !len)
		snprintf(out, size, "/");
	return ret;
}

static int join(const char *mnt, const char *rel, char *out, size_t size)
{
	int n = snprintf(out, size, "%s%s", mnt, strcmp(rel, "/") ? rel : "");

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (!out[0])
		snprintf(out, size, "/");
	return 0;
}

static int mount_of_module(char *mnt, size_t size)
{
	enum lf_hierarchy h;
	int ret = lf_hierarchy(&h);

	return ret < 0 ? ret : lf_mount_point(h, mnt, size);
}

/*
 * The hierarchy's mount point into MNT (no trailing '/'), and ARG with it
 * stripped where ARG starts with it: what is left is a path inside.
 */
static int inside_mount(const char *arg, char *mnt, size_t size,
			const char **rel)
{
	size_t mlen;
	int ret = mount_of_module(mnt, size);

	if (ret < 0)
		return ret;
	mlen = strlen(mnt);
	while (mlen > 1 && mnt[mlen - 1] == '/')
		mnt[--mlen] = '\0';
	*rel = arg;
	if (!strncmp(arg, mnt, mlen) && (arg[mlen] == '/' || !arg[mlen]))
		*rel = arg + mlen;
	return 0;
}

static uint64_t walk_id;
static char walk_found[LF_PATH_MAX];

static int walk_cb(const char *path, const struct stat *st, int type,
		   struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D && st->st_ino == walk_id) {
		snprintf(walk_found, sizeof(walk_found), "%s",
			 lf_logical_path(path));
		return 1;
	}
	return 0;
}

bool lf_is_tracked(uint64_t id)
{
	char path[LF_PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), LF_CGROUPS "/%llu",
		 (unsigned long long)id);
	return !lf_stat(path, &st) && S_ISDIR(st.st_mode);
}

void lf_cgroup_attr(uint64_t id, const char *name, char *out, size_t size)
{
	char path[LF_PATH_MAX];

	snprintf(path, sizeof(path), LF_CGROUPS "/%llu/%s",
		 (unsigned long long)id, name);
	if (lf_read_attr(path, out, size) < 0)
		out[0] = '\0';
}

/* Find the directory of a cgroup id: the module's path file, else a walk. */
int lf_id_to_dir(uint64_t id, struct lf_cgroup *cg)
{
	char mnt[LF_PATH_MAX], real[LF_PATH_MAX], rel[LF_PATH_MAX];
	size_t mlen;
	struct stat st;
	int ret;

	cg->id = id;
	cg->have_dir = false;
	ret = mount_of_module(mnt, sizeof(mnt));
	if (ret < 0)
		return ret;
	lf_cgroup_attr(id, "path", rel, sizeof(rel));
	if (rel[0] == '/' && !join(mnt, rel, cg->abs, sizeof(cg->abs))) {
		if (!lf_stat(cg->abs, &st) && st.st_ino == id) {
			snprintf(cg->rel, sizeof(cg->rel), "%s", rel);
			cg->have_dir = true;
			return 0;
		}
	}
	ret = lf_real_path(mnt, real, sizeof(real));
	if (ret < 0)
		return ret;
	walk_id = id;
	walk_found[0] = '\0';
	if (nftw(real, walk_cb, 32, FTW_PHYS | FTW_MOUNT) != 1)
		return -ENOENT;
	snprintf(cg->abs, sizeof(cg->abs), "%s", walk_found);
	mlen = strlen(mnt);
	while (mlen > 1 && mnt[mlen - 1] == '/')
		mlen--;
	snprintf(cg->rel, sizeof(cg->rel), "%s",
		 walk_found[mlen] ? walk_found + mlen : "/");
	cg->have_dir = true;
	return 0;
}

/*
 * Resolve a CGROUP argument: a decimal id, an absolute path under the
 * hierarchy's mount point, or a path relative to the hierarchy root (with
 * or without a leading slash). A path must name an existing directory; an
 * id is taken as it is (the module checks it), have_dir says whether its
 * directory was found.
 */
int lf_resolve(const char *arg, struct lf_cgroup *cg, bool report)
{
	char mnt[LF_PATH_MAX];
	const char *rel;
	struct stat st;
	uint64_t id;
	int ret;

	memset(cg, 0, sizeof(*cg));
	if (!*arg) {
		if (report)
			lf_err(NULL, "empty cgroup", NULL, EINVAL);
		return -EINVAL;
	}
	if (!lf_parse_u64(arg, &id)) {
		ret = lf_id_to_dir(id, cg);
		if (ret == -ENOENT)
			ret = 0;
		return ret;
	}
	ret = inside_mount(arg, mnt, sizeof(mnt), &rel);
	if (ret < 0)
		return ret;
	ret = normalize(rel, cg->rel, sizeof(cg->rel));
	if (ret < 0) {
		if (report)
			lf_err(NULL, "invalid cgroup path", arg, ret);
		return ret;
	}
	ret = join(mnt, cg->rel, cg->abs, sizeof(cg->abs));
	if (!ret)
		ret = lf_stat(cg->abs, &st);
	if (!ret && !S_ISDIR(st.st_mode))
		ret = -ENOTDIR;
	if (ret < 0) {
		if (report)
			lf_err(cg->abs, "no such cgroup", arg, ret);
		return ret;
	}
	cg->id = st.st_ino;
	cg->have_dir = true;
	return 0;
}

/* Make sure the module tracks @id; EEXIST (auto-created) is success. */
bool lf_is_pattern(const char *arg)
{
	return strpbrk(arg, "*?[") != NULL;
}

/*
 * The cgroups a pattern (a CGROUP with *, ? or [, glob(7): no wildcard
 * matches a '/') names now, in glob's order.  No match is not an error:
 * *n is 0.
 */
int lf_glob(const char *pattern, struct lf_cgroup **out, size_t *n)
{
	char mnt[LF_PATH_MAX], rel[LF_PATH_MAX], abs[LF_PATH_MAX];
	char real[LF_PATH_MAX];
	struct lf_cgroup *cg;
	const char *p;
	size_t i;
	glob_t g;
	int ret;

	*out = NULL;
	*n = 0;
	ret = inside_mount(pattern, mnt, sizeof(mnt), &p);
	if (ret < 0)
		return ret;
	ret = normalize(p, rel, sizeof(rel));
	if (!ret)
		ret = join(mnt, rel, abs, sizeof(abs));
	if (!ret)
		ret = lf_real_path(abs, real, sizeof(real));
	if (ret < 0)
		return ret;
	switch (glob(real, GLOB_ONLYDIR, NULL, &g)) {
	case 0:
		break;
	case GLOB_NOMATCH:
		return 0;
	case GLOB_NOSPACE:
		return -ENOMEM;
	default:
		return -EIO;
	}
	cg = calloc(g.gl_pathc, sizeof(*cg));
	if (!cg) {
		globfree(&g);
		return -ENOMEM;
	}
	for (i = 0; i < g.gl_pathc; i++)	/* files are skipped: not dirs */
		if (!lf_resolve(lf_logical_path(g.gl_pathv[i]), &cg[*n], false))
			(*n)++;
	globfree(&g);
	*out = cg;
	return 0;
}

/* FN on every process in DIR/cgroup.procs; a cgroup removed meanwhile has none */
static int procs_each(const char *dir, lf_proc_fn fn, void *arg)
{
	char path[LF_PATH_MAX + 32];
	FILE *procs;
	long pid;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	procs = lf_fopen(path);
	if (!procs) {
		ret = -errno;
		if (ret == -ENOENT)
			return 0;
		lf_err(path, "read failed", NULL, ret);
		return ret;
	}
	while (!ret && fscanf(procs, "%ld", &pid) == 1)
		ret = fn(pid, arg);
	fclose(procs);
	return ret;
}

static struct {
	lf_proc_fn fn;
	void *arg;
	int ret;
} walk;

static int each_cb(const char *path, const struct stat *st, int type,
		   struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_D)
		walk.ret = procs_each(lf_logical_path(path), walk.fn, walk.arg);
	return walk.ret;
}

/*
 * FN(pid, ARG) on every process of the cgroup at logical path DIR, and with
 * SUBTREE of its descendants too, until FN returns non-zero.  FN skips a
 * process that exits meanwhile.
 */
int lf_for_each_proc(const char *dir, bool subtree, lf_proc_fn fn, void *arg)
{
	char real[LF_PATH_MAX];
	int ret;

	if (!subtree)
		return procs_each(dir, fn, arg);
	ret = lf_real_path(dir, real, sizeof(real));
	if (ret < 0)
		return ret;
	walk.fn = fn;
	walk.arg = arg;
	walk.ret = 0;
	if (nftw(real, each_cb, 16, FTW_PHYS) < 0 && !walk.ret)
		walk.ret = -errno;
	return walk.ret;
}

/* LazyFree of the process's smaps_rollup, added to *(uint64_t *)ARG */
static int pid_lazyfree(long pid, void *arg)
{
	char path[64], line[256];
	unsigned long long kb;
	uint64_t *sum = arg;
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", pid);
	f = lf_fopen(path);
	if (!f) {
		ret = -errno;
		if (ret == -ENOENT || ret == -ESRCH)
			return 0;	/* exited meanwhile */
		lf_err(path, "read failed", NULL, ret);
		return ret;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "LazyFree: %llu kB", &kb) == 1)
			*sum += kb * 1024;
	fclose(f);
	return 0;
}

/*
 * LazyFree of a tracked cgroup's own processes, its directory under the
 * mount point MNT; -ENOENT: it was removed (or its path now names another).
 */
int lf_entry_lazyfree(const char *mnt, const struct lf_entry *e, uint64_t *sum)
{
	char dir[2 * LF_PATH_MAX];
	struct stat st;

	*sum = 0;
	snprintf(dir, sizeof(dir), "%s%s", strcmp(mnt, "/") ? mnt : "",
		 strcmp(e->path, "/") ? e->path : "");
	if (lf_stat(dir[0] ? dir : "/", &st) < 0 || st.st_ino != e->id)
		return -ENOENT;
	return lf_lazyfree(dir[0] ? dir : "/", false, sum);
}

/*
 * Memory lazily freed right now (LazyFree of smaps_rollup, bytes) by the
 * processes of the cgroup at logical path DIR, and with SUBTREE of its
 * descendants too.  Slow: the kernel walks every process's page tables.
 */
int lf_lazyfree(const char *dir, bool subtree, uint64_t *sum)
{
	*sum = 0;
	return lf_for_each_proc(dir, subtree, pid_lazyfree, sum);
}

int lf_track(uint64_t id, bool *added)
{
	char val[32];
	int ret;

	*added = false;
	if (lf_is_tracked(id))
		return 0;
	snprintf(val, sizeof(val), "%llu", (unsigned long long)id);
	ret = lf_write_attr(LF_CGROUPS "/add", val);
	if (ret == -EEXIST)
		return 0;
	if (ret < 0) {
		lf_err(LF_CGROUPS "/add", ret == -ENOSPC ?
		       "write failed, max_cgroups reached" : "write failed",
		       val, ret);
		return ret;
	}
	*added = true;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct lf_entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Read one tracked cgroup. A directory that disappears while it is read
 * (its cgroup was removed) is skipped without a word (-ENOENT): gone before
 * open() it is ENOENT, gone between open() and read() sysfs says ENODEV.
 */
static int read_entry(uint64_t id, struct lf_entry *e)
{
	static const char * const names[] = {
		"path", "mode", "effective_mode", "free_bytes",
		"rewritten_bytes", "pinned_bytes",
	};
	uint64_t *counters[] = { &e->freed, &e->rewritten, &e->pinned };
	char path[LF_PATH_MAX], buf[LF_PATH_MAX];
	size_t i;
	int ret;

	memset(e, 0, sizeof(*e));
	e->id = id;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), LF_CGROUPS "/%llu/%s",
			 (unsigned long long)id, names[i]);
		ret = lf_read_attr(path, buf, sizeof(buf));
		if (ret == -ENOENT || ret == -ENODEV)
			return -ENOENT;
		if (ret < 0) {
			lf_err(path, "read failed", NULL, ret);
			return ret;
		}
		switch (i) {
		case 0:
			snprintf(e->path, sizeof(e->path), "%s", buf);
			break;
		case 1:
		case 2:
			*(i == 1 ? &e->mode : &e->effective) =
				lf_mode_parse(buf);
			if (lf_mode_parse(buf) == LF_MODE_INVALID) {
				lf_err(path, "unknown mode", buf, EINVAL);
				return -EINVAL;
			}
			break;
		default:
			ret = lf_parse_u64(buf, counters[i - 3]);
			if (ret < 0) {
				lf_err(path, "not a number", buf, ret);
				return ret;
			}
		}
	}
	return 0;
}

int lf_read_entries(struct lf_entry **entries, size_t *n, int *failed)
{
	struct lf_entry *arr = NULL, *tmp;
	char real[LF_PATH_MAX];
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	uint64_t id;
	DIR *dir;
	int ret;

	*failed = 0;
	ret = lf_real_path(LF_CGROUPS, real, sizeof(real));
	dir = ret < 0 ? NULL : opendir(real);
	if (!dir) {
		ret = ret < 0 ? ret : -errno;
		lf_err(LF_CGROUPS, "read failed", NULL, ret);
		return ret;
	}
	while ((de = readdir(dir))) {
		if (lf_parse_u64(de->d_name, &id))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			tmp = realloc(arr, cap * sizeof(*arr));
			if (!tmp) {
				closedir(dir);
				free(arr);
				lf_err(LF_CGROUPS, "read failed", NULL, ENOMEM);
				return -ENOMEM;
			}
			arr = tmp;
		}
		ret = read_entry(id, &arr[cnt]);
		if (!ret)
			cnt++;
		else if (ret != -ENOENT)
			(*failed)++;
	}
	closedir(dir);
	if (cnt)
		qsort(arr, cnt, sizeof(*arr), entry_cmp);
	*entries = arr;
	*n = cnt;
	return 0;
}
