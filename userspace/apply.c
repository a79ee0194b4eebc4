// SPDX-License-Identifier: GPL-2.0
/*
 * lazyfreectl - declarative apply
 *
 * File format, one statement per line:
 *
 *	# comment (also after a statement, when '#' starts a word)
 *	default free|dontneed
 *	CGROUP free|dontneed|inherit
 *
 * Every line is checked before anything is written; any error is reported
 * as FILE:LINE and nothing changes. Writes happen only where the current
 * value differs, so applying twice changes nothing the second time. If the
 * kernel refuses a write half-way, what was already written is put back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazyfreectl.h"

struct stmt {
	int lineno;
	char *arg;
	struct lf_cgroup cg;
	enum lf_mode mode;
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
	size_t n, cap;
	int default_line;
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

static void parse_line(struct plan *p, char *line, int lineno)
{
	struct stmt *s;
	char *w[3];
	size_t i;
	int n = split(line, w, 3), ret;
	enum lf_mode mode;

	if (!n)
		return;
	if (n != 2) {
		line_err(p, lineno, "expected CGROUP MODE or default MODE",
			 w[0], strerror(EINVAL));
		return;
	}
	mode = lf_mode_parse(w[1]);
	if (!strcmp(w[0], "default")) {
		if (mode != LF_MODE_FREE && mode != LF_MODE_DONTNEED) {
			line_err(p, lineno, "unknown default mode", w[1],
				 "expected free or dontneed");
		} else if (p->default_line) {
			char prev[64];

			snprintf(prev, sizeof(prev),
				 "default already given on line %d",
				 p->default_line);
			line_err(p, lineno, prev, w[1], strerror(EINVAL));
		} else {
			p->default_line = lineno;
			p->def = mode;
		}
		return;
	}
	if (mode == LF_MODE_INVALID) {
		line_err(p, lineno, "unknown mode", w[1],
			 "expected free, dontneed or inherit");
		return;
	}
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 32;
		s = realloc(p->stmts, p->cap * sizeof(*s));
		if (!s) {
			line_err(p, lineno, "out of memory", NULL, NULL);
			return;
		}
		p->stmts = s;
	}
	s = &p->stmts[p->n];
	s->lineno = lineno;
	s->mode = mode;
	ret = lf_resolve(w[0], &s->cg, false);
	if (ret < 0) {
		line_err(p, lineno, "no such cgroup", w[0], strerror(-ret));
		return;
	}
	if (!s->cg.have_dir && !lf_is_tracked(s->cg.id)) {
		line_err(p, lineno, "no such cgroup", w[0], strerror(ENOENT));
		return;
	}
	for (i = 0; i < p->n; i++) {
		if (p->stmts[i].cg.id == s->cg.id) {
			char prev[32];

			snprintf(prev, sizeof(prev),
				 "cgroup already given on line %d",
				 p->stmts[i].lineno);
			line_err(p, lineno, prev, w[0], strerror(EINVAL));
			return;
		}
	}
	s->arg = strdup(w[0]);
	if (!s->arg) {
		line_err(p, lineno, "out of memory", NULL, NULL);
		return;
	}
	p->n++;
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

static const char *display(const struct stmt *s)
{
	return s->cg.have_dir ? s->cg.rel : s->arg;
}

static int add_prune(struct plan *p, struct lf_entry *e, size_t ne)
{
	size_t i, j;

	for (i = 0; i < ne; i++) {
		struct stmt *s;

		if (e[i].mode == LF_MODE_INHERIT)
			continue;
		for (j = 0; j < p->n; j++)
			if (p->stmts[j].cg.id == e[i].id)
				break;
		if (j < p->n)
			continue;
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 32;
			s = realloc(p->stmts, p->cap * sizeof(*s));
			if (!s)
				return -ENOMEM;
			p->stmts = s;
		}
		s = &p->stmts[p->n++];
		memset(s, 0, sizeof(*s));
		s->mode = LF_MODE_INHERIT;
		s->cg.id = e[i].id;
		s->cg.have_dir = true;
		snprintf(s->cg.rel, sizeof(s->cg.rel), "%s", e[i].path);
		s->arg = strdup(e[i].path);
		if (!s->arg)
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
	if (p->default_line) {
		ret = read_mode(LF_SYSFS "/default_mode", &old_def);
		if (!ret && old_def != p->def) {
			ret = write_mode(LF_SYSFS "/default_mode", p->def);
			def_changed = !ret;
		}
	}
	for (i = 0; !ret && i < p->n; i++) {
		struct stmt *s = &p->stmts[i];

		u[i].id = s->cg.id;
		ret = lf_track(s->cg.id, &u[i].added);
		if (ret < 0)
			break;
		mode_path(s->cg.id, path, sizeof(path));
		ret = read_mode(path, &cur);
		if (ret < 0)
			break;
		u[i].old = cur;
		if (cur == s->mode)
			continue;
		ret = write_mode(path, s->mode);
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
			printf("%s: %s -> %s\n", display(&p->stmts[i]),
			       lf_mode_name(u[i].old),
			       lf_mode_name(p->stmts[i].mode));
	free(u);
	return 0;
}

int lf_cmd_apply_file(const char *file, bool prune)
{
	struct plan p = { .file = file };
	struct lf_entry *e = NULL;
	char *line = NULL;
	size_t cap = 0, i, ne = 0;
	int lineno = 0, failed, ret;
	FILE *f;

	f = strcmp(file, "-") ? fopen(file, "re") : stdin;
	if (!f) {
		ret = -errno;
		lf_err(file, "cannot open", NULL, ret);
		return ret;
	}
	if (f == stdin)
		p.file = "<stdin>";
	while (getline(&line, &cap, f) >= 0)
		parse_line(&p, line, ++lineno);
	if (ferror(f)) {
		lf_err(p.file, "read failed", NULL, EIO);
		p.errors++;
	}
	free(line);
	if (f != stdin)
		fclose(f);

	ret = p.errors ? -EINVAL : 0;
	if (!ret && prune) {
		ret = lf_read_entries(&e, &ne, &failed);
		if (!ret && failed)
			ret = -EIO;
		if (!ret)
			ret = add_prune(&p, e, ne);
		free(e);
	}
	if (!ret) {
		ret = execute(&p);
	} else if (p.errors) {
		char count[32];

		snprintf(count, sizeof(count), "%d error%s", p.errors,
			 p.errors == 1 ? "" : "s");
		lf_errmsg(p.file, "nothing applied", NULL, count);
	}
	for (i = 0; i < p.n; i++)
		free(p.stmts[i].arg);
	free(p.stmts);
	return ret;
}
