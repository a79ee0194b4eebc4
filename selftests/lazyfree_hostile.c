// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile input (issue 6, item 3): at least 10,000 generated writes to every
 * writable file (enabled, default_mode, cgroups/add, cgroups/remove,
 * cgroups/<id>/mode), then more from several threads at once.
 *
 * Inputs: random bytes (NUL and high bytes included) up to 4096 long, valid
 * words with junk before or after, whitespace variants, case variants,
 * truncations and single-byte mutations, huge, negative and signed numbers,
 * leading zeros up to the page size, ids of live, tracked and removed
 * cgroups.  The seed is fixed and printed (LAZYFREE_SEED overrides it).
 *
 * Every input is judged from its bytes by a model of the store's grammar,
 * never from how it was generated:
 *   enabled       "0" or "1"                  sysfs_streq()
 *   default_mode  "free" or "dontneed"        sysfs_match_string()
 *   <id>/mode     "free", "dontneed", "inherit"
 *   add, remove   kstrtou64(buf, 10): one optional '+', decimal digits,
 *                 at most 2^64-1, not 0
 * each followed by at most one '\n' and nothing else: every byte written
 * counts, a NUL included (the ABI's "nothing else"; the stores compare
 * strlen(buf) with count).  nul_is_junk spells that case out.
 *
 * An input the model rejects must fail with the model's errno (EINVAL;
 * for ids: EEXIST, ENOSPC, ENOENT in the ABI's order) and leave the state
 * read back (enabled, default_mode, the tracked set, the test cgroup's
 * mode) unchanged; an input it accepts must succeed and change the state
 * as the model does.  Zero-length writes never reach a store and are not
 * generated.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_harness.h"
#include "lf_util.h"

/*
 * make check-debug's kernel: 2000 writes a file, or 2500 a writer thread,
 * outlast the 280 s when other guests share the two CPUs
 */
#define WRITES_PER_FILE	(lf_thorough() ? 10000 : lf_debug_kernel() ? 500 : 2000)
#define CONC_WRITERS	4
#define CONC_WRITES	(lf_debug_kernel() ? 500 : 2500)	/* per writer thread */
#define MAX_IDS		4096
#define MAX_LEN		4096		/* a sysfs store sees at most a page */
#define MAX_GONE	8
#define MAX_REPORTS	10
#define DEFAULT_SEED	20261127ULL
#define LF_MAX_CGROUPS	4096		/* the module's default */

enum lf_file { F_ENABLED, F_DEFAULT_MODE, F_ADD, F_REMOVE, F_MODE, NR_FILES };

static const char * const file_names[NR_FILES] = {
	"enabled", "default_mode", "cgroups/add", "cgroups/remove", "mode",
};

static const char * const mode_words[] = { "inherit", "free", "dontneed" };

/* What the module's state is (read back) or should be (the model). */
struct state {
	int enabled;		/* 0, 1; -1 unreadable */
	int default_mode;	/* index in mode_words */
	int mode;		/* of cgroup T */
	int nids;
	uint64_t ids[MAX_IDS];	/* tracked, sorted */
};

/* Everything the generator and the model need; lives in the fixture. */
struct world {
	uint64_t t;			/* tracked test cgroup */
	uint64_t u;			/* live, untracked at start */
	uint64_t gone[MAX_GONE];	/* removed cgroups */
	int ngone;
	int nlive;
	uint64_t live[MAX_IDS];		/* every live cgroup, sorted */
	char mode_path[PATH_MAX];	/* cgroups/<t>/mode */
};

/* xorshift64*: small, fast and the same everywhere */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static unsigned int rndn(uint64_t *s, unsigned int n)
{
	return rnd(s) % n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool has_id(const uint64_t *ids, int n, uint64_t id)
{
	return bsearch(&id, ids, n, sizeof(*ids), cmp_u64);
}

static void add_id(struct state *s, uint64_t id)
{
	s->ids[s->nids++] = id;
	qsort(s->ids, s->nids, sizeof(s->ids[0]), cmp_u64);
}

static void del_id(struct state *s, uint64_t id)
{
	for (int i = 0; i < s->nids; i++) {
		if (s->ids[i] == id) {
			memmove(&s->ids[i], &s->ids[i + 1],
				(s->nids - i - 1) * sizeof(s->ids[0]));
			s->nids--;
			return;
		}
	}
}

/* The model */

/* sysfs_streq(): @s[0..@n) is @word, with at most one '\n' after it. */
static bool streq_nl(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word);

	if (n == w + 1 && s[w] == '\n')
		n = w;
	return n == w && !memcmp(s, word, w);
}

static int match_word(const char *s, size_t n, int first)
{
	for (int i = first; i < 3; i++)
		if (streq_nl(s, n, mode_words[i]))
			return i;
	return -1;
}

/* kstrtou64(s, 10) of a sysfs store, then "not 0": 0 or -EINVAL. */
static int parse_id(const char *s, size_t n, uint64_t *id)
{
	size_t i = 0, digits = 0;
	bool overflow = false;
	uint64_t v = 0;

	if (i < n && s[i] == '+')
		i++;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		unsigned int d = s[i] - '0';

		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		else if (!overflow)
			v = v * 10 + d;
	}
	if (!digits || overflow)
		return -EINVAL;
	if (i < n && s[i] == '\n')
		i++;
	if (i != n || !v)
		return -EINVAL;
	*id = v;
	return 0;
}

/*
 * The errno a write of @buf[0..@len) to @f must fail with, or 0 if it must
 * succeed, in which case @st becomes the state it leads to.  Every byte
 * counts.
 */
static int verdict(const struct world *w, struct state *st, enum lf_file f,
		   const char *buf, size_t len)
{
	size_t n = len;
	uint64_t id;
	int m;

	switch (f) {
	case F_ENABLED:
		if (streq_nl(buf, n, "0"))
			st->enabled = 0;
		else if (streq_nl(buf, n, "1"))
			st->enabled = 1;
		else
			return -EINVAL;
		return 0;
	case F_DEFAULT_MODE:
	case F_MODE:
		m = match_word(buf, n, f == F_MODE ? 0 : 1);
		if (m < 0)
			return -EINVAL;
		if (f == F_MODE)
			st->mode = m;
		else
			st->default_mode = m;
		return 0;
	case F_ADD:
		if (parse_id(buf, n, &id))
			return -EINVAL;
		if (has_id(st->ids, st->nids, id))
			return -EEXIST;
		if (st->nids >= LF_MAX_CGROUPS)
			return -ENOSPC;
		if (!has_id(w->live, w->nlive, id))
			return -ENOENT;
		add_id(st, id);
		return 0;
	case F_REMOVE:
		if (parse_id(buf, n, &id))
			return -EINVAL;
		if (!has_id(st->ids, st->nids, id))
			return -ENOENT;
		del_id(st, id);
		if (id == w->t)
			st->mode = -1;	/* the caller adds it again */
		return 0;
	default:
		return -EINVAL;
	}
}

/* The module */

static int read_state(const struct world *w, struct state *s)
{
	char buf[64];

	memset(s, 0, offsetof(struct state, ids));
	if (lf_attr_read("enabled", buf, sizeof(buf)))
		return -1;
	s->enabled = !strcmp(buf, "1") ? 1 : !strcmp(buf, "0") ? 0 : -1;
	if (lf_attr_read("default_mode", buf, sizeof(buf)))
		return -1;
	s->default_mode = match_word(buf, strlen(buf), 0);
	s->mode = lf_read_file(w->mode_path, buf, sizeof(buf)) ? -1 :
		  match_word(buf, strlen(buf), 0);
	s->nids = lf_tracked_ids(s->ids, MAX_IDS);
	return s->nids < 0 ? -1 : 0;
}

static bool same_state(const struct state *a, const struct state *b,
		       char *why, size_t size)
{
	if (a->enabled != b->enabled)
		snprintf(why, size, "enabled %d -> %d", a->enabled, b->enabled);
	else if (a->default_mode != b->default_mode)
		snprintf(why, size, "default_mode %d -> %d", a->default_mode,
			 b->default_mode);
	else if (a->mode != b->mode)
		snprintf(why, size, "mode %d -> %d", a->mode, b->mode);
	else if (a->nids != b->nids ||
		 memcmp(a->ids, b->ids, a->nids * sizeof(a->ids[0])))
		snprintf(why, size, "tracked set: %d ids -> %d ids", a->nids,
			 b->nids);
	else
		return true;
	return false;
}

static const char *file_path(const struct world *w, enum lf_file f,
			     char *path, size_t size)
{
	if (f == F_MODE)
		return w->mode_path;
	snprintf(path, size, LF_SYSFS "/%s", file_names[f]);
	return path;
}

/* One write through a fresh open: 0, -errno, or 1 for a short write. */
static int do_write(const struct world *w, enum lf_file f, const char *buf,
		    size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, err = 0;

	fd = open(file_path(w, f, path, sizeof(path)), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = 1;	/* a short write: the store took part of it */
	close(fd);
	return err;
}

/* Printable excerpt of an input, for reports. */
static const char *show(const char *buf, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < size; i++) {
		unsigned char c = buf[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = c;
		else
			o += snprintf(out + o, size - o, "\\x%02x", c);
		if (i == 40 && len > 48) {
			o += snprintf(out + o, size - o, "...(%zu bytes)", len);
			break;
		}
	}
	out[o] = '\0';
	return out;
}

/* The generator */

static const char * const junk_before[] = {
	" ", "\t", "\n", "\r", "\v", "\f", "+", "-", "0", "\xff", "\x80", "x",
	"\xc2\xa0", "  ", "\n\n",
};

static const char * const junk_after[] = {
	"\n\n", " ", "\t", "\r", "\r\n", "\n ", " \n", "\v", "\f", "\n\r",
	"x", "\xff", "\x80", "0", "1", "\\n", "\n\t", "\xc2\xa0", ";",
	"\n\n\n", "  \n", ".", "e", "inherit", "free",
};

static const char * const odd_words[] = {
	"0", "1", "2", "-1", "01", "10", "00", "y", "n", "Y", "N", "on", "off",
	"true", "false", "yes", "no", "enable", "disable", "free", "dontneed",
	"inherit", "FREE", "Free", "DontNeed", "DONTNEED", "Inherit", "fre",
	"dont", "dontneeded", "freedom", "inherits", "free dontneed",
	"free,dontneed", "dont need", "dont_need", "dontneed\x00", "lazy",
	"madv_free", "\n", "\n\n", " ", "\t", "+", "++", "-", "+\n", "-0",
	"+0", "0x1", "0X1", "1e3", "1.0", "0b1", "0o7", "nan", "inf",
	"-9223372036854775808", "9223372036854775807", "18446744073709551615",
	"18446744073709551616", "99999999999999999999999999999999",
	"-18446744073709551615", "4294967296", "4294967295", "2147483648",
	"%s", "%n%n%n", "../..", "/", "cgroups", "\xff\xfe", "\xef\xbb\xbf" "1",
};

static size_t put(char *buf, size_t o, const void *s, size_t n)
{
	if (o + n > MAX_LEN)
		n = MAX_LEN - o;
	memcpy(buf + o, s, n);
	return o + n;
}

static size_t puts_(char *buf, size_t o, const char *s)
{
	return put(buf, o, s, strlen(s));
}

/* An id worth trying: live, tracked, removed, random or at the edges. */
static uint64_t pick_id(const struct world *w, const struct state *st,
			uint64_t *s)
{
	switch (rndn(s, 10)) {
	case 0:
		return w->t;
	case 1:
		return w->u;
	case 2:
		return w->ngone ? w->gone[rndn(s, w->ngone)] : 0;
	case 3:
		return w->live[rndn(s, w->nlive)];
	case 4:
		return st->nids ? st->ids[rndn(s, st->nids)] : 1;
	case 5:
		return rndn(s, 64);
	case 6:
		return UINT64_MAX - rndn(s, 3);
	case 7:
		return rnd(s) >> rndn(s, 64);
	case 8:
		return w->t + 1 + rndn(s, 16);
	default:
		return rnd(s);
	}
}

static size_t gen_number(const struct world *w, const struct state *st,
			 char *buf, uint64_t *s)
{
	char num[32];
	size_t o = 0;
	uint64_t id = pick_id(w, st, s);

	snprintf(num, sizeof(num), "%llu", (unsigned long long)id);
	switch (rndn(s, 12)) {
	case 0:		/* leading zeros, up to the page */
		for (unsigned int z = rndn(s, MAX_LEN - 24); z; z--)
			o = puts_(buf, o, "0");
		break;
	case 1:
		o = puts_(buf, o, "+");
		break;
	case 2:
		o = puts_(buf, o, junk_before[rndn(s, ARRAY_SIZE(junk_before))]);
		break;
	case 3:		/* more digits than fit in 64 bits */
		o = puts_(buf, o, "1");
		for (unsigned int z = rndn(s, 30); z; z--)
			o = puts_(buf, o, "9");
		break;
	case 4:
		o = puts_(buf, o, "0x");
		snprintf(num, sizeof(num), "%llx", (unsigned long long)id);
		break;
	}
	o = puts_(buf, o, num);
	switch (rndn(s, 6)) {
	case 0:
	case 1:
		o = puts_(buf, o, "\n");
		break;
	case 2:
		o = puts_(buf, o, junk_after[rndn(s, ARRAY_SIZE(junk_after))]);
		break;
	case 3:
		o = put(buf, o, "\0", 1);
		if (rndn(s, 2))
			o = puts_(buf, o, "junk");
		break;
	}
	return o;
}

/* A word of @f's grammar, valid or nearly. */
static const char *pick_word(enum lf_file f, uint64_t *s)
{
	switch (f) {
	case F_ENABLED:
		return rndn(s, 2) ? "1" : "0";
	case F_DEFAULT_MODE:
		return mode_words[1 + rndn(s, 2)];
	default:
		return mode_words[rndn(s, 3)];
	}
}

static size_t gen_input(const struct world *w, const struct state *st,
			enum lf_file f, char *buf, uint64_t *s)
{
	bool ids = f == F_ADD || f == F_REMOVE;
	const char *word = pick_word(f, s);
	size_t o = 0, n;

	switch (rndn(s, 12)) {
	case 0:		/* valid as is, or with one newline */
		if (ids)
			return gen_number(w, st, buf, s);
		o = puts_(buf, o, word);
		if (rndn(s, 2))
			o = puts_(buf, o, "\n");
		return o;
	case 1:
		if (ids)
			return gen_number(w, st, buf, s);
		o = puts_(buf, o, junk_before[rndn(s, ARRAY_SIZE(junk_before))]);
		o = puts_(buf, o, word);
		return o;
	case 2:
		if (ids)
			return gen_number(w, st, buf, s);
		o = puts_(buf, o, word);
		o = puts_(buf, o, junk_after[rndn(s, ARRAY_SIZE(junk_after))]);
		return o;
	case 3:		/* one byte changed, dropped or added */
		o = ids ? gen_number(w, st, buf, s) : puts_(buf, 0, word);
		n = rndn(s, o + 1);
		switch (rndn(s, 3)) {
		case 0:
			if (n < o)
				buf[n] = rnd(s);
			break;
		case 1:
			if (n < o && o > 1) {
				memmove(buf + n, buf + n + 1, o - n - 1);
				o--;
			}
			break;
		default:
			if (o < MAX_LEN) {
				memmove(buf + n + 1, buf + n, o - n);
				buf[n] = rnd(s);
				o++;
			}
		}
		return o;
	case 4:		/* truncated */
		o = ids ? gen_number(w, st, buf, s) : puts_(buf, 0, word);
		return o > 1 ? 1 + rndn(s, o - 1) : o;
	case 5:
		return puts_(buf, 0, odd_words[rndn(s, ARRAY_SIZE(odd_words))]);
	case 6:		/* random bytes, short */
		n = 1 + rndn(s, 16);
		for (o = 0; o < n; o++)
			buf[o] = rnd(s);
		return n;
	case 7:		/* random bytes, up to a page */
		n = 1 + rndn(s, MAX_LEN);
		for (o = 0; o < n; o++)
			buf[o] = rnd(s);
		return n;
	case 8:		/* random printable */
		n = 1 + rndn(s, 40);
		for (o = 0; o < n; o++)
			buf[o] = 0x20 + rndn(s, 0x5f);
		return n;
	case 9:		/* long: the word repeated, or padded */
		n = 1 + rndn(s, MAX_LEN);
		o = ids ? gen_number(w, st, buf, s) : puts_(buf, 0, word);
		if (rndn(s, 2)) {
			while (o < n)
				o = puts_(buf, o, rndn(s, 8) ? " " : "\n");
		} else {
			char copy[64];
			size_t c = o < sizeof(copy) ? o : sizeof(copy);

			memcpy(copy, buf, c);
			while (o < n && c)
				o = put(buf, o, copy, c);
		}
		return o;
	case 10:	/* another file's input */
		if (ids)
			return puts_(buf, 0, mode_words[rndn(s, 3)]);
		return gen_number(w, st, buf, s);
	default:	/* a valid-looking value with NUL and junk after it */
		o = ids ? gen_number(w, st, buf, s) : puts_(buf, 0, word);
		o = put(buf, o, "\0", 1);
		n = rndn(s, 8);
		while (n--)
			o = put(buf, o, (char[]){ rnd(s) }, 1);
		return o;
	}
}

/* The test */

struct report {
	int n;
	char lines[MAX_REPORTS][400];
};

static void note(struct report *r, const char *fmt, ...)
	__printf(2, 3);

static void note(struct report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->n < MAX_REPORTS) {
		va_start(ap, fmt);
		vsnprintf(r->lines[r->n], sizeof(r->lines[0]), fmt, ap);
		va_end(ap);
	}
	r->n++;
}

static void print_reports(const struct report *r)
{
	for (int i = 0; i < r->n && i < MAX_REPORTS; i++)
		ksft_print_msg("%s\n", r->lines[i]);
	if (r->n > MAX_REPORTS)
		ksft_print_msg("... %d more\n", r->n - MAX_REPORTS);
}

static struct world *walk_world;

static int walk_live(const char *path, const struct stat *st, int type,
		     struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_D && walk_world->nlive < MAX_IDS)
		walk_world->live[walk_world->nlive++] = st->st_ino;
	return 0;
}

FIXTURE(hostile) {
	struct lf_global g;
	struct lf_cg t, u, gone[MAX_GONE];
	struct world w;
	struct state start;	/* tracked set at start, to restore */
	struct state model, seen;
	struct report rep;
	uint64_t seed;
	long writes[NR_FILES], valid_f[NR_FILES], invalid, valid;
};

FIXTURE_SETUP(hostile)
{
	const char *env = getenv("LAZYFREE_SEED");
	char name[64];

	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_EQ(0, lf_global_save(&self->g));
	ASSERT_EQ(0, lf_attr_write("enabled", "1"));
	ASSERT_EQ(0, lf_attr_write("default_mode", "free"));
	self->seed = env && *env ? strtoull(env, NULL, 0) : DEFAULT_SEED;
	if (!self->seed)
		self->seed = DEFAULT_SEED;

	ASSERT_EQ(0, lf_cg_create(&self->t, "lf_hostile_t"));
	ASSERT_EQ(0, lf_track(self->t.id));
	ASSERT_EQ(0, lf_cg_create(&self->u, "lf_hostile_u"));
	ASSERT_EQ(0, lf_untrack(self->u.id));
	for (int i = 0; i < MAX_GONE; i++) {
		snprintf(name, sizeof(name), "lf_hostile_gone%d", i);
		ASSERT_EQ(0, lf_cg_create(&self->gone[i], name));
		self->w.gone[self->w.ngone++] = self->gone[i].id;
		ASSERT_EQ(0, lf_cg_destroy(&self->gone[i]));
	}
	self->w.t = self->t.id;
	self->w.u = self->u.id;
	snprintf(self->w.mode_path, sizeof(self->w.mode_path),
		 LF_SYSFS "/cgroups/%llu/mode", (unsigned long long)self->t.id);
	walk_world = &self->w;
	ASSERT_EQ(0, nftw(lf_cgroup_root(), walk_live, 16, FTW_PHYS | FTW_MOUNT));
	qsort(self->w.live, self->w.nlive, sizeof(uint64_t), cmp_u64);
	for (int i = 0; i < self->w.ngone; i++)
		ASSERT_FALSE(has_id(self->w.live, self->w.nlive, self->w.gone[i]));
	ASSERT_EQ(0, read_state(&self->w, &self->start));
	ksft_print_msg("seed: %llu (LAZYFREE_SEED=<n> to change)\n",
		       (unsigned long long)self->seed);
	ksft_print_msg("%d live cgroups, %d tracked; T=%llu U=%llu\n",
		       self->w.nlive, self->start.nids,
		       (unsigned long long)self->t.id,
		       (unsigned long long)self->u.id);
}

FIXTURE_TEARDOWN_PARENT(hostile)
{
	struct state now;

	/* forget what the test tracked, keep what was tracked before */
	if (!read_state(&self->w, &now)) {
		for (int i = 0; i < now.nids; i++)
			if (!has_id(self->start.ids, self->start.nids, now.ids[i]))
				lf_untrack(now.ids[i]);
		for (int i = 0; i < self->start.nids; i++)
			lf_track(self->start.ids[i]);
	}
	lf_cg_destroy(&self->t);
	lf_cg_destroy(&self->u);
	lf_global_restore(&self->g);
}

/*
 * One generated write, judged by the model.  Returns false when the
 * module disagreed (noted in the report).
 */
static bool try_write(FIXTURE_DATA(hostile) *self, enum lf_file f,
		      const char *buf, size_t len)
{
	struct state next = self->model;
	char why[128], in[400];
	int want, got;

	want = verdict(&self->w, &next, f, buf, len);
	got = do_write(&self->w, f, buf, len);
	self->writes[f]++;
	if (want) {
		self->invalid++;
	} else {
		self->valid++;
		self->valid_f[f]++;
	}
	if (got != want) {
		note(&self->rep, "%s <- \"%s\": want %s, got %s", file_names[f],
		     show(buf, len, in, sizeof(in)),
		     want ? strerror(-want) : "success",
		     got < 0 ? strerror(-got) : got ? "short write" : "success");
	}
	if (!want && next.mode == -1) {
		/* T was removed: track it again, mode inherit */
		if (lf_track(self->w.t))
			note(&self->rep, "cannot track T again");
		add_id(&next, self->w.t);
		next.mode = 0;
	}
	self->model = next;
	if (read_state(&self->w, &self->seen)) {
		note(&self->rep, "cannot read the state back");
		return false;
	}
	if (!same_state(&self->model, &self->seen, why, sizeof(why))) {
		note(&self->rep, "after %s <- \"%s\" (%s): %s", file_names[f],
		     show(buf, len, in, sizeof(in)),
		     want ? "invalid" : "valid", why);
		self->model = self->seen;	/* report each divergence once */
		return false;
	}
	return got == want;
}

TEST_F_TIMEOUT(hostile, generated_writes, 280)
{
	static char buf[MAX_LEN + 1];
	uint64_t s = self->seed;
	long start = lf_now_ms(), total = 0, flips = 0;

	ASSERT_EQ(0, read_state(&self->w, &self->model));
	ASSERT_EQ(0, self->model.mode) TH_LOG("T's mode is not inherit");
	/* files in random order, so that adds and removes interleave */
	for (int left = NR_FILES; left; ) {
		enum lf_file f = rndn(&s, NR_FILES);
		struct state next = self->model;
		size_t len;

		if (self->writes[f] >= WRITES_PER_FILE)
			continue;
		len = gen_input(&self->w, &self->model, f, buf, &s);
		if (!len)
			len = puts_(buf, 0, "\n");
		/*
		 * Each enabled flip registers or unregisters the hook (slow
		 * under TCG): one valid flipping write in 25 is tried.
		 */
		if (f == F_ENABLED &&
		    !verdict(&self->w, &next, f, buf, len) &&
		    next.enabled != self->model.enabled) {
			if (rndn(&s, 25))
				continue;
			flips++;
		}
		try_write(self, f, buf, len);
		left -= self->writes[f] == WRITES_PER_FILE;
	}
	for (int f = 0; f < NR_FILES; f++)
		total += self->writes[f];
	ksft_print_msg("writes tried: %ld (%ld invalid, %ld valid; %ld enabled flips) in %ld ms\n",
		       total, self->invalid, self->valid, flips,
		       lf_now_ms() - start);
	for (int f = 0; f < NR_FILES; f++)
		ksft_print_msg("  %-14s %ld (%ld valid)\n", file_names[f],
			       self->writes[f], self->valid_f[f]);
	print_reports(&self->rep);
	EXPECT_EQ(0, self->rep.n) TH_LOG("%d writes disagreed with the grammar (above)", self->rep.n);
	for (int f = 0; f < NR_FILES; f++)
		EXPECT_LE(WRITES_PER_FILE, self->writes[f]);
}

/* Concurrent writers: only inputs whose verdict no other thread can change. */
struct conc {
	FIXTURE_DATA(hostile) *self;
	uint64_t seed;
	long writes, bad;
	struct report rep;
};

static void *conc_writer(void *arg)
{
	static __thread char buf[MAX_LEN + 1];
	struct conc *c = arg;
	const struct world *w = &c->self->w;
	uint64_t s = c->seed;

	while (c->writes < CONC_WRITES) {
		struct state a = c->self->model, b = c->self->model;
		enum lf_file f = rndn(&s, NR_FILES);
		size_t len = gen_input(w, &a, f, buf, &s);
		char in[400];
		int want, want2, got;

		if (!len)
			continue;
		/* U is added and removed by the toggler: both states */
		if (!has_id(a.ids, a.nids, w->u))
			add_id(&a, w->u);
		del_id(&b, w->u);
		want = verdict(w, &a, f, buf, len);
		want2 = verdict(w, &b, f, buf, len);
		if (!want || want != want2)
			continue;
		got = do_write(w, f, buf, len);
		c->writes++;
		if (got != want) {
			c->bad++;
			note(&c->rep, "%s <- \"%s\" (concurrent): want %s, got %s",
			     file_names[f], show(buf, len, in, sizeof(in)),
			     strerror(-want), got < 0 ? strerror(-got) :
			     got ? "short write" : "success");
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(hostile, concurrent_writers, 280)
{
	struct conc c[CONC_WRITERS];
	pthread_t th[CONC_WRITERS];
	struct state want;
	char why[128], u[32];
	long start = lf_now_ms(), toggles = 0, total = 0, bad = 0;
	int step = 0, running = CONC_WRITERS;

	ASSERT_EQ(0, read_state(&self->w, &self->model));
	snprintf(u, sizeof(u), "%llu", (unsigned long long)self->w.u);
	for (int i = 0; i < CONC_WRITERS; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].self = self;
		c[i].seed = self->seed + 1 + i;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, conc_writer, &c[i]));
	}
	/* The toggler: valid writes, each checked against the whole state. */
	want = self->model;
	while (running) {
		int err = 0;

		switch (step++ % 8) {
		case 0:
		case 4:
			want.default_mode = want.default_mode == 1 ? 2 : 1;
			err = lf_attr_write("default_mode", mode_words[want.default_mode]);
			break;
		case 1:
		case 5:
			want.mode = (want.mode + 1) % 3;
			err = lf_write_file(self->w.mode_path, mode_words[want.mode]);
			break;
		case 2:
			add_id(&want, self->w.u);
			err = lf_attr_write("cgroups/add", u);
			break;
		case 6:
			del_id(&want, self->w.u);
			err = lf_attr_write("cgroups/remove", u);
			break;
		default:
			if (step % 64 < 8) {
				want.enabled = !want.enabled;
				err = lf_attr_write("enabled", want.enabled ? "1" : "0");
			}
		}
		toggles++;
		if (err)
			note(&self->rep, "toggler step %d: %s", step, strerror(-err));
		if (read_state(&self->w, &self->seen) ||
		    !same_state(&want, &self->seen, why, sizeof(why))) {
			note(&self->rep, "toggler step %d: state %s", step, why);
			want = self->seen;
		}
		running = 0;
		for (int i = 0; i < CONC_WRITERS; i++)
			running += c[i].writes < CONC_WRITES;
	}
	for (int i = 0; i < CONC_WRITERS; i++) {
		pthread_join(th[i], NULL);
		total += c[i].writes;
		bad += c[i].bad;
		print_reports(&c[i].rep);
	}
	ksft_print_msg("concurrent writes tried: %ld invalid from %d threads, %ld valid toggles checked, in %ld ms\n",
		       total, CONC_WRITERS, toggles, lf_now_ms() - start);
	print_reports(&self->rep);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, self->rep.n);
	EXPECT_EQ(CONC_WRITERS * CONC_WRITES, total);
}

static void case_free(struct lf_result *r, const void *arg)
{
	size_t len = 4 * lf_pagesize;
	char *p = lf_free_filled(r, len, 0x5a);

	(void)arg;
	if (!p)
		return;
	r->aux[0] = p[0];
	r->aux[1] = p[len - 1];
}

/* After the storm: every valid write works and takes effect. */
TEST_F_TIMEOUT(hostile, valid_writes_after, 280)
{
	static char buf[MAX_LEN + 1];
	struct lf_result *r = lf_result_alloc();
	uint64_t s = self->seed;
	char v[64], id[32];

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, read_state(&self->w, &self->model));
	/* a storm of invalid writes first, as in generated_writes */
	for (int i = 0; i < 2000; i++) {
		enum lf_file f = rndn(&s, NR_FILES);
		size_t len = gen_input(&self->w, &self->model, f, buf, &s);
		struct state next = self->model;

		if (len && verdict(&self->w, &next, f, buf, len))
			try_write(self, f, buf, len);
	}
	print_reports(&self->rep);
	EXPECT_EQ(0, self->rep.n);

	for (int e = 0; e < 2; e++) {
		ASSERT_EQ(0, lf_attr_write("enabled", e ? "1\n" : "0"));
		ASSERT_EQ(0, lf_attr_read("enabled", v, sizeof(v)));
		EXPECT_STREQ(e ? "1" : "0", v);
	}
	for (int m = 2; m >= 1; m--) {
		ASSERT_EQ(0, lf_attr_write("default_mode", mode_words[m]));
		ASSERT_EQ(0, lf_attr_read("default_mode", v, sizeof(v)));
		EXPECT_STREQ(mode_words[m], v);
	}
	for (int m = 0; m < 3; m++) {
		ASSERT_EQ(0, lf_cg_attr_write(self->w.t, "mode", mode_words[m]));
		ASSERT_EQ(0, lf_cg_attr_read(self->w.t, "mode", v, sizeof(v)));
		EXPECT_STREQ(mode_words[m], v);
	}
	snprintf(id, sizeof(id), "+%llu\n", (unsigned long long)self->w.u);
	ASSERT_EQ(0, lf_attr_write("cgroups/add", id));
	EXPECT_TRUE(lf_cg_tracked(self->w.u));
	ASSERT_EQ(0, lf_attr_write("cgroups/remove", id));
	EXPECT_FALSE(lf_cg_tracked(self->w.u));

	/* and the modes still act: dontneed drops, free keeps */
	ASSERT_EQ(0, lf_cg_attr_write(self->w.t, "mode", "dontneed"));
	ASSERT_EQ(0, lf_run(self->t.path, case_free, NULL, r)) TH_LOG("%s", r->msg);
	EXPECT_EQ(0, r->ret);
	EXPECT_EQ(0, r->aux[0]) TH_LOG("dontneed no longer applied");
	EXPECT_EQ(0, r->aux[1]);
	ASSERT_EQ(0, lf_cg_attr_write(self->w.t, "mode", "free"));
	ASSERT_EQ(0, lf_run(self->t.path, case_free, NULL, r)) TH_LOG("%s", r->msg);
	EXPECT_EQ(0x5a, r->aux[0]) TH_LOG("free no longer keeps data");
	lf_result_free(r);
}

/*
 * The ABI: "Writes accept the value with or without one trailing newline
 * and nothing else."  A store reads its buffer as a C string, so bytes
 * after a NUL are not seen unless the store compares strlen(buf) with
 * count.  Each of these must fail with EINVAL and change nothing.
 */
TEST_F(hostile, nul_is_junk)
{
	struct {
		enum lf_file f;
		const char *s;
		size_t len;
	} rows[] = {
		{ F_ENABLED,		"1\0",			2 },
		{ F_ENABLED,		"0\0junk",		6 },
		{ F_ENABLED,		"1\n\0",		3 },
		{ F_DEFAULT_MODE,	"dontneed\0",		9 },
		{ F_DEFAULT_MODE,	"dontneed\0free",	13 },
		{ F_MODE,		"dontneed\0x",		10 },
		{ F_MODE,		"free\n\0\n",		7 },
		{ F_ADD,		NULL,			0 },	/* "<U>\0junk" */
		{ F_REMOVE,		NULL,			0 },	/* "<T>\0" */
	};
	char buf[64], in[128], why[128];
	int bad = 0;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		size_t len = rows[i].len;
		bool same;
		int got;

		if (rows[i].f == F_ADD) {
			len = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)self->w.u);
			memcpy(buf + len, "\0junk", 5);
			len += 5;
		} else if (rows[i].f == F_REMOVE) {
			len = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)self->w.t) + 1;
		} else {
			memcpy(buf, rows[i].s, len);
		}
		ASSERT_EQ(0, read_state(&self->w, &self->model));
		got = do_write(&self->w, rows[i].f, buf, len);
		ASSERT_EQ(0, read_state(&self->w, &self->seen));
		same = same_state(&self->model, &self->seen, why, sizeof(why));
		if (got != -EINVAL || !same) {
			ksft_print_msg("%s <- \"%s\": want EINVAL, got %s; state %s\n",
				       file_names[rows[i].f], show(buf, len, in, sizeof(in)),
				       got < 0 ? strerror(-got) : got ? "short write" : "success",
				       same ? "unchanged" : why);
			bad++;
		}
		/* put back what an accepted write changed */
		lf_track(self->w.t);
		lf_untrack(self->w.u);
		lf_attr_write("enabled", "1");
		lf_attr_write("default_mode", "free");
		lf_cg_attr_write(self->w.t, "mode", "inherit");
	}
	ksft_print_msg("NUL-terminated inputs accepted: %d of %zu\n", bad, ARRAY_SIZE(rows));
	EXPECT_EQ(0, bad);
}

TEST_HARNESS_MAIN
