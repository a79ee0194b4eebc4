// SPDX-License-Identifier: GPL-2.0
/*
 * A counting BPF program on one kernel function, by bpf(2)
 * (see lf_bpf.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lf_bpf.h"
#include "lf_util.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define BTF_VMLINUX	"/sys/kernel/btf/vmlinux"
#define KPROBE_PMU_TYPE	"/sys/bus/event_source/devices/kprobe/type"

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static void lf_bpf_log(struct lf_bpf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void lf_bpf_log(struct lf_bpf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->log, sizeof(b->log), fmt, ap);
	va_end(ap);
}

/* Bytes after struct btf_type for a type of this kind, or -1. */
static long btf_extra(const struct btf_type *t)
{
	unsigned int vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case 1:				/* INT */
	case 14:			/* VAR */
	case 17:			/* DECL_TAG */
		return 4;
	case 3:				/* ARRAY */
		return 12;
	case 4:				/* STRUCT */
	case 5:				/* UNION */
	case 15:			/* DATASEC */
	case 19:			/* ENUM64 */
		return 12L * vlen;
	case 6:				/* ENUM */
	case 13:			/* FUNC_PROTO */
		return 8L * vlen;
	case 2: case 7: case 8: case 9: case 10: case 11: case 12:
	case 16: case 18:		/* no data of their own */
		return 0;
	}
	return -1;
}

/* The BTF id of the function @name in the kernel's BTF; -errno if none. */
static long btf_func_id(const char *name)
{
	const struct btf_header *h;
	const char *strs, *p, *end;
	long id = -ENOENT, n = 0;
	size_t size = 0, cap = 1 << 20;
	char *buf = malloc(cap);
	ssize_t got;
	int fd;

	fd = open(BTF_VMLINUX, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !buf) {
		id = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	while ((got = read(fd, buf + size, cap - size)) > 0) {
		size += got;
		if (size == cap) {
			char *nbuf = realloc(buf, cap *= 2);

			if (!nbuf) {
				id = -ENOMEM;
				goto out;
			}
			buf = nbuf;
		}
	}
	h = (const void *)buf;
	if (size < sizeof(*h) || h->magic != BTF_MAGIC ||
	    (size_t)h->hdr_len + h->str_off + h->str_len > size ||
	    (size_t)h->hdr_len + h->type_off + h->type_len > size) {
		id = -EINVAL;
		goto out;
	}
	strs = buf + h->hdr_len + h->str_off;
	p = buf + h->hdr_len + h->type_off;
	end = p + h->type_len;
	while (p + sizeof(struct btf_type) <= end) {
		const struct btf_type *t = (const void *)p;
		long extra = btf_extra(t);

		n++;
		if (extra < 0) {
			id = -EPROTO;	/* a kind newer than this parser */
			break;
		}
		if (BTF_INFO_KIND(t->info) == BTF_KIND_FUNC &&
		    t->name_off < h->str_len && !strcmp(strs + t->name_off, name)) {
			id = n;
			break;
		}
		p += sizeof(*t) + extra;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return id;
}

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
			    .off = (o), .imm = (i) })

/* u32 key = 0; u64 *v = bpf_map_lookup_elem(map, &key); if (v) (*v)++ */
static int lf_bpf_load(struct lf_bpf *b, enum lf_bpf_kind kind, long btf_id)
{
	struct bpf_insn insns[] = {
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4),
		INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD,
		     0, b->map_fd),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 1),
		INSN(BPF_STX | BPF_XADD | BPF_DW, BPF_REG_0, BPF_REG_1, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	static char vlog[4096];
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = ARRAY_SIZE(insns);
	attr.license = (uintptr_t)"GPL";
	attr.log_buf = (uintptr_t)vlog;
	attr.log_size = sizeof(vlog);
	attr.log_level = 1;
	if (kind == LF_BPF_KPROBE) {
		attr.prog_type = BPF_PROG_TYPE_KPROBE;
	} else {
		attr.prog_type = BPF_PROG_TYPE_TRACING;
		attr.expected_attach_type = kind == LF_BPF_FENTRY ?
					    BPF_TRACE_FENTRY : BPF_TRACE_FEXIT;
		attr.attach_btf_id = btf_id;
	}
	vlog[0] = '\0';
	b->prog_fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (b->prog_fd < 0) {
		int err = errno;
		size_t len = strlen(vlog);

		/* the verifier's last line says why */
		while (len && vlog[len - 1] == '\n')
			vlog[--len] = '\0';
		lf_bpf_log(b, "BPF_PROG_LOAD: %s; verifier: %s", strerror(err),
			   strrchr(vlog, '\n') ? strrchr(vlog, '\n') + 1 : vlog);
		return -err;
	}
	return 0;
}

/* A perf kprobe event on @func, the program attached and enabled. */
static int lf_bpf_kprobe_link(struct lf_bpf *b, const char *func)
{
	struct perf_event_attr pe;
	char type[16];
	int err;

	err = lf_read_file(KPROBE_PMU_TYPE, type, sizeof(type));
	if (err) {
		lf_bpf_log(b, "%s: %s", KPROBE_PMU_TYPE, strerror(-err));
		return err;
	}
	memset(&pe, 0, sizeof(pe));
	pe.size = sizeof(pe);
	pe.type = strtoul(type, NULL, 10);
	pe.config1 = (uintptr_t)func;	/* kprobe_func */
	b->link_fd = syscall(__NR_perf_event_open, &pe, -1, 0, -1,
			     PERF_FLAG_FD_CLOEXEC);
	if (b->link_fd < 0) {
		err = -errno;
		lf_bpf_log(b, "perf_event_open(kprobe %s): %s", func, strerror(-err));
		return err;
	}
	if (ioctl(b->link_fd, PERF_EVENT_IOC_SET_BPF, b->prog_fd) ||
	    ioctl(b->link_fd, PERF_EVENT_IOC_ENABLE, 0)) {
		err = -errno;
		lf_bpf_log(b, "attaching to the kprobe event on %s: %s", func,
			   strerror(-err));
		return err;
	}
	return 0;
}

int lf_bpf_attach(struct lf_bpf *b, enum lf_bpf_kind kind, const char *func)
{
	union bpf_attr attr;
	long btf_id = 0;
	int err;

	memset(b, 0, sizeof(*b));
	b->map_fd = b->prog_fd = b->link_fd = -1;
	if (kind != LF_BPF_KPROBE) {
		btf_id = btf_func_id(func);
		if (btf_id < 0) {
			lf_bpf_log(b, "%s in %s: %s", func, BTF_VMLINUX,
				   strerror(-btf_id));
			return btf_id;
		}
	}
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = sizeof(uint32_t);
	attr.value_size = sizeof(uint64_t);
	attr.max_entries = 1;
	b->map_fd = sys_bpf(BPF_MAP_CREATE, &attr);
	if (b->map_fd < 0) {
		err = -errno;
		lf_bpf_log(b, "BPF_MAP_CREATE: %s", strerror(-err));
		goto fail;
	}
	err = lf_bpf_load(b, kind, btf_id);
	if (err)
		goto fail;
	if (kind == LF_BPF_KPROBE) {
		err = lf_bpf_kprobe_link(b, func);
		if (err)
			goto fail;
		return 0;
	}
	memset(&attr, 0, sizeof(attr));
	attr.raw_tracepoint.prog_fd = b->prog_fd;
	b->link_fd = sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &attr);
	if (b->link_fd < 0) {
		err = -errno;
		lf_bpf_log(b, "attaching the %s program to %s: %s",
			   kind == LF_BPF_FENTRY ? "fentry" : "fexit", func,
			   strerror(-err));
		goto fail;
	}
	return 0;
fail:
	lf_bpf_detach(b);
	return err;
}

int64_t lf_bpf_count(const struct lf_bpf *b)
{
	uint32_t key = 0;
	uint64_t val = 0;
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = b->map_fd;
	attr.key = (uintptr_t)&key;
	attr.value = (uintptr_t)&val;
	if (b->map_fd < 0 || sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr))
		return -1;
	return val;
}

void lf_bpf_detach(struct lf_bpf *b)
{
	if (b->link_fd >= 0)
		close(b->link_fd);
	if (b->prog_fd >= 0)
		close(b->prog_fd);
	if (b->map_fd >= 0)
		close(b->map_fd);
	b->map_fd = b->prog_fd = b->link_fd = -1;
}
