// SPDX-License-Identifier: GPL-2.0
/*
 * lfprobe: is MADV_FREE rewritten in this cgroup?  Writes 16 private
 * anonymous pages, advises MADV_FREE on them and reads them back at once:
 * "kept" (every byte still there, the kernel's lazy free), "zeroed" (every
 * page reads zero, lazyfree in dontneed mode), or "mixed".
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_FREE
#define MADV_FREE 8
#endif

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t len = 16 * pg, i, kept = 0, zero = 0;
	unsigned char *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(p, 0xa5, len);
	if (madvise(p, len, MADV_FREE)) {
		perror("madvise(MADV_FREE)");
		return 1;
	}
	for (i = 0; i < len; i++) {
		if (p[i] == 0xa5)
			kept++;
		else if (p[i] == 0)
			zero++;
	}
	if (kept == len)
		puts("kept");
	else if (zero == len)
		puts("zeroed");
	else
		printf("mixed kept=%zu zero=%zu of %zu\n", kept, zero, len);
	return 0;
}
