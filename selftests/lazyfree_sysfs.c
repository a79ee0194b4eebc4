// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs ABI: file permissions, add/remove/path, and a table of invalid
 * writes for every writable file. Each bad write must fail with the errno
 * the ABI gives (EINVAL malformed, ENOENT no such cgroup / not tracked,
 * EEXIST already tracked), and the state read back (enabled, default_mode,
 * the tracked cgroup's mode, the set of tracked ids) must be unchanged.
 * Valid writes still work afterwards.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_harness.h"
#include "lf_util.h"

#define MAX_IDS 8192
#define LF_DEFAULT_PARAM "/sys/module/lazyfree/parameters/default_mode"

struct state {
	char enabled[16];
	char default_mode[32];
	char mode[32];		/* of the tracked test cgroup */
	int nids;
	uint64_t ids[MAX_IDS];
};

static int read_state(uint64_t id, struct state *s)
{
	int err;

	memset(s, 0, sizeof(*s));
	err = lf_attr_read("enabled", s->enabled, sizeof(s->enabled));
	if (!err)
		err = lf_attr_read("default_mode", s->default_mode, sizeof(s->default_mode));
	if (!err)
		err = lf_cg_attr_read(id, "mode", s->mode, sizeof(s->mode));
	if (err)
		return err;
	s->nids = lf_tracked_ids(s->ids, MAX_IDS);
	return s->nids < 0 ? -errno : 0;
}

static bool same_state(const struct state *a, const struct state *b, char *why, size_t n)
{
	if (strcmp(a->enabled, b->enabled))
		return snprintf(why, n, "enabled %s -> %s", a->enabled, b->enabled), false;
	if (strcmp(a->default_mode, b->default_mode))
		return snprintf(why, n, "default_mode %s -> %s", a->default_mode, b->default_mode), false;
	if (strcmp(a->mode, b->mode))
		return snprintf(why, n, "mode %s -> %s", a->mode, b->mode), false;
	if (a->nids != b->nids || memcmp(a->ids, b->ids, a->nids * sizeof(a->ids[0])))
		return snprintf(why, n, "tracked cgroups %d -> %d", a->nids, b->nids), false;
	return true;
}

FIXTURE(sysfs) {
	struct lf_global g;
	struct lf_cg tracked;	/* tracked, mode dontneed */
	struct lf_cg untracked;	/* live, never added */
	struct lf_cg gone;	/* removed: its id names no cgroup */
	struct state *s0, *s1;
};

FIXTURE_SETUP(sysfs)
{
	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_EQ(0, lf_global_save(&self->g));
	ASSERT_EQ(0, lf_cg_create(&self->tracked, "lf_sysfs_tracked"));
	ASSERT_EQ(0, lf_track(self->tracked.id));
	ASSERT_EQ(0, lf_cg_attr_write(self->tracked.id, "mode", "dontneed"));
	ASSERT_EQ(0, lf_cg_create(&self->untracked, "lf_sysfs_untracked"));
	ASSERT_EQ(0, lf_untrack(self->untracked.id));
	ASSERT_EQ(0, lf_cg_create(&self->gone, "lf_sysfs_gone"));
	ASSERT_EQ(0, lf_cg_destroy(&self->gone));
	self->s0 = mmap(NULL, 2 * sizeof(struct state), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->s0);
	self->s1 = self->s0 + 1;
}

FIXTURE_TEARDOWN_PARENT(sysfs)
{
	lf_cg_destroy(&self->tracked);
	lf_cg_destroy(&self->untracked);
	lf_global_restore(&self->g);
}

/*
 * Placeholders in inputs: @T tracked id, @U untracked live id, @G removed id.
 * A zero-length write never reaches a sysfs store (sysfs_kf_write() returns
 * 0 for it), so "" rows expect success and, like every row, no change;
 * "\n" is the empty value a shell writes.
 */
struct bad {
	const char *file;	/* "mode" means cgroups/<tracked>/mode */
	const char *input;
	int err;
};

static const struct bad bad_writes[] = {
	{ "enabled", "", 0 },
	{ "enabled", "\n", EINVAL },
	{ "enabled", "2", EINVAL },
	{ "enabled", "-1", EINVAL },
	{ "enabled", "10", EINVAL },
	{ "enabled", "1x", EINVAL },
	{ "enabled", "0x1", EINVAL },
	{ "enabled", "1 1", EINVAL },
	{ "enabled", " 1", EINVAL },
	{ "enabled", "1 ", EINVAL },
	{ "enabled", "1\n\n", EINVAL },
	{ "enabled", "\n1", EINVAL },
	{ "enabled", "yes", EINVAL },
	{ "enabled", "on", EINVAL },
	{ "enabled", "true", EINVAL },
	{ "enabled", "free", EINVAL },
	{ "enabled", "18446744073709551617", EINVAL },
	{ "default_mode", "", 0 },
	{ "default_mode", "\n", EINVAL },
	{ "default_mode", "inherit", EINVAL },
	{ "default_mode", "FREE", EINVAL },
	{ "default_mode", "Dontneed", EINVAL },
	{ "default_mode", "fre", EINVAL },
	{ "default_mode", "freex", EINVAL },
	{ "default_mode", "free x", EINVAL },
	{ "default_mode", " free", EINVAL },
	{ "default_mode", "free ", EINVAL },
	{ "default_mode", "free\n\n", EINVAL },
	{ "default_mode", "free\tx", EINVAL },
	{ "default_mode", "dontneed\nfree", EINVAL },
	{ "default_mode", "dontneed,free", EINVAL },
	{ "default_mode", "1", EINVAL },
	{ "default_mode", "0", EINVAL },
	{ "cgroups/add", "", 0 },
	{ "cgroups/add", "\n", EINVAL },
	{ "cgroups/add", "abc", EINVAL },
	{ "cgroups/add", "12abc", EINVAL },
	{ "cgroups/add", "@U abc", EINVAL },
	{ "cgroups/add", "-1", EINVAL },
	{ "cgroups/add", "-@U", EINVAL },
	{ "cgroups/add", "0x10", EINVAL },
	{ "cgroups/add", " @U", EINVAL },
	{ "cgroups/add", "@U ", EINVAL },
	{ "cgroups/add", "@U @U", EINVAL },
	{ "cgroups/add", "@U\n\n", EINVAL },
	{ "cgroups/add", "18446744073709551616", EINVAL },
	{ "cgroups/add", "99999999999999999999999", EINVAL },
	{ "cgroups/add", "0", EINVAL },
	{ "cgroups/add", "+", EINVAL },
	{ "cgroups/add", "++@U", EINVAL },
	{ "cgroups/add", "18446744073709551615", ENOENT },
	{ "cgroups/add", "@G", ENOENT },
	{ "cgroups/add", "@T", EEXIST },
	{ "cgroups/add", "@T\n", EEXIST },
	{ "cgroups/remove", "", 0 },
	{ "cgroups/remove", "\n", EINVAL },
	{ "cgroups/remove", "abc", EINVAL },
	{ "cgroups/remove", "-1", EINVAL },
	{ "cgroups/remove", "-@T", EINVAL },
	{ "cgroups/remove", "0x10", EINVAL },
	{ "cgroups/remove", "18446744073709551616", EINVAL },
	{ "cgroups/remove", " @T", EINVAL },
	{ "cgroups/remove", "@T ", EINVAL },
	{ "cgroups/remove", "@T x", EINVAL },
	{ "cgroups/remove", "@T\n\n", EINVAL },
	{ "cgroups/remove", "0", EINVAL },
	{ "cgroups/remove", "@U", ENOENT },
	{ "cgroups/remove", "@G", ENOENT },
	{ "cgroups/remove", "18446744073709551615", ENOENT },
	{ "mode", "", 0 },
	{ "mode", "\n", EINVAL },
	{ "mode", "x", EINVAL },
	{ "mode", "FREE", EINVAL },
	{ "mode", "Inherit", EINVAL },
	{ "mode", "fre", EINVAL },
	{ "mode", "freex", EINVAL },
	{ "mode", "free x", EINVAL },
	{ "mode", " free", EINVAL },
	{ "mode", "free ", EINVAL },
	{ "mode", "free\n\n", EINVAL },
	{ "mode", "inheritx", EINVAL },
	{ "mode", "dontneed\n1", EINVAL },
	{ "mode", "free,dontneed", EINVAL },
	{ "mode", "0", EINVAL },
	{ "mode", "1", EINVAL },
};

static void expand(char *out, size_t n, const char *in, const FIXTURE_DATA(sysfs) *self)
{
	size_t o = 0;

	for (const char *p = in; *p && o + 1 < n; p++) {
		if (p[0] == '@' && (p[1] == 'T' || p[1] == 'U' || p[1] == 'G')) {
			uint64_t id = p[1] == 'T' ? self->tracked.id :
				      p[1] == 'U' ? self->untracked.id : self->gone.id;

			o += snprintf(out + o, n - o, "%llu", (unsigned long long)id);
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o < n ? o : n - 1] = '\0';
}

TEST_F_TIMEOUT(sysfs, invalid_writes_rejected, 120)
{
	char path[256], input[128], why[128];
	int tried = 0;

	ASSERT_EQ(0, read_state(self->tracked.id, self->s0));
	for (size_t i = 0; i < ARRAY_SIZE(bad_writes); i++) {
		const struct bad *b = &bad_writes[i];
		int err;

		expand(input, sizeof(input), b->input, self);
		if (!strcmp(b->file, "mode"))
			snprintf(path, sizeof(path), LF_SYSFS "/cgroups/%llu/mode",
				 (unsigned long long)self->tracked.id);
		else
			snprintf(path, sizeof(path), LF_SYSFS "/%s", b->file);
		err = lf_write_buf(path, input, strlen(input));
		tried++;
		EXPECT_EQ(-b->err, err)
			TH_LOG("%s <- \"%s\" (table \"%s\"): got %s, want %s", b->file,
			       input, b->input, err ? strerror(-err) : "success",
			       b->err ? strerror(b->err) : "success");
		ASSERT_EQ(0, read_state(self->tracked.id, self->s1));
		EXPECT_TRUE(same_state(self->s0, self->s1, why, sizeof(why)))
			TH_LOG("%s <- \"%s\" changed state: %s", b->file, b->input, why);
		if (!same_state(self->s0, self->s1, why, sizeof(why))) {
			/* put it back so the next rows are judged on their own */
			lf_attr_write("enabled", self->s0->enabled);
			lf_attr_write("default_mode", self->s0->default_mode);
			lf_cg_attr_write(self->tracked.id, "mode", self->s0->mode);
			lf_untrack(self->untracked.id);
			lf_track(self->tracked.id);
			lf_cg_attr_write(self->tracked.id, "mode", self->s0->mode);
		}
	}
	TH_LOG("%d invalid writes tried", tried);
}

/* After the bad ones, every valid spelling still works. */
TEST_F(sysfs, valid_writes_work)
{
	static const char *const mode_in[] = { "free", "dontneed\n", "inherit", "free\n", "dontneed" };
	static const char *const mode_out[] = { "free", "dontneed", "inherit", "free", "dontneed" };
	char buf[64], id[32], at_load[64];
	const char *other;

	for (size_t i = 0; i < 5; i++) {
		ASSERT_EQ(0, lf_cg_attr_write(self->tracked.id, "mode", mode_in[i]));
		ASSERT_EQ(0, lf_cg_attr_read(self->tracked.id, "mode", buf, sizeof(buf)));
		EXPECT_STREQ(mode_out[i], buf);
	}
	ASSERT_EQ(0, lf_attr_write("default_mode", "dontneed\n"));
	ASSERT_EQ(0, lf_attr_read("default_mode", buf, sizeof(buf)));
	EXPECT_STREQ("dontneed", buf);
	ASSERT_EQ(0, lf_attr_write("default_mode", "free"));
	ASSERT_EQ(0, lf_attr_read("default_mode", buf, sizeof(buf)));
	EXPECT_STREQ("free", buf);
	ASSERT_EQ(0, lf_attr_write("enabled", "0\n"));
	ASSERT_EQ(0, lf_attr_read("enabled", buf, sizeof(buf)));
	EXPECT_STREQ("0", buf);
	ASSERT_EQ(0, lf_attr_write("enabled", "1"));
	ASSERT_EQ(0, lf_attr_read("enabled", buf, sizeof(buf)));
	EXPECT_STREQ("1", buf);

	/*
	 * The default_mode parameter reads the value given at load (what
	 * apply --prune restores), not the live one.
	 */
	ASSERT_EQ(0, lf_read_file(LF_DEFAULT_PARAM, at_load, sizeof(at_load)));
	ASSERT_TRUE(!strcmp(at_load, "free") || !strcmp(at_load, "dontneed"));
	other = strcmp(at_load, "free") ? "free" : "dontneed";
	ASSERT_EQ(0, lf_attr_write("default_mode", other));
	ASSERT_EQ(0, lf_read_file(LF_DEFAULT_PARAM, buf, sizeof(buf)));
	EXPECT_STREQ(at_load, buf);
	ASSERT_EQ(0, lf_attr_read("default_mode", buf, sizeof(buf)));
	EXPECT_STREQ(other, buf);
	ASSERT_EQ(0, lf_attr_write("default_mode", "free"));

	snprintf(id, sizeof(id), "%llu\n", (unsigned long long)self->untracked.id);
	ASSERT_EQ(0, lf_attr_write("cgroups/add", id));
	EXPECT_TRUE(lf_cg_tracked(self->untracked.id));
	ASSERT_EQ(0, lf_attr_write("cgroups/remove", id));
	EXPECT_LE(0, lf_wait_tracked(self->untracked.id, false, 3000));
	/* an optional leading '+' is accepted */
	snprintf(id, sizeof(id), "+%llu", (unsigned long long)self->untracked.id);
	ASSERT_EQ(0, lf_attr_write("cgroups/add", id));
	EXPECT_TRUE(lf_cg_tracked(self->untracked.id));
	ASSERT_EQ(0, lf_attr_write("cgroups/remove", id));
	EXPECT_LE(0, lf_wait_tracked(self->untracked.id, false, 3000));
}

/* add: directory with mode inherit, path, zero counters; remove forgets. */
TEST_F(sysfs, add_remove_forget)
{
	struct lf_cg mid, cg;
	char buf[PATH_MAX], id[32];
	uint64_t v;

	ASSERT_EQ(0, lf_cg_create(&mid, "lf_sysfs_tracked/a"));
	ASSERT_EQ(0, lf_cg_create(&cg, "lf_sysfs_tracked/a/b"));
	snprintf(id, sizeof(id), "%llu", (unsigned long long)cg.id);
	ASSERT_EQ(0, lf_attr_write("cgroups/add", id));
	ASSERT_TRUE(lf_cg_tracked(cg.id));
	ASSERT_EQ(0, lf_cg_attr_read(cg.id, "mode", buf, sizeof(buf)));
	EXPECT_STREQ("inherit", buf);
	/* the tracked grand-parent is dontneed */
	ASSERT_EQ(0, lf_cg_attr_read(cg.id, "effective_mode", buf, sizeof(buf)));
	EXPECT_STREQ("dontneed", buf);
	ASSERT_EQ(0, lf_cg_attr_read(cg.id, "path", buf, sizeof(buf)));
	EXPECT_STREQ(cg.rel, buf);
	ASSERT_EQ(0, lf_cg_attr_u64(cg.id, "free_bytes", &v));
	EXPECT_EQ(0ULL, v);
	ASSERT_EQ(0, lf_cg_attr_u64(cg.id, "rewritten_bytes", &v));
	EXPECT_EQ(0ULL, v);
	ASSERT_EQ(0, lf_cg_attr_write(cg.id, "mode", "free"));

	ASSERT_EQ(0, lf_attr_write("cgroups/remove", id));
	EXPECT_LE(0, lf_wait_tracked(cg.id, false, 3000)) TH_LOG("cgroups/%s still there", id);
	/* re-adding starts afresh: explicit mode forgotten */
	ASSERT_EQ(0, lf_attr_write("cgroups/add", id));
	ASSERT_EQ(0, lf_cg_attr_read(cg.id, "mode", buf, sizeof(buf)));
	EXPECT_STREQ("inherit", buf);
	cg.id = 0;	/* let the module notice the rmdir by itself */
	lf_cg_destroy(&cg);
	lf_cg_destroy(&mid);
	EXPECT_LE(0, lf_wait_tracked(strtoull(id, NULL, 10), false, 3000))
		TH_LOG("cgroups/%s still there after rmdir", id);
}

/* The hierarchy's root is "/". */
TEST_F(sysfs, root_path)
{
	uint64_t root;
	bool was_tracked;
	char id[32], buf[PATH_MAX];

	ASSERT_EQ(0, lf_cg_id(lf_cgroup_root(), &root));
	was_tracked = lf_cg_tracked(root);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)root);
	if (!was_tracked) {
		ASSERT_EQ(0, lf_attr_write("cgroups/add", id));
	}
	EXPECT_EQ(0, lf_cg_attr_read(root, "path", buf, sizeof(buf)));
	EXPECT_STREQ("/", buf);
	EXPECT_EQ(0, lf_cg_attr_read(root, "mode", buf, sizeof(buf)));
	EXPECT_STREQ("inherit", buf);
	if (!was_tracked)
		lf_attr_write("cgroups/remove", id);
}

#define LONG_TOP "lf_sysfs_long"
#define LONG_DEPTH_MAX 256

/* A chain of cgroups under LONG_TOP, made and removed with *at() calls. */
struct long_chain {
	int fd[LONG_DEPTH_MAX + 1];	/* fd[0]: LONG_TOP, fd[i]: level i */
	char name[LONG_DEPTH_MAX + 1][256];
	int depth;
	size_t len;			/* of the path inside the hierarchy */
};

static int long_mkdir(struct long_chain *c, const char *name)
{
	int fd;

	if (mkdirat(c->fd[c->depth], name, 0755) && errno != EEXIST)
		return -errno;
	fd = openat(c->fd[c->depth], name, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -errno;
	c->depth++;
	c->fd[c->depth] = fd;
	snprintf(c->name[c->depth], sizeof(c->name[0]), "%s", name);
	c->len += 1 + strlen(name);
	return 0;
}

static void long_pop(struct long_chain *c)
{
	close(c->fd[c->depth]);
	unlinkat(c->fd[c->depth - 1], c->name[c->depth], AT_REMOVEDIR);
	c->len -= 1 + strlen(c->name[c->depth]);
	c->depth--;
}

/* Descend (names of up to 200 bytes) until the path is @len bytes long. */
static int long_extend(struct long_chain *c, size_t len)
{
	char name[256];
	int err;

	while (c->len < len) {
		size_t rem = len - c->len, n = rem - 1;

		if (n > 200)
			n = rem - 1 - 200 >= 2 ? 200 : 199;
		if (c->depth == LONG_DEPTH_MAX)
			return -ELOOP;
		memset(name, 'a' + c->depth % 26, n);
		name[n] = '\0';
		err = long_mkdir(c, name);
		if (err)
			return err;
	}
	return 0;
}

/* Track the deepest cgroup of @c and read its path into @buf. */
static ssize_t long_read_path(struct long_chain *c, char *buf, size_t size,
			      uint64_t *id)
{
	char path[PATH_MAX], sid[32];
	struct stat st;
	ssize_t n;
	int fd;

	if (fstat(c->fd[c->depth], &st))
		return -errno;
	*id = st.st_ino;
	snprintf(sid, sizeof(sid), "%llu", (unsigned long long)*id);
	if (lf_attr_write("cgroups/add", sid))
		return -errno;
	snprintf(path, sizeof(path), LF_SYSFS "/cgroups/%s/path", sid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

/*
 * path reads whole or not at all: a path that leaves room for its newline
 * in a page reads back in full, one byte longer fails with ENAMETOOLONG
 * (kernfs since 6.12 truncates in silence).  Page-size agnostic.
 */
TEST_F(sysfs, path_fills_the_page_or_fails)
{
	size_t pg = sysconf(_SC_PAGESIZE), want = pg - 2;
	struct long_chain *c = calloc(1, sizeof(*c));
	char *buf = malloc(2 * pg), *expect = malloc(pg);
	uint64_t id;
	ssize_t n;
	int off = 0;

	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_TRUE(c && buf && expect);
	c->fd[0] = open(lf_cgroup_root(), O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, c->fd[0]);
	ASSERT_EQ(0, long_mkdir(c, LONG_TOP));
	ASSERT_EQ(0, long_extend(c, want)) TH_LOG("a cgroup path of %zu bytes", want);
	ASSERT_EQ(want, c->len);

	/* the longest that fits: the path and its newline, pg - 1 bytes */
	n = long_read_path(c, buf, 2 * pg, &id);
	EXPECT_EQ((ssize_t)(pg - 1), n) TH_LOG("path of %zu bytes read as %zd", want, n);
	for (int i = 1; i <= c->depth; i++)
		off += sprintf(expect + off, "/%s", c->name[i]);
	if (n == (ssize_t)(pg - 1)) {
		EXPECT_EQ(0, memcmp(buf, expect, want)) TH_LOG("path differs");
		EXPECT_EQ('\n', buf[want]);
	}
	lf_untrack(id);

	/* one byte longer: the last name gets one more character */
	snprintf(expect, pg, "%sb", c->name[c->depth]);
	long_pop(c);
	ASSERT_EQ(0, long_mkdir(c, expect));
	ASSERT_EQ(want + 1, c->len);
	n = long_read_path(c, buf, 2 * pg, &id);
	EXPECT_EQ(-ENAMETOOLONG, n)
		TH_LOG("path of %zu bytes: read %zd bytes, not ENAMETOOLONG", want + 1, n);
	lf_untrack(id);

	while (c->depth)
		long_pop(c);
	close(c->fd[0]);
	free(c);
	free(buf);
	free(expect);
}

/* Writable files are root-only (0644 or stricter, 0200 for add/remove). */
TEST_F(sysfs, permissions)
{
	static const struct { const char *f; unsigned int mode; } files[] = {
		{ "enabled", 0644 }, { "default_mode", 0644 }, { "hook", 0444 },
		{ "hierarchy", 0444 }, { "free_bytes", 0444 }, { "rewritten_bytes", 0444 },
		{ "pinned_bytes", 0444 }, { "cgroups/add", 0200 }, { "cgroups/remove", 0200 },
	};
	static const struct { const char *f; unsigned int mode; } cgfiles[] = {
		{ "mode", 0644 }, { "effective_mode", 0444 }, { "path", 0444 },
		{ "free_bytes", 0444 }, { "rewritten_bytes", 0444 },
		{ "pinned_bytes", 0444 },
	};
	char path[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), LF_SYSFS "/%s", files[i].f);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s: %s", path, strerror(errno));
		EXPECT_EQ(files[i].mode, st.st_mode & 07777) TH_LOG("%s: mode %o", path, st.st_mode & 07777);
		EXPECT_EQ(0U, st.st_uid);
	}
	for (size_t i = 0; i < ARRAY_SIZE(cgfiles); i++) {
		snprintf(path, sizeof(path), LF_SYSFS "/cgroups/%llu/%s",
			 (unsigned long long)self->tracked.id, cgfiles[i].f);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s: %s", path, strerror(errno));
		EXPECT_EQ(cgfiles[i].mode, st.st_mode & 07777) TH_LOG("%s: mode %o", path, st.st_mode & 07777);
		EXPECT_EQ(0U, st.st_uid);
	}
}

/* Every read-only value is one token and a newline. */
TEST_F(sysfs, one_value_per_file)
{
	static const char *const files[] = {
		"enabled", "default_mode", "hierarchy", "free_bytes", "rewritten_bytes",
		"pinned_bytes",
	};
	char path[PATH_MAX], buf[256];

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), LF_SYSFS "/%s", files[i]);
		fd = open(path, O_RDONLY);
		ASSERT_LE(0, fd);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		ASSERT_LT(1, n);
		buf[n] = '\0';
		EXPECT_EQ('\n', buf[n - 1]) TH_LOG("%s: no trailing newline", files[i]);
		EXPECT_EQ(NULL, strpbrk(buf, " \t")) TH_LOG("%s: '%s'", files[i], buf);
		EXPECT_EQ(buf + n - 1, strchr(buf, '\n')) TH_LOG("%s: more than one line", files[i]);
	}
}

TEST_HARNESS_MAIN
