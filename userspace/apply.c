// SPDX-License-Identifier: GPL-2.0
/*
 * lazyfreectl - declarative apply
 *
 * File format, one statement per line:
 *
 *	# comment (also after a statement, when '#' starts a word)
 *	default free|dontneed
 *	CGROUP free|dontneed|inherit [optional]
 *
 * A CGROUP with *, ? or [ is a pattern (glob(7); no wildcard matches a
 * '/'), matched afresh on every apply.  A cgroup named by a path or id gets
 * that line's mode; one matched only by patterns, the first such line's.
 * A pattern that matches nothing, and an "optional" line whose cgroup does
 * not exist, are reported and skipped; any other missing cgroup is an error.
 *
 * Every line is checked before anything is written; any error is reported
 * as FILE:LINE and nothing changes.  Writes happen only where the current
 * value differs, so applying twice changes nothing the second time.  If the
 * kernel refuses a write half-way, what was already written is put back.
 * With --prune the file is the whole policy: tracked cgroups it does not
 * name go back to inherit, and without a default line the default is the
 * module's load-time one (parameters/default_mode).  --check parses the
 * file only, without the module or the cgroups.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazyfreectl.h"

/* a line of the file */
struct stmt {
	int lineno;
	char *arg;
	enum lf_mode mode;
	bool optional;
	bool pattern;
};

/* a cgroup whose mode the apply sets */
struct target {
	struct lf_cgroup cg;
	enum lf_mode mode;
	int lineno;		/* of the line that set it; 0: pruned */
	const char *arg;	/* as that line names it; NULL: pruned */
};

struct undo {
	uint64_t id;
	enum lf_mode old;
	bool added;
	bool changed;
};

struct plan {
	const char *file;
	struct stmt *stmts;
	size_t nstmts, stmts_cap;
	struct target *t;
	size_t n, cap;
	int default_line;
	bool have_def;
	enum lf_mode def;
	int errors;
};

static void line_err(struct plan *p, int lineno, const char *what,
		     const char *value, const char *reason)
{
	char where[LF_PATH_MAX + 32];

	snprintf(where, sizeof(where), "%s:%d", p->file, lineno);
	lf_errmsg(where, what, value, reason);
	p->errors++;
}

/* Reported, but no error: the apply goes on. */
static void line_note(struct plan *p, const struct stmt *s, const char *what,
		      const char *reason)
{
	char where[LF_PATH_MAX + 32];

	snprintf(where, sizeof(where), "%s:%d", p->file, s->lineno);
	lf_errmsg(where, what, s->arg, reason);
}

/* Split at blanks; a word starting with '#' ends the line. */
static int split(char *line, char **words, int max)
{
	char *save = NULL, *tok;
	int n = 0;

	for (tok = strtok_r(line, " \t\r\n", &save); tok;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (tok[0] == '#')
			break;
		if (n < max)
			words[n] = tok;
		n++;
	}
	return n;
}

static void *grow(void *arr, size_t *cap, size_t n, size_t size)
{
	void *tmp;

	if (n < *cap)
		return arr;
	tmp = realloc(arr, (*cap ? *cap * 2 : 32) * size);
	if (tmp)
		*cap = *cap ? *cap * 2 : 32;
	return tmp;
}

static void parse_default(struct plan *p, char **w, int n, int lineno)
{
	enum lf_mode mode = lf_mode_parse(w[1]);

	if (n != 2) {
		line_err(p, lineno, "expected default MODE", w[2],
			 strerror(EINVAL));
	} else if (mode != LF_MODE_FREE && mode != LF_MODE_DONTNEED) {
		line_err(p, lineno, "unknown default mode", w[1],
			 "expected free or dontneed");
	} else if (p->default_line) {
		char prev[64];

		snprintf(prev, sizeof(prev), "default already given on line %d",
			 p->default_line);
		line_err(p, lineno, prev, w[1], strerror(EINVAL));
	} else {
		p->default_line = lineno;
		p->have_def = true;
		p->def = mode;
	}
}

static struct target *find_target(struct plan *p, uint64_t id)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->t[i].cg.id == id)
			return &p->t[i];
	return NULL;
}

static int add_target(struct plan *p, const struct lf_cgroup *cg,
		      enum lf_mode mode, const struct stmt *from)
{
	struct target *t = grow(p->t, &p->cap, p->n, sizeof(*t));

	if (!t)
		return -ENOMEM;
	p->t = t;
	t = &p->t[p->n++];
	t->cg = *cg;
	t->mode = mode;
	t->lineno = from ? from->lineno : 0;
	t->arg = from ? from->arg : NULL;
	return 0;
}

/* A path or id line: its cgroup, or an error unless the line is optional. */
static void resolve_path(struct plan *p, const struct stmt *s)
{
	struct lf_cgroup cg;
	struct target *t;
	int ret = lf_resolve(s->arg, &cg, false);

	if (!ret && !cg.have_dir && !lf_is_tracked(cg.id))
		ret = -ENOENT;
	if (ret < 0) {
		if (s->optional)
			line_note(p, s, "no such cgroup",
				  "optional line, skipped");
		else
			line_err(p, s->lineno, "no such cgroup", s->arg,
				 strerror(-ret));
		return;
	}
	t = find_target(p, cg.id);
	if (t) {
		char prev[48];

		snprintf(prev, sizeof(prev), "cgroup already given on line %d",
			 t->lineno);
		line_err(p, s->lineno, prev, s->arg, strerror(EINVAL));
		return;
	}
	if (add_target(p, &cg, s->mode, s))
		line_err(p, s->lineno, "out of memory", NULL, NULL);
}

/* A pattern line: every cgroup it matches that no earlier line named. */
static void resolve_pattern(struct plan *p, const struct stmt *s)
{
	struct lf_cgroup *cg;
	size_t n, i;
	int ret = lf_glob(s->arg, &cg, &n);

	if (ret < 0) {
		line_err(p, s->lineno, "cannot match pattern", s->arg,
			 strerror(-ret));
		return;
	}
	if (!n)
		line_note(p, s, "pattern matches no cgroup", "skipped");
	for (i = 0; i < n; i++) {
		if (find_target(p, cg[i].id))
			continue;
		if (add_target(p, &cg[i], s->mode, s)) {
			line_err(p, s->lineno, "out of memory", NULL, NULL);
			break;
		}
	}
	free(cg);
}

/*
 * The syntax, then unless only checking (nothing then needs the module or
 * the cgroups) a path or id line's cgroup, so that errors come in line
 * order.  Patterns are matched once the whole file is read.
 */
static void parse_line(struct plan *p, char *line, int lineno, bool check)
{
	struct stmt *s;
	char *w[3];
	size_t i;
	int n = split(line, w, 3);
	enum lf_mode mode;

	if (!n)
		return;
	if (n < 2 || n > 3) {
		line_err(p, lineno,
			 "expected CGROUP MODE [optional] or default MODE",
			 w[0], strerror(EINVAL));
		return;
	}
	if (!strcmp(w[0], "default")) {
		parse_default(p, w, n, lineno);
		return;
	}
	mode = lf_mode_parse(w[1]);
	if (mode == LF_MODE_INVALID) {
		line_err(p, lineno, "unknown mode", w[1],
			 "expected free, dontneed or inherit");
		return;
	}
	if (n == 3 && strcmp(w[2], "optional")) {
		line_err(p, lineno, "unknown option", w[2], "expected optional");
		return;
	}
	for (i = 0; i < p->nstmts; i++) {
		if (!strcmp(p->stmts[i].arg, w[0])) {
			char prev[48];

			snprintf(prev, sizeof(prev),
				 "cgroup already given on line %d",
				 p->stmts[i].lineno);
			line_err(p, lineno, prev, w[0], strerror(EINVAL));
			return;
		}
	}
	s = grow(p->stmts, &p->stmts_cap, p->nstmts, sizeof(*s));
	if (!s) {
		line_err(p, lineno, "out of memory", NULL, NULL);
		return;
	}
	p->stmts = s;
	s = &p->stmts[p->nstmts];
	s->arg = strdup(w[0]);
	if (!s->arg) {
		line_err(p, lineno, "out of memory", NULL, NULL);
		return;
	}
	s->lineno = lineno;
	s->mode = mode;
	s->optional = n == 3;
	s->pattern = lf_is_pattern(w[0]);
	p->nstmts++;
	if (!check && !s->pattern)
		resolve_path(p, s);
}

/* After every path and id line, so that those win over any pattern. */
static void resolve_patterns(struct plan *p)
{
	size_t i;

	for (i = 0; i < p->nstmts; i++)
		if (p->stmts[i].pattern)
			resolve_pattern(p, &p->stmts[i]);
}

static int read_mode(const char *path, enum lf_mode *mode)
{
	char buf[64];
	int ret = lf_read_attr(path, buf, sizeof(buf));

	if (ret < 0) {
		lf_err(path, "read failed", NULL, ret);
		return ret;
	}
	*mode = lf_mode_parse(buf);
	if (*mode == LF_MODE_INVALID) {
		lf_err(path, "unknown mode", buf, EINVAL);
		return -EINVAL;
	}
	return 0;
}

static int write_mode(const char *path, enum lf_mode mode)
{
	int ret = lf_write_attr(path, lf_mode_name(mode));

	if (ret < 0)
		lf_err(path, "write failed", lf_mode_name(mode), ret);
	return ret;
}

static void mode_path(uint64_t id, char *out, size_t size)
{
	snprintf(out, size, LF_CGROUPS "/%llu/mode", (unsigned long long)id);
}

static void rollback(struct undo *u, size_t n, bool def_changed,
		     enum lf_mode old_def)
{
	char path[LF_PATH_MAX], val[32];

	while (n--) {
		mode_path(u[n].id, path, sizeof(path));
		if (u[n].changed)
			write_mode(path, u[n].old);
		if (u[n].added) {
			snprintf(val, sizeof(val), "%llu",
				 (unsigned long long)u[n].id);
			if (lf_write_attr(LF_CGROUPS "/remove", val) < 0)
				lf_err(LF_CGROUPS "/remove", "write failed",
				       val, errno);
		}
	}
	if (def_changed)
		write_mode(LF_SYSFS "/default_mode", old_def);
}

static const char *display(const struct target *t)
{
	return t->cg.have_dir ? t->cg.rel : t->arg;
}

/* --prune: every tracked cgroup with a mode of its own that no line set */
static int add_prune(struct plan *p, struct lf_entry *e, size_t ne)
{
	struct lf_cgroup cg = { .have_dir = true };
	size_t i;

	for (i = 0; i < ne; i++) {
		if (e[i].mode == LF_MODE_INHERIT || find_target(p, e[i].id))
			continue;
		cg.id = e[i].id;
		snprintf(cg.rel, sizeof(cg.rel), "%s", e[i].path);
		if (add_target(p, &cg, LF_MODE_INHERIT, NULL))
			return -ENOMEM;
	}
	return 0;
}

static int execute(struct plan *p)
{
	enum lf_mode old_def = LF_MODE_FREE, cur;
	char path[LF_PATH_MAX];
	bool def_changed = false;
	struct undo *u;
	size_t i;
	int ret = 0;

	u = calloc(p->n + 1, sizeof(*u));
	if (!u) {
		lf_err(p->file, "apply failed", NULL, ENOMEM);
		return -ENOMEM;
	}
	if (p->have_def) {
		ret = read_mode(LF_SYSFS "/default_mode", &old_def);
		if (!ret && old_def != p->def) {
			ret = write_mode(LF_SYSFS "/default_mode", p->def);
			def_changed = !ret;
		}
	}
	for (i = 0; !ret && i < p->n; i++) {
		struct target *t = &p->t[i];

		u[i].id = t->cg.id;
		ret = lf_track(t->cg.id, &u[i].added);
		if (ret < 0)
			break;
		mode_path(t->cg.id, path, sizeof(path));
		ret = read_mode(path, &cur);
		if (ret < 0)
			break;
		u[i].old = cur;
		if (cur == t->mode)
			continue;
		ret = write_mode(path, t->mode);
		u[i].changed = !ret;
	}
	if (ret < 0) {
		rollback(u, i + (i < p->n), def_changed, old_def);
		lf_errmsg(p->file, "nothing applied", NULL,
			  "previous settings restored");
		free(u);
		return ret;
	}
	if (def_changed)
		printf("default: %s -> %s\n", lf_mode_name(old_def),
		       lf_mode_name(p->def));
	for (i = 0; i < p->n; i++)
		if (u[i].changed)
			printf("%s: %s -> %s\n", display(&p->t[i]),
			       lf_mode_name(u[i].old),
			       lf_mode_name(p->t[i].mode));
	free(u);
	return 0;
}

static int read_file(struct plan *p, const char *file, bool check)
{
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, ret;
	FILE *f;

	f = strcmp(file, "-") ? fopen(file, "re") : stdin;
	if (!f) {
		ret = -errno;
		lf_err(file, "cannot open", NULL, ret);
		return ret;
	}
	if (f == stdin)
		p->file = "<stdin>";
	while (getline(&line, &cap, f) >= 0)
		parse_line(p, line, ++lineno, check);
	if (ferror(f)) {
		lf_err(p->file, "read failed", NULL, EIO);
		p->errors++;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return 0;
}

/* --prune without a default line: the module's load-time default */
static int load_time_default(struct plan *p)
{
	int ret = read_mode(LF_PARAMS "/default_mode", &p->def);

	p->have_def = !ret;
	return ret;
}

int lf_cmd_apply_file(const char *file, bool prune, bool check_only)
{
	struct plan p = { .file = file };
	struct lf_entry *e = NULL;
	size_t i, ne = 0;
	int failed, ret;

	ret = read_file(&p, file, check_only);
	if (ret < 0)
		return ret;
	if (!p.errors && check_only) {
		printf("%s: %zu cgroup line%s%s, syntax ok\n", p.file,
		       p.nstmts, p.nstmts == 1 ? "" : "s",
		       p.default_line ? " and a default" : "");
		goto out;
	}
	if (!check_only)
		resolve_patterns(&p);
	ret = p.errors ? -EINVAL : 0;
	if (!ret && prune && !p.have_def)
		ret = load_time_default(&p);
	if (!ret && prune) {
		ret = lf_read_entries(&e, &ne, &failed);
		if (!ret && failed)
			ret = -EIO;
		if (!ret)
			ret = add_prune(&p, e, ne);
		free(e);
	}
	if (!ret)
		ret = execute(&p);
out:
	if (p.errors) {
		char count[32];

		snprintf(count, sizeof(count), "%d error%s", p.errors,
			 p.errors == 1 ? "" : "s");
		lf_errmsg(p.file, check_only ? "invalid" : "nothing applied",
			  NULL, count);
		ret = -EINVAL;
	}
	for (i = 0; i < p.nstmts; i++)
		free(p.stmts[i].arg);
	free(p.stmts);
	free(p.t);
	return ret;
}
