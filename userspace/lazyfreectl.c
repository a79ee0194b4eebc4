// SPDX-License-Identifier: GPL-2.0
/*
 * lazyfreectl - control lazyfree, per-cgroup MADV_FREE policy
 *
 * Operators name cgroups by path; the module's sysfs ABI
 * (/sys/kernel/lazyfree, Documentation/ABI/testing/sysfs-kernel-lazyfree)
 * names them by id. This tool translates, shows tables through
 * libsmartcols as util-linux's zramctl does, and adds declarative apply,
 * Prometheus metrics and an on-demand reclaim.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libsmartcols.h>

#include "lazyfreectl.h"

#ifndef LAZYFREE_VERSION
#define LAZYFREE_VERSION "unknown"
#endif
#ifndef LAZYFREE_GIT_DESC
#define LAZYFREE_GIT_DESC ""
#endif

struct opts {
	const char *columns;
	bool json;
	bool raw;
	bool noheadings;
	bool bytes;
	bool prune;
	bool check;
	bool all;
	bool dry_run;
};

/* list columns */
enum {
	COL_PATH,
	COL_ID,
	COL_MODE,
	COL_EFFECTIVE,
	COL_FREED,
	COL_REWRITTEN,
	COL_LAZYFREE,
	COL_PINNED,
	NCOLS,
};

struct colinfo {
	const char *name;
	double whint;
	int flags;
	bool size;
	const char *help;
};

static const struct colinfo infos[NCOLS] = {
	[COL_PATH] = { "PATH", 0.5, 0, false,
		"cgroup path inside the hierarchy" },
	[COL_ID] = { "ID", 5, SCOLS_FL_RIGHT, false,
		"cgroup id (inode number of its directory)" },
	[COL_MODE] = { "MODE", 8, 0, false,
		"mode set for the cgroup: free, dontneed or inherit" },
	[COL_EFFECTIVE] = { "EFFECTIVE", 8, 0, false,
		"mode in force after inheritance: free or dontneed" },
	[COL_FREED] = { "FREED", 5, SCOLS_FL_RIGHT, true,
		"bytes advised MADV_FREE by the cgroup's processes" },
	[COL_REWRITTEN] = { "REWRITTEN", 5, SCOLS_FL_RIGHT, true,
		"of those, bytes dropped at once (dontneed)" },
	[COL_LAZYFREE] = { "LAZYFREE", 5, SCOLS_FL_RIGHT, true,
		"memory lazily freed right now (smaps_rollup; slow)" },
	[COL_PINNED] = { "PINNED", 5, SCOLS_FL_RIGHT, true,
		"of FREED, bytes kept under dontneed: the process pins pages" },
};

static int columns[NCOLS * 2];
static size_t ncolumns;

static int column_name_to_id(const char *name, size_t len)
{
	int i;

	for (i = 0; i < NCOLS; i++)
		if (!strncasecmp(name, infos[i].name, len) &&
		    !infos[i].name[len])
			return i;
	lf_errmsg(NULL, "unknown column", strndupa(name, len),
		  "see --help for the list");
	return -1;
}

/* "-o A,B" replaces the default columns, "-o +A,B" adds to them */
static int parse_columns(const char *list)
{
	const char *p = list;

	if (*p == '+')
		p++;
	else
		ncolumns = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		int id;

		if (!len || ncolumns >= ARRAY_SIZE(columns)) {
			lf_errmsg(NULL, "bad column list", list,
				  strerror(EINVAL));
			return -EINVAL;
		}
		id = column_name_to_id(p, len);
		if (id < 0)
			return -EINVAL;
		columns[ncolumns++] = id;
		p += len;
		if (*p == ',')
			p++;
	}
	if (!ncolumns) {
		lf_errmsg(NULL, "bad column list", list, strerror(EINVAL));
		return -EINVAL;
	}
	return 0;
}

static void fmt_size(const struct opts *o, uint64_t v, char *buf, size_t size)
{
	if (o->bytes)
		snprintf(buf, size, "%llu", (unsigned long long)v);
	else
		lf_size_human(v, buf, size);
}

static struct libscols_table *new_table(const struct opts *o, const char *name)
{
	struct libscols_table *tb = scols_new_table();

	if (!tb) {
		lf_err(NULL, "cannot create table", NULL, ENOMEM);
		return NULL;
	}
	scols_table_enable_json(tb, o->json);
	scols_table_enable_raw(tb, o->raw);
	scols_table_enable_noheadings(tb, o->noheadings);
	scols_table_set_name(tb, name);
	return tb;
}

static int set_cell(struct libscols_line *ln, size_t col, const char *data)
{
	if (scols_line_set_data(ln, col, data)) {
		lf_err(NULL, "cannot set table cell", data, ENOMEM);
		return -ENOMEM;
	}
	return 0;
}

static int cmd_list(int argc, char **argv, struct opts *o)
{
	struct libscols_table *tb;
	struct lf_entry *e = NULL;
	char mnt[LF_PATH_MAX] = "", buf[64];
	bool want_lazyfree = false;
	size_t n, i, c;
	int failed = 0, ret;

	(void)argv;
	if (argc) {
		lf_errmsg("list", "unexpected argument", argv[0],
			  strerror(EINVAL));
		return 1;
	}
	for (c = 0; c < ncolumns; c++)
		want_lazyfree |= columns[c] == COL_LAZYFREE;
	if (want_lazyfree) {
		enum lf_hierarchy h;

		if (lf_hierarchy(&h) || lf_mount_point(h, mnt, sizeof(mnt)))
			return 1;
	}
	if (lf_read_entries(&e, &n, &failed))
		return 1;
	tb = new_table(o, "cgroups");
	if (!tb)
		goto fail;
	for (c = 0; c < ncolumns; c++) {
		const struct colinfo *ci = &infos[columns[c]];
		struct libscols_column *cl;

		cl = scols_table_new_column(tb, ci->name, ci->whint, ci->flags);
		if (!cl)
			goto fail;
		if (columns[c] == COL_ID || (ci->size && o->bytes))
			scols_column_set_json_type(cl, SCOLS_JSON_NUMBER);
	}
	for (i = 0; i < n; i++) {
		struct libscols_line *ln = scols_table_new_line(tb, NULL);
		uint64_t lazy;

		if (!ln)
			goto fail;
		for (c = 0; c < ncolumns; c++) {
			const char *data = buf;

			switch (columns[c]) {
			case COL_PATH:
				data = e[i].path;
				break;
			case COL_ID:
				snprintf(buf, sizeof(buf), "%llu",
					 (unsigned long long)e[i].id);
				break;
			case COL_MODE:
				data = lf_mode_name(e[i].mode);
				break;
			case COL_EFFECTIVE:
				data = lf_mode_name(e[i].effective);
				break;
			case COL_FREED:
				fmt_size(o, e[i].freed, buf, sizeof(buf));
				break;
			case COL_REWRITTEN:
				fmt_size(o, e[i].rewritten, buf, sizeof(buf));
				break;
			case COL_PINNED:
				fmt_size(o, e[i].pinned, buf, sizeof(buf));
				break;
			case COL_LAZYFREE:
				ret = lf_entry_lazyfree(mnt, &e[i], &lazy);
				if (ret < 0 && ret != -ENOENT)
					failed++;
				if (ret < 0)
					data = NULL;
				else
					fmt_size(o, lazy, buf, sizeof(buf));
				break;
			}
			if (data && set_cell(ln, c, data))
				goto fail;
		}
	}
	scols_print_table(tb);
	scols_unref_table(tb);
	free(e);
	return failed ? 1 : 0;
fail:
	scols_unref_table(tb);
	free(e);
	return 1;
}

struct field {
	const char *label;	/* human output */
	const char *key;	/* JSON */
	char value[256];
	int json;		/* SCOLS_JSON_* */
};

static int read_u64_or_report(const char *path, uint64_t *v)
{
	int ret = lf_read_u64(path, v);

	if (ret < 0)
		lf_err(path, "read failed", NULL, ret);
	return ret;
}

static int cmd_status(int argc, char **argv, struct opts *o)
{
	enum { F_ENABLED, F_HOOK, F_HIER, F_MOUNT, F_DEFAULT, F_CGROUPS,
	       F_MAX, F_FREED, F_REWRITTEN, F_PINNED, NF };
	struct field f[NF] = {
		[F_ENABLED] = { "enabled", "enabled", "", SCOLS_JSON_BOOLEAN },
		[F_HOOK] = { "hook", "hook" },
		[F_HIER] = { "hierarchy", "hierarchy" },
		[F_MOUNT] = { "mount", "mount" },
		[F_DEFAULT] = { "default mode", "default_mode" },
		[F_CGROUPS] = { "cgroups", "cgroups", "", SCOLS_JSON_NUMBER },
		[F_MAX] = { "max cgroups", "max_cgroups", "", SCOLS_JSON_NUMBER },
		[F_FREED] = { "freed", "freed" },
		[F_REWRITTEN] = { "rewritten", "rewritten" },
		[F_PINNED] = { "pinned", "pinned" },
	};
	struct libscols_table *tb;
	struct libscols_line *ln = NULL;
	struct lf_entry *e;
	enum lf_hierarchy h;
	char buf[LF_ATTR_MAX], *p, *save = NULL;
	uint64_t v;
	size_t n, i;
	int failed = 0;

	if (argc) {
		lf_errmsg("status", "unexpected argument", argv[0],
			  strerror(EINVAL));
		return 1;
	}
	if (lf_read_attr_report(LF_SYSFS "/enabled", buf, sizeof(buf)))
		return 1;
	snprintf(f[F_ENABLED].value, sizeof(f[0].value), "%s",
		 strcmp(buf, "0") ? "yes" : "no");
	if (lf_read_attr_report(LF_SYSFS "/hook", buf, sizeof(buf)))
		return 1;
	/*
	 * "<function> <mechanism> [untested]" per line ->
	 * "function (mechanism[, untested line]), ..."
	 */
	for (p = strtok_r(buf, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		char *mech = strchr(p, ' '), *untested = NULL;
		size_t len = strlen(f[F_HOOK].value);
		char *out = f[F_HOOK].value + len;
		size_t room = sizeof(f[0].value) - len;

		if (mech) {
			*mech++ = '\0';
			untested = strchr(mech, ' ');
			if (untested)
				*untested++ = '\0';
		}
		if (!mech)
			snprintf(out, room, "%s%s", len ? ", " : "", p);
		else if (untested && !strcmp(untested, "untested"))
			snprintf(out, room, "%s%s (%s, untested line)",
				 len ? ", " : "", p, mech);
		else
			snprintf(out, room, "%s%s (%s)", len ? ", " : "", p, mech);
	}
	if (lf_hierarchy(&h))
		return 1;
	snprintf(f[F_HIER].value, sizeof(f[0].value), "%s",
		 h == LF_V2 ? "v2" : "v1");
	if (lf_mount_point(h, f[F_MOUNT].value, sizeof(f[0].value)))
		failed++;
	if (lf_read_attr_report(LF_SYSFS "/default_mode", f[F_DEFAULT].value,
			   sizeof(f[0].value)))
		return 1;
	if (lf_read_entries(&e, &n, &failed))
		return 1;
	free(e);
	snprintf(f[F_CGROUPS].value, sizeof(f[0].value), "%zu", n);
	if (lf_read_u64(LF_PARAMS "/max_cgroups", &v) == 0)
		snprintf(f[F_MAX].value, sizeof(f[0].value), "%llu",
			 (unsigned long long)v);
	if (read_u64_or_report(LF_SYSFS "/free_bytes", &v))
		return 1;
	fmt_size(o, v, f[F_FREED].value, sizeof(f[0].value));
	if (read_u64_or_report(LF_SYSFS "/rewritten_bytes", &v))
		return 1;
	fmt_size(o, v, f[F_REWRITTEN].value, sizeof(f[0].value));
	if (read_u64_or_report(LF_SYSFS "/pinned_bytes", &v))
		return 1;
	fmt_size(o, v, f[F_PINNED].value, sizeof(f[0].value));
	if (o->bytes) {
		f[F_FREED].json = SCOLS_JSON_NUMBER;
		f[F_REWRITTEN].json = SCOLS_JSON_NUMBER;
		f[F_PINNED].json = SCOLS_JSON_NUMBER;
	}

	tb = new_table(o, "lazyfree");
	if (!tb)
		return 1;
	if (o->json) {
		/* one object: {"lazyfree": [{"enabled": true, ...}]} */
		for (i = 0; i < NF; i++) {
			struct libscols_column *cl;

			cl = scols_table_new_column(tb, f[i].key, 0, 0);
			if (!cl)
				goto fail;
			scols_column_set_json_type(cl, f[i].json);
		}
		ln = scols_table_new_line(tb, NULL);
		for (i = 0; ln && i < NF; i++)
			if (f[i].value[0] && set_cell(ln, i, f[i].value))
				goto fail;
	} else {
		/* "field: value" pairs, like lscpu */
		scols_table_enable_noheadings(tb, 1);
		if (!scols_table_new_column(tb, "FIELD", 0, 0) ||
		    !scols_table_new_column(tb, "VALUE", 0, 0))
			goto fail;
		for (i = 0; i < NF; i++) {
			snprintf(buf, sizeof(buf), "%s:", f[i].label);
			ln = scols_table_new_line(tb, NULL);
			if (!ln || set_cell(ln, 0, buf) ||
			    set_cell(ln, 1, f[i].value[0] ? f[i].value : "-"))
				goto fail;
		}
	}
	if (!ln)
		goto fail;
	scols_print_table(tb);
	scols_unref_table(tb);
	return failed ? 1 : 0;
fail:
	scols_unref_table(tb);
	return 1;
}

static int cmd_set(int argc, char **argv, struct opts *o)
{
	struct lf_cgroup cg;
	char path[LF_PATH_MAX];
	enum lf_mode mode;
	bool added;
	int ret;

	(void)o;
	if (argc != 2) {
		lf_errmsg("set", "expected CGROUP MODE", NULL,
			  strerror(EINVAL));
		return 1;
	}
	mode = lf_mode_parse(argv[1]);
	if (mode == LF_MODE_INVALID) {
		lf_errmsg("set", "unknown mode", argv[1],
			  "expected free, dontneed or inherit");
		return 1;
	}
	if (lf_resolve(argv[0], &cg, true))
		return 1;
	if (lf_track(cg.id, &added))
		return 1;
	snprintf(path, sizeof(path), LF_CGROUPS "/%llu/mode",
		 (unsigned long long)cg.id);
	ret = lf_write_attr(path, argv[1]);
	if (ret < 0) {
		lf_err(path, "write failed", argv[1], ret);
		if (added) {
			snprintf(path, sizeof(path), "%llu",
				 (unsigned long long)cg.id);
			lf_write_attr(LF_CGROUPS "/remove", path);
		}
		return 1;
	}
	return 0;
}

static int cmd_default(int argc, char **argv, struct opts *o)
{
	enum lf_mode mode;
	int ret;

	(void)o;
	if (argc != 1) {
		lf_errmsg("default", "expected MODE", NULL, strerror(EINVAL));
		return 1;
	}
	mode = lf_mode_parse(argv[0]);
	if (mode != LF_MODE_FREE && mode != LF_MODE_DONTNEED) {
		lf_errmsg("default", "unknown mode", argv[0],
			  "expected free or dontneed");
		return 1;
	}
	ret = lf_write_attr(LF_SYSFS "/default_mode", argv[0]);
	if (ret < 0) {
		lf_err(LF_SYSFS "/default_mode", "write failed", argv[0], ret);
		return 1;
	}
	return 0;
}

static int write_enabled(int argc, char **argv, const char *val)
{
	int ret;

	if (argc) {
		lf_errmsg(NULL, "unexpected argument", argv[0],
			  strerror(EINVAL));
		return 1;
	}
	ret = lf_write_attr(LF_SYSFS "/enabled", val);
	if (ret < 0) {
		lf_err(LF_SYSFS "/enabled", "write failed", val, ret);
		return 1;
	}
	return 0;
}

static int cmd_enable(int argc, char **argv, struct opts *o)
{
	(void)o;
	return write_enabled(argc, argv, "1");
}

static int cmd_disable(int argc, char **argv, struct opts *o)
{
	(void)o;
	return write_enabled(argc, argv, "0");
}

static int cmd_apply(int argc, char **argv, struct opts *o)
{
	if (argc != 1) {
		lf_errmsg("apply", "expected FILE", NULL, strerror(EINVAL));
		return 1;
	}
	return lf_cmd_apply_file(argv[0], o->prune, o->check) ? 1 : 0;
}

static int cmd_metrics(int argc, char **argv, struct opts *o)
{
	(void)o;
	if (argc) {
		lf_errmsg("metrics", "unexpected argument", argv[0],
			  strerror(EINVAL));
		return 1;
	}
	return lf_cmd_metrics_print() ? 1 : 0;
}

/*
 * reclaim: exactly the pages the cgroup's processes have lazily freed
 * (reclaim.c), again while that figure keeps falling; --all: the old way,
 * memory.reclaim (5.19+) for the whole of memory.current, again while it
 * keeps falling (it answers EAGAIN once it could not reclaim all, after
 * having dropped what it could).
 */
#define NO_CURRENT "not available (root cgroup, or memory controller off " \
	"for this cgroup)"
#define NO_RECLAIM "not available (kernel before 5.19)"
#define RECLAIM_ROUNDS 16

static int reclaim_all(const struct lf_cgroup *cg)
{
	char rec_path[LF_PATH_MAX + 32], cur_path[LF_PATH_MAX + 32], val[32];
	enum lf_hierarchy h;
	struct stat st;
	uint64_t now, cur;
	int i, ret;

	if (lf_hierarchy(&h))
		return -EINVAL;
	if (h == LF_V1) {
		lf_errmsg(cg->abs, "reclaim --all needs cgroup v2 memory.reclaim",
			  "v1", strerror(EOPNOTSUPP));
		return -EOPNOTSUPP;
	}
	snprintf(rec_path, sizeof(rec_path), "%s/memory.reclaim", cg->abs);
	snprintf(cur_path, sizeof(cur_path), "%s/memory.current", cg->abs);
	ret = lf_read_u64(cur_path, &cur);
	if (ret < 0) {
		lf_err(cur_path, ret == -ENOENT ? NO_CURRENT : "read failed",
		       NULL, ret);
		return ret;
	}
	ret = lf_stat(rec_path, &st);
	if (ret < 0) {
		lf_err(rec_path, ret == -ENOENT ? NO_RECLAIM : "not available",
		       NULL, ret);
		return ret;
	}
	for (i = 0; i < RECLAIM_ROUNDS && cur; i++) {
		snprintf(val, sizeof(val), "%llu", (unsigned long long)cur);
		ret = lf_write_attr(rec_path, val);
		if (ret < 0 && ret != -EAGAIN) {
			lf_err(rec_path, "write failed", val, ret);
			return ret;
		}
		if (lf_read_u64(cur_path, &now) < 0 || now >= cur ||
		    ret == -EAGAIN)
			break;
		cur = now;
	}
	return 0;
}

/*
 * Page out what is lazily freed (LAZY, bytes) until none is left or a pass
 * takes nothing more: a folio that reclaim could not isolate in one pass
 * (off the LRU for a moment) is taken by the next.  *ASKED: the first
 * pass's request, all a dry run does.
 */
static int reclaim_lazyfree(const struct lf_cgroup *cg, bool dry_run,
			    uint64_t lazy, uint64_t *after, uint64_t *asked)
{
	uint64_t req;
	int i, ret;

	*after = lazy;
	for (i = 0; i < RECLAIM_ROUNDS && *after; i++) {
		ret = lf_pageout_lazyfree(cg->abs, dry_run, &req);
		if (ret < 0)
			return ret;
		if (!i)
			*asked = req;
		lazy = *after;
		ret = lf_lazyfree(cg->abs, true, after);
		if (ret < 0)
			return ret;
		if (dry_run || *after >= lazy)
			break;
	}
	return 0;
}

/* "<before> -> <after>" of memory.current where the cgroup has one */
static void current_part(const struct opts *o, const struct lf_cgroup *cg,
			 uint64_t before, bool have, char *out, size_t size)
{
	char path[LF_PATH_MAX + 32], b[32], a[32];
	uint64_t now;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/memory.current", cg->abs);
	if (!have || lf_read_u64(path, &now) < 0)
		return;
	fmt_size(o, before, b, sizeof(b));
	fmt_size(o, now, a, sizeof(a));
	snprintf(out, size, ", memory.current %s -> %s", b, a);
}

static int cmd_reclaim(int argc, char **argv, struct opts *o)
{
	char path[LF_PATH_MAX + 32], before_s[32], after_s[32], asked_s[32];
	char cur_s[96];
	uint64_t lazy_before, lazy, asked = 0, cur = 0;
	struct lf_cgroup cg;
	bool have_cur;
	int ret;

	if (argc != 1) {
		lf_errmsg("reclaim", "expected CGROUP", NULL,
			  strerror(EINVAL));
		return 1;
	}
	if (o->all && o->dry_run) {
		lf_errmsg("reclaim", "--all and --dry-run exclude each other",
			  NULL, strerror(EINVAL));
		return 1;
	}
	if (lf_resolve(argv[0], &cg, true))
		return 1;
	if (!cg.have_dir) {
		lf_err(NULL, "no such cgroup", argv[0], ENOENT);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/memory.current", cg.abs);
	have_cur = !lf_read_u64(path, &cur);
	ret = lf_lazyfree(cg.abs, true, &lazy_before);
	if (ret < 0)
		return 1;
	if (o->all) {
		ret = reclaim_all(&cg);
		if (!ret)
			ret = lf_lazyfree(cg.abs, true, &lazy);
	} else {
		ret = reclaim_lazyfree(&cg, o->dry_run, lazy_before, &lazy,
				       &asked);
	}
	if (ret < 0)
		return 1;
	fmt_size(o, lazy_before, before_s, sizeof(before_s));
	fmt_size(o, lazy, after_s, sizeof(after_s));
	if (o->dry_run) {
		fmt_size(o, asked, asked_s, sizeof(asked_s));
		printf("%s: lazily freed %s, would page out %s\n", cg.rel,
		       before_s, asked_s);
		return 0;
	}
	current_part(o, &cg, cur, have_cur, cur_s, sizeof(cur_s));
	printf("%s: lazily freed %s -> %s%s\n", cg.rel, before_s, after_s,
	       cur_s);
	return 0;
}

struct command {
	const char *name;
	int (*fn)(int argc, char **argv, struct opts *o);
	bool needs_root;
	const char *args;
	const char *help;
};

static const struct command commands[] = {
	{ "status", cmd_status, false, "",
	  "module state and node-wide counters (default)" },
	{ "list", cmd_list, false, "", "one row per tracked cgroup" },
	{ "set", cmd_set, true, "CGROUP MODE",
	  "set a cgroup's mode: free, dontneed or inherit" },
	{ "default", cmd_default, true, "MODE",
	  "mode where none is set: free or dontneed" },
	{ "enable", cmd_enable, true, "", "turn the hooks on" },
	{ "disable", cmd_disable, true, "", "turn the hooks off" },
	{ "apply", cmd_apply, true, "FILE",
	  "apply a file of 'CGROUP MODE' and 'default MODE' lines" },
	{ "metrics", cmd_metrics, false, "",
	  "Prometheus text for node_exporter's textfile collector" },
	{ "reclaim", cmd_reclaim, true, "CGROUP",
	  "drop the lazily freed memory of the cgroup's subtree now" },
};

static void usage(void)
{
	size_t i;

	printf("Usage:\n %s [options] [command [arguments]]\n\n",
	       lf_progname);
	printf("Control lazyfree, the per-cgroup MADV_FREE policy module.\n\n");
	printf("Commands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		char head[64];

		snprintf(head, sizeof(head), "%s %s", commands[i].name,
			 commands[i].args);
		printf(" %-20s %s\n", head, commands[i].help);
	}
	printf("\nCGROUP is a path under the cgroup mount, a path inside the hierarchy\n"
	       "(relative or starting with /), or a numeric cgroup id.\n");
	printf("\nOptions:\n"
	       " -o, --output <list>  columns for list (+list adds to the default)\n"
	       " -J, --json           JSON output (status, list)\n"
	       " -r, --raw            raw output\n"
	       " -n, --noheadings     don't print headings\n"
	       " -b, --bytes          sizes in bytes rather than human-readable\n"
	       "     --prune          apply: FILE is the whole policy (unlisted cgroups\n"
	       "                      inherit; no default line: the load-time default)\n"
	       "     --check          apply: check FILE's syntax only (no module needed)\n"
	       "     --all            reclaim: all of memory.current through memory.reclaim,\n"
	       "                      not just what was lazily freed\n"
	       "     --dry-run        reclaim: only say how much would be paged out\n"
	       " -h, --help           display this help\n"
	       " -V, --version        display version\n");
	printf("\nAvailable list columns:\n");
	for (i = 0; i < NCOLS; i++)
		printf(" %10s  %s\n", infos[i].name, infos[i].help);
	printf("\nFor more details see lazyfreectl(8).\n");
}

/* "lazyfreectl 0.2.0 (v0.2.0-3-gabc)" and the loaded module's version */
static void print_version(void)
{
	char mod[64];
	int ret;

	printf("%s %s%s%s%s\n", lf_progname, LAZYFREE_VERSION,
	       *LAZYFREE_GIT_DESC ? " (" : "", LAZYFREE_GIT_DESC,
	       *LAZYFREE_GIT_DESC ? ")" : "");
	ret = lf_module_version(mod, sizeof(mod));
	if (ret == -ENOENT)
		printf("lazyfree module: not loaded\n");
	else if (ret < 0)
		printf("lazyfree module: version unknown (%s)\n",
		       strerror(-ret));
	else
		printf("lazyfree module %s\n", mod);
}

static void errtryhelp(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n",
		lf_progname);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'J' },
		{ "raw", no_argument, NULL, 'r' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "prune", no_argument, NULL, 'P' },
		{ "check", no_argument, NULL, 'C' },
		{ "all", no_argument, NULL, 'A' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	const struct command *cmd = &commands[0];
	const char *name;
	size_t i;
	int c;

	lf_root_init();
	for (i = 0; i < COL_LAZYFREE; i++)
		columns[ncolumns++] = i;
	while ((c = getopt_long(argc, argv, "o:JrnbhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o.columns = optarg;
			break;
		case 'J':
			o.json = true;
			break;
		case 'r':
			o.raw = true;
			break;
		case 'n':
			o.noheadings = true;
			break;
		case 'b':
			o.bytes = true;
			break;
		case 'P':
			o.prune = true;
			break;
		case 'C':
			o.check = true;
			break;
		case 'A':
			o.all = true;
			break;
		case 'D':
			o.dry_run = true;
			break;
		case 'h':
			usage();
			return 0;
		case 'V':
			print_version();
			return 0;
		default:
			errtryhelp();
			return 1;
		}
	}
	if (o.columns && parse_columns(o.columns))
		return 1;
	if (optind < argc) {
		name = argv[optind++];
		for (i = 0; i < ARRAY_SIZE(commands); i++)
			if (!strcmp(name, commands[i].name))
				break;
		if (i == ARRAY_SIZE(commands)) {
			lf_errmsg(NULL, "unknown command", name,
				  strerror(EINVAL));
			errtryhelp();
			return 1;
		}
		cmd = &commands[i];
	}
	/* apply --check reads only the file; metrics reports a missing module */
	if (cmd->fn == cmd_apply && o.check)
		return cmd->fn(argc - optind, argv + optind, &o);
	if (cmd->needs_root && geteuid() != 0 && !lf_root_overridden()) {
		lf_errmsg(cmd->name, "must be run as root", NULL,
			  strerror(EPERM));
		return 1;
	}
	if (cmd->fn != cmd_metrics && lf_module_check())
		return 1;
	return cmd->fn(argc - optind, argv + optind, &o);
}
