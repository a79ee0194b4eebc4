/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A BPF program that counts the calls of one kernel function, loaded with
 * bpf(2) directly: no libbpf, no clang, nothing to install in the guest.
 *
 *   LF_BPF_KPROBE  a kprobe program on a perf kprobe event (4.17+)
 *   LF_BPF_FENTRY  a tracing program at the function's entry (5.5+)
 *   LF_BPF_FEXIT   a tracing program at its return (5.5+): the kernel's
 *                  BPF trampoline then calls the function itself
 *
 * The tracing programs find the function in the kernel's BTF
 * (/sys/kernel/btf/vmlinux).
 */
#ifndef LF_BPF_H
#define LF_BPF_H

#include <stdint.h>

enum lf_bpf_kind {
	LF_BPF_KPROBE,
	LF_BPF_FENTRY,
	LF_BPF_FEXIT,
};

struct lf_bpf {
	int map_fd;	/* one u64: the count */
	int prog_fd;
	int link_fd;	/* the perf event or the raw tracepoint link */
	char log[512];	/* what failed, with the verifier's last words */
};

/*
 * Load and attach; 0, or -errno with b->log saying which step failed.
 * On failure nothing stays attached or open.
 */
int lf_bpf_attach(struct lf_bpf *b, enum lf_bpf_kind kind, const char *func);
/* The count so far, or -1. */
int64_t lf_bpf_count(const struct lf_bpf *b);
/* Detach and close; safe on a failed or detached one. */
void lf_bpf_detach(struct lf_bpf *b);

#endif
