// SPDX-License-Identifier: GPL-2.0
/*
 * lazyfreectl - Prometheus text exposition (format 0.0.4)
 *
 * Written for node_exporter's textfile collector: HELP and TYPE before each
 * family, one sample per line, label values escaped (backslash, quote, newline).
 * Node-wide counters come from /sys/kernel/lazyfree/{free,rewritten}_bytes,
 * per-cgroup ones from cgroups/<id>/; the cgroup label is the path inside
 * the hierarchy, as in the module's path file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazyfreectl.h"

static void print_label_value(const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		default:
			putchar(*s);
		}
	}
}

static void family(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * While a removed cgroup's directory is still listed (up to ~2 s) a new
 * cgroup of the same path may already be tracked; keep one sample per path
 * (the live one, i.e. the one the read entries sort last: the newest id).
 */
static bool shadowed(const struct lf_entry *e, size_t n, size_t i)
{
	return i + 1 < n && !strcmp(e[i].path, e[i + 1].path);
}

/* @field: offsetof(struct lf_entry, <a uint64_t counter>) */
static void per_cgroup(const char *name, const struct lf_entry *e, size_t n,
		       size_t field)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (shadowed(e, n, i))
			continue;
		printf("%s{cgroup=\"", name);
		print_label_value(e[i].path);
		printf("\"} %llu\n", (unsigned long long)
		       *(const uint64_t *)((const char *)&e[i] + field));
	}
}

int lf_cmd_metrics_print(void)
{
	static const char * const attrs[] = { "enabled", "free_bytes",
					      "rewritten_bytes", "pinned_bytes" };
	char path[LF_PATH_MAX], def[64], hier[64];
	uint64_t v[ARRAY_SIZE(attrs)];
	struct lf_entry *e;
	size_t n, i;
	int failed, ret;

	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		snprintf(path, sizeof(path), LF_SYSFS "/%s", attrs[i]);
		ret = lf_read_u64(path, &v[i]);
		if (ret < 0) {
			lf_err(path, "read failed", NULL, ret);
			return ret;
		}
	}
	ret = lf_read_attr(LF_SYSFS "/default_mode", def, sizeof(def));
	if (ret < 0) {
		lf_err(LF_SYSFS "/default_mode", "read failed", NULL, ret);
		return ret;
	}
	ret = lf_read_attr(LF_SYSFS "/hierarchy", hier, sizeof(hier));
	if (ret < 0) {
		lf_err(LF_SYSFS "/hierarchy", "read failed", NULL, ret);
		return ret;
	}
	ret = lf_read_entries(&e, &n, &failed);
	if (ret < 0)
		return ret;

	family("lazyfree_enabled", "gauge",
	       "1 if lazyfree acts on MADV_FREE calls, 0 if its probes are off.");
	printf("lazyfree_enabled %llu\n", (unsigned long long)v[0]);
	family("lazyfree_info", "gauge",
	       "Constant 1; labels give the default mode and cgroup hierarchy.");
	printf("lazyfree_info{default_mode=\"");
	print_label_value(def);
	printf("\",hierarchy=\"");
	print_label_value(hier);
	printf("\"} 1\n");
	family("lazyfree_cgroups", "gauge", "Cgroups tracked by the module.");
	printf("lazyfree_cgroups %zu\n", n);
	family("lazyfree_node_freed_bytes_total", "counter",
	       "Bytes of private anonymous memory advised MADV_FREE on this node since the module was loaded.");
	printf("lazyfree_node_freed_bytes_total %llu\n",
	       (unsigned long long)v[1]);
	family("lazyfree_node_rewritten_bytes_total", "counter",
	       "Of those, bytes dropped at once because the mode was dontneed.");
	printf("lazyfree_node_rewritten_bytes_total %llu\n",
	       (unsigned long long)v[2]);
	family("lazyfree_node_pinned_bytes_total", "counter",
	       "Of those advised, bytes the mode dontneed left to MADV_FREE because the process pins pages.");
	printf("lazyfree_node_pinned_bytes_total %llu\n",
	       (unsigned long long)v[3]);
	family("lazyfree_freed_bytes_total", "counter",
	       "Bytes advised MADV_FREE by the cgroup's own processes (not its descendants').");
	per_cgroup("lazyfree_freed_bytes_total", e, n,
		   offsetof(struct lf_entry, freed));
	family("lazyfree_rewritten_bytes_total", "counter",
	       "Of those, bytes dropped at once because the cgroup's effective mode was dontneed.");
	per_cgroup("lazyfree_rewritten_bytes_total", e, n,
		   offsetof(struct lf_entry, rewritten));
	family("lazyfree_pinned_bytes_total", "counter",
	       "Of those advised, bytes the effective mode dontneed left to MADV_FREE because the process pins pages.");
	per_cgroup("lazyfree_pinned_bytes_total", e, n,
		   offsetof(struct lf_entry, pinned));
	family("lazyfree_cgroup_dontneed", "gauge",
	       "1 if the cgroup's effective mode is dontneed, 0 if free.");
	for (i = 0; i < n; i++) {
		if (shadowed(e, n, i))
			continue;
		printf("lazyfree_cgroup_dontneed{cgroup=\"");
		print_label_value(e[i].path);
		printf("\"} %d\n", e[i].effective == LF_MODE_DONTNEED);
	}
	free(e);
	if (fflush(stdout) || ferror(stdout)) {
		lf_err("stdout", "write failed", NULL, errno ? errno : EIO);
		return -EIO;
	}
	return failed ? -EIO : 0;
}
