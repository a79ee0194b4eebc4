// SPDX-License-Identifier: GPL-2.0
/*
 * Security (issue 6, item 7):
 *  - every file and directory under /sys/kernel/lazyfree (a tracked
 *    cgroup's directory included) and every module parameter is owned by
 *    root, and no file is writable by group or others (0644 or stricter);
 *  - as an unprivileged user (uid/gid 65534, no supplementary groups),
 *    opening any writable file for writing fails with EACCES or EPERM, and
 *    the state (enabled, default_mode, a cgroup's mode, the tracked set)
 *    does not change; the files meant to be read still read;
 *  - no kernel pointer in any output: every readable file of the module
 *    and the parameters, and every kernel log line that names lazyfree
 *    (a refused load included), holds no run of 12 or more hex digits
 *    with a letter in it (0xffff..., ffff8880..., a hashed %p);
 *  - memory is bounded by max_cgroups: loaded with max_cgroups=8, twenty
 *    cgroups advising MADV_FREE get at most eight directories, adding a
 *    ninth fails with ENOSPC, and the node-wide counters still count the
 *    untracked cgroups' calls exactly.  This test reloads the module and
 *    leaves it loaded as the rig did (hook=$LAZYFREE_HOOK).
 *
 * Not tested here: that loading on an unsupported kernel refuses with a
 * clear message.  The rig boots only Debian 6.1 and 6.12, the two lines the
 * module supports; the refusal is in module/strategy.c and compat.h.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lf_harness.h"
#include "lf_module.h"
#include "lf_util.h"

#define NOBODY		65534
#define MAX_FILES	256
#define BOUND		8
#define NBOUND		20
#define NPAGES		4

struct files {
	int n;
	char path[MAX_FILES][PATH_MAX];
	mode_t mode[MAX_FILES];
	uid_t uid[MAX_FILES];
	gid_t gid[MAX_FILES];
	bool dir[MAX_FILES];
};

static struct files *walk_files;

static int walk_one(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	struct files *f = walk_files;

	(void)ftw;
	if (f->n >= MAX_FILES || (type != FTW_F && type != FTW_D))
		return 0;
	snprintf(f->path[f->n], PATH_MAX, "%s", path);
	f->mode[f->n] = st->st_mode & 07777;
	f->uid[f->n] = st->st_uid;
	f->gid[f->n] = st->st_gid;
	f->dir[f->n] = type == FTW_D;
	f->n++;
	return 0;
}

/* Every file of the module: its sysfs tree and its parameters. */
static int list_files(struct files *f)
{
	f->n = 0;
	walk_files = f;
	if (nftw(LF_SYSFS, walk_one, 16, FTW_PHYS))
		return -1;
	if (nftw("/sys/module/lazyfree/parameters", walk_one, 16, FTW_PHYS))
		return -1;
	return 0;
}

struct state {
	char enabled[16], default_mode[32], mode[32];
	char ids[4096];
};

static void read_state(uint64_t id, struct state *s)
{
	struct dirent *de;
	size_t o = 0;
	DIR *d;

	memset(s, 0, sizeof(*s));
	lf_attr_read("enabled", s->enabled, sizeof(s->enabled));
	lf_attr_read("default_mode", s->default_mode, sizeof(s->default_mode));
	lf_cg_attr_read(id, "mode", s->mode, sizeof(s->mode));
	d = opendir(LF_SYSFS "/cgroups");
	while (d && (de = readdir(d)) && o + 32 < sizeof(s->ids))
		o += snprintf(s->ids + o, sizeof(s->ids) - o, "%s ", de->d_name);
	if (d)
		closedir(d);
}

/*
 * A kernel pointer, raw or hashed: 12 or more hex digits in a row, not
 * all decimal (counters and ids are decimal).
 */
static const char *find_pointer(const char *s)
{
	for (const char *p = s; *p; ) {
		const char *q = p;
		bool letter = false;

		while (isxdigit((unsigned char)*q)) {
			letter |= !isdigit((unsigned char)*q);
			q++;
		}
		if (q - p >= 12 && letter && (p == s || !isalnum((unsigned char)p[-1])))
			return p;
		p = q > p ? q : p + 1;
	}
	return NULL;
}

FIXTURE(security) {
	struct lf_global g;
	struct lf_cg t, u;
	struct files files;
	struct lf_result *r;
	bool reloaded;
};

FIXTURE_SETUP(security)
{
	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_EQ(0, lf_global_save(&self->g));
	ASSERT_EQ(0, lf_cg_create(&self->t, "lf_security_t"));
	ASSERT_EQ(0, lf_track(self->t.id));
	ASSERT_EQ(0, lf_cg_create(&self->u, "lf_security_u"));
	ASSERT_EQ(0, lf_untrack(self->u.id));
	self->r = lf_result_alloc();
	ASSERT_NE(NULL, self->r);
	ASSERT_EQ(0, list_files(&self->files));
}

FIXTURE_TEARDOWN_PARENT(security)
{
	if (self->reloaded)
		lf_ko_restore(true);
	lf_cg_destroy(&self->t);
	lf_cg_destroy(&self->u);
	lf_global_restore(&self->g);
}

TEST_F(security, owner_and_mode)
{
	int bad = 0, files = 0, writable = 0;

	for (int i = 0; i < self->files.n; i++) {
		mode_t m = self->files.mode[i];
		bool ok = !self->files.uid[i] && !self->files.gid[i] &&
			  !(m & 022) && !(m & 07000);

		if (!self->files.dir[i]) {
			files++;
			writable += !!(m & 0200);
			ok = ok && !(m & 0111) && !(m & ~0644);
		}
		if (!ok) {
			ksft_print_msg("%s: %04o %u:%u, want root:root and 0644 or stricter\n",
				       self->files.path[i], m, self->files.uid[i],
				       self->files.gid[i]);
			bad++;
		}
	}
	ksft_print_msg("files checked: %d (%d writable by root) and %d directories\n",
		       files, writable, self->files.n - files);
	EXPECT_EQ(0, bad);
	EXPECT_LE(13, files);
	EXPECT_LE(5, writable);
}

/* What an unprivileged writer tries: values a root write would apply. */
struct attempt {
	const struct files *files;
	char add[32];		/* an untracked live cgroup */
	char remove[32];	/* a tracked one */
};

static const char *value_for(const struct attempt *a, const char *path)
{
	if (strstr(path, "/cgroups/add"))
		return a->add;
	if (strstr(path, "/cgroups/remove"))
		return a->remove;
	if (strstr(path, "enabled"))
		return "0";
	if (strstr(path, "default_mode") || strstr(path, "/mode"))
		return "dontneed";
	return "1";
}

static void as_nobody(struct lf_result *r, const void *arg)
{
	const struct attempt *a = arg;
	const struct files *f = a->files;
	int shown = 0, err;

	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return lf_failf(r, "dropping privileges: %s", strerror(errno));
	if (!setuid(0))
		return lf_failf(r, "setuid(0) worked again");
	for (int i = 0; i < f->n; i++) {
		const char *p = f->path[i], *v = value_for(a, p);
		char buf[256];
		int fd;

		if (f->dir[i])
			continue;
		fd = open(p, O_WRONLY);
		if (fd >= 0) {
			ssize_t w = write(fd, v, strlen(v));

			if (shown++ < 8)
				ksft_print_msg("as uid %d: %s opened for writing; write \"%s\": %s\n",
					       NOBODY, p, v, w < 0 ? strerror(errno) : "succeeded");
			close(fd);
			r->aux[0]++;
		} else if (errno != EACCES && errno != EPERM) {
			ksft_print_msg("as uid %d: open(%s, O_WRONLY): %s, want EACCES or EPERM\n",
				       NOBODY, p, strerror(errno));
			r->aux[0]++;
		}
		r->aux[1]++;
		/* anyone reads what is readable by others, and nothing else */
		if (f->mode[i] & 0004) {
			err = lf_read_file(p, buf, sizeof(buf));
			if (err) {
				ksft_print_msg("as uid %d: cannot read %s: %s\n",
					       NOBODY, p, strerror(-err));
				r->aux[2]++;
			}
		} else {
			fd = open(p, O_RDONLY);
			if (fd >= 0) {
				ksft_print_msg("as uid %d: %s (%04o) opened for reading\n",
					       NOBODY, p, f->mode[i]);
				close(fd);
				r->aux[2]++;
			}
		}
	}
}

TEST_F(security, unprivileged_writes_refused)
{
	struct attempt a = { .files = &self->files };
	struct state s0, s1;

	ASSERT_EQ(0, lf_cg_attr_write(self->t.id, "mode", "free"));
	snprintf(a.add, sizeof(a.add), "%llu", (unsigned long long)self->u.id);
	snprintf(a.remove, sizeof(a.remove), "%llu", (unsigned long long)self->t.id);
	read_state(self->t.id, &s0);
	ASSERT_EQ(0, lf_run(NULL, as_nobody, &a, self->r)) TH_LOG("%s", self->r->msg);
	read_state(self->t.id, &s1);
	ksft_print_msg("unprivileged opens for writing refused: %ld of %ld files\n",
		       self->r->aux[1] - self->r->aux[0], self->r->aux[1]);
	EXPECT_EQ(0, self->r->aux[0]);
	EXPECT_EQ(0, self->r->aux[2]);
	EXPECT_LE(10, self->r->aux[1]);
	EXPECT_STREQ(s0.enabled, s1.enabled);
	EXPECT_STREQ(s0.default_mode, s1.default_mode);
	EXPECT_STREQ(s0.mode, s1.mode);
	EXPECT_STREQ(s0.ids, s1.ids);
}

/* Lines of the kernel log that name lazyfree, with a pointer in them. */
static int scan_kmsg(int *lines)
{
	char *buf = lf_kmsg_read(), *line, *save;
	int bad = 0;

	*lines = 0;
	if (!buf)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *p;

		if (!strstr(line, "lazyfree"))
			continue;
		(*lines)++;
		/* skip the "<6>[  123.456789] " prefix */
		p = strchr(line, ']');
		/*
		 * lib/kobject.c's own trace of a late release
		 * (DEBUG_KOBJECT_RELEASE, make check-debug): hashed %p of
		 * the kernel's, not the module's words
		 */
		if (p && !strncmp(p + 1, " kobject: '", 11))
			continue;
		p = find_pointer(p ? p + 1 : line);
		if (p) {
			ksft_print_msg("kernel log: %s\n", line);
			bad++;
		}
	}
	free(buf);
	return bad;
}

/* four loads and unloads: each unload waits for late kobject releases */
TEST_F_TIMEOUT(security, no_kernel_pointers, 120)
{
	int bad = 0, read = 0, lines = 0, k;
	char buf[8192];

	/* make the module talk: a refused load, a load, discovery */
	if (lf_ko_path()) {
		self->reloaded = true;
		ASSERT_EQ(0, lf_ko_unload(NULL));
		EXPECT_NE(0, lf_ko_load("max_cgroups=0"));
		EXPECT_NE(0, lf_ko_load("default_mode=bogus"));
		ASSERT_EQ(0, lf_ko_load("enabled=0"));
		ASSERT_EQ(0, lf_attr_write("enabled", "1"));
		ASSERT_EQ(0, lf_track(self->t.id));
		ASSERT_EQ(0, list_files(&self->files));
	}
	for (int i = 0; i < self->files.n; i++) {
		const char *p;

		if (self->files.dir[i] || !(self->files.mode[i] & 0444))
			continue;
		if (lf_read_file(self->files.path[i], buf, sizeof(buf)))
			continue;
		read++;
		p = find_pointer(buf);
		if (p) {
			ksft_print_msg("%s: \"%s\"\n", self->files.path[i], buf);
			bad++;
		}
	}
	k = scan_kmsg(&lines);
	ksft_print_msg("files read: %d; kernel log lines naming lazyfree: %d; pointers found: %d\n",
		       read, lines, bad + (k > 0 ? k : 0));
	EXPECT_LE(10, read);
	EXPECT_EQ(0, bad);
	EXPECT_LE(0, k) TH_LOG("cannot read the kernel log");
	EXPECT_EQ(0, k);
}

static void case_free(struct lf_result *r, const void *arg)
{
	(void)arg;
	lf_free_filled(r, NPAGES * lf_pagesize, 1);
}

TEST_F_TIMEOUT(security, bounded_by_max_cgroups, 120)
{
	struct lf_cg cg[NBOUND];
	uint64_t f0, f1;
	char id[32], param[32];
	int n, err, most = 0;

	if (!lf_ko_path())
		SKIP(return, "LAZYFREE_KO not set or unreadable: cannot reload with max_cgroups");
	self->reloaded = true;
	ASSERT_EQ(0, lf_ko_unload(NULL));
	snprintf(param, sizeof(param), "max_cgroups=%d", BOUND);
	ASSERT_EQ(0, lf_ko_load(param));
	ASSERT_EQ(0, lf_count_tracked());
	for (int i = 0; i < NBOUND; i++) {
		char name[64];

		snprintf(name, sizeof(name), "lf_security_t/b%d", i);
		ASSERT_EQ(0, lf_cg_create(&cg[i], name));
	}

	/* discovery stops at the bound; the node counts every call */
	ASSERT_EQ(0, lf_attr_u64("free_bytes", &f0));
	for (int i = 0; i < NBOUND; i++) {
		ASSERT_EQ(0, lf_run(cg[i].path, case_free, NULL, self->r)) TH_LOG("%s", self->r->msg);
		ASSERT_EQ(0, self->r->ret);
		n = lf_count_tracked();
		most = n > most ? n : most;
	}
	ASSERT_EQ(0, lf_attr_u64("free_bytes", &f1));
	for (int i = 0; i < 30; i++) {
		lf_msleep(100);
		n = lf_count_tracked();
		most = n > most ? n : most;
	}
	ksft_print_msg("max_cgroups=%d: %d cgroups advised, at most %d tracked; node free_bytes +%llu, want %zu\n",
		       BOUND, NBOUND, most, (unsigned long long)(f1 - f0),
		       NBOUND * NPAGES * lf_pagesize);
	EXPECT_EQ(BOUND, most);
	EXPECT_EQ(NBOUND * NPAGES * lf_pagesize, f1 - f0);

	/* a ninth by hand: ENOSPC, and nothing created */
	for (int i = 0; i < NBOUND; i++) {
		if (lf_cg_tracked(cg[i].id))
			continue;
		snprintf(id, sizeof(id), "%llu", (unsigned long long)cg[i].id);
		err = lf_attr_write("cgroups/add", id);
		EXPECT_EQ(-ENOSPC, err) TH_LOG("add beyond max_cgroups: %s", strerror(-err));
		EXPECT_FALSE(lf_cg_tracked(cg[i].id));
		break;
	}
	EXPECT_EQ(BOUND, lf_count_tracked());
	for (int i = NBOUND - 1; i >= 0; i--)
		lf_cg_destroy(&cg[i]);
}

TEST_HARNESS_MAIN
