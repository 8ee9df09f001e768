// SPDX-License-Identifier: GPL-2.0
/*
 * No tier keeps an old copy of a slot that Hermit now holds.
 *
 * A page refused by Hermit (disabled here) goes to zswap. If it is mapped
 * again straight from the swap cache (no swap-in, so zswap keeps its
 * entry), written and swapped out again with Hermit on, Hermit takes the
 * slot; zswap's copy of the old data must go at that moment, or zswap
 * writeback could later put it back in the swap cache.
 *
 * Phase 1: with Hermit off, each page is pushed out with MADV_PAGEOUT while
 * a second thread keeps reading it, so that it faults the page back from
 * the swap cache before reclaim can free it. zswap's stored_pages grows by
 * the number of pages that were remapped that way (the others were read
 * back from zswap, which drops the entry). Phase 2: every page is written
 * (new content), Hermit is turned on and every page is pushed out again;
 * Hermit must hold all of them and zswap none. Then every page is checked.
 *
 * Usage: zswap_stale [PAGES]   (run as root; zswap enabled, a swap area on,
 *                               Hermit's backend selected)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE		4096UL
#define ZSWAP_STORED	"/sys/kernel/debug/zswap/stored_pages"
#define HERMIT		"/sys/kernel/debug/hermit/"

static char *mem;
static atomic_long target = -1;
static atomic_int stop;
static atomic_ulong sink;

static long read_num(const char *path)
{
	FILE *f = fopen(path, "r");
	long v;

	if (!f || fscanf(f, "%ld", &v) != 1) {
		fprintf(stderr, "FAIL: cannot read %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fclose(f);
	return v;
}

static void write_str(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(s, f) < 0 || fclose(f)) {
		fprintf(stderr, "FAIL: cannot write %s to %s\n", s, path);
		exit(1);
	}
}

/*
 * Word j of page i in a version: not zero-filled (the zeromap would take
 * the page), unique per page and version, and compressible (zswap rejects
 * what does not compress).
 */
static uint64_t word(long i, unsigned long j, uint64_t version)
{
	uint64_t v = (version << 48) ^ ((uint64_t)i << 20);

	return j < 16 ? v ^ (j * 0x9e3779b97f4a7c15ULL) : v | (j & 7);
}

static void fill(long i, uint64_t version)
{
	uint64_t *w = (uint64_t *)(mem + i * PAGE);
	unsigned long j;

	for (j = 0; j < PAGE / sizeof(*w); j++)
		w[j] = word(i, j, version);
}

static int check(long i, uint64_t version)
{
	uint64_t *w = (uint64_t *)(mem + i * PAGE);
	unsigned long j;

	for (j = 0; j < PAGE / sizeof(*w); j++)
		if (w[j] != word(i, j, version))
			return 0;
	return 1;
}

static long vmstat_read(const char *name)
{
	FILE *f = fopen("/proc/vmstat", "r");
	char key[64];
	long v, found = -1;

	while (f && fscanf(f, "%63s %ld", key, &v) == 2)
		if (!strcmp(key, name))
			found = v;
	if (f)
		fclose(f);
	return found;
}

/* Read a word of page @t (the read must happen: it is what faults). */
static void touch(long t)
{
	uint64_t v = __atomic_load_n((uint64_t *)(mem + t * PAGE + 8),
				     __ATOMIC_RELAXED);

	atomic_fetch_add_explicit(&sink, v, memory_order_relaxed);
}

static void *toucher(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		long t = atomic_load(&target);

		if (t >= 0)
			touch(t);
	}
	return NULL;
}

static void pageout(long i)
{
	if (madvise(mem + i * PAGE, PAGE, MADV_PAGEOUT)) {
		perror("FAIL: MADV_PAGEOUT");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 256, i, bad = 0, remapped = 0;
	long z0, z1, z2, s0, s1, r0, round, zo0, zi0, d0;
	pthread_t thr;

	mem = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("FAIL: mmap");
		return 1;
	}
	madvise(mem, n * PAGE, MADV_NOHUGEPAGE);
	write_str(HERMIT "enabled", "0");
	for (i = 0; i < n; i++)
		fill(i, 1);
	z0 = read_num(ZSWAP_STORED);
	zo0 = vmstat_read("zswpout");
	zi0 = vmstat_read("zswpin");
	d0 = vmstat_read("pswpout");

	if (pthread_create(&thr, NULL, toucher, NULL)) {
		fprintf(stderr, "FAIL: pthread_create\n");
		return 1;
	}
	/* Phase 1: Hermit off, pages to zswap, remapped from the swap cache. */
	for (round = 0; round < 5 && !remapped; round++) {
		for (i = 0; i < n; i++) {
			atomic_store(&target, i);
			pageout(i);
			usleep(200);
		}
		atomic_store(&target, -1);
		remapped = read_num(ZSWAP_STORED) - z0;
	}
	atomic_store(&stop, 1);
	pthread_join(thr, NULL);
	z1 = read_num(ZSWAP_STORED);
	printf("phase 1: %ld of %ld pages remapped with a zswap copy (%d rounds)\n",
	       z1 - z0, n, (int)round);
	printf("phase 1: zswpout %ld zswpin %ld pswpout %ld\n",
	       vmstat_read("zswpout") - zo0,
	       vmstat_read("zswpin") - zi0, vmstat_read("pswpout") - d0);
	if (z1 - z0 <= 0) {
		printf("FAIL: no page was remapped from the swap cache: the case is not reached\n");
		return 1;
	}

	/* Phase 2: new content, Hermit on, everything out again. */
	for (i = 0; i < n; i++)
		fill(i, 2);
	s0 = read_num(HERMIT "stored");
	r0 = vmstat_read("hermit_swpout_refused");
	zo0 = vmstat_read("zswpout");
	write_str(HERMIT "enabled", "1");
	/*
	 * MADV_PAGEOUT skips a page off the LRU: one the toucher faulted last
	 * may wait in the other CPU's activate batch, which only that CPU
	 * drains, and it may be idle now. drop_caches drains every CPU's.
	 */
	for (round = 0; round < 10; round++) {
		for (i = 0; i < n; i++)
			pageout(i);
		if (read_num(HERMIT "stored") - s0 >= n)
			break;
		write_str("/proc/sys/vm/drop_caches", "1");
		usleep(100 * 1000);
	}
	s1 = read_num(HERMIT "stored");
	z2 = read_num(ZSWAP_STORED);
	write_str(HERMIT "enabled", "0");
	printf("phase 2: Hermit stored %ld pages; zswap holds %ld of them (%d rounds)\n",
	       s1 - s0, z2 - z0, (int)round + (round < 10));

	for (i = 0; i < n; i++)
		bad += !check(i, 2);
	printf("verify: %ld of %ld pages wrong\n", bad, n);
	if (s1 - s0 < n) {
		/* Refused pages went to zswap; the others were not pushed out. */
		printf("phase 2: Hermit refused %ld pages, zswpout %ld\n",
		       vmstat_read("hermit_swpout_refused") - r0,
		       vmstat_read("zswpout") - zo0);
		printf("FAIL: Hermit stored %ld pages, expected %ld\n", s1 - s0, n);
		return 1;
	}
	if (z2 != z0) {
		printf("FAIL: zswap kept %ld old copies of slots that Hermit holds\n", z2 - z0);
		return 1;
	}
	if (bad) {
		printf("FAIL: %ld pages wrong\n", bad);
		return 1;
	}
	printf("result: %ld stale zswap copies dropped by Hermit's stores, %ld pages verified\n",
	       z1 - z0, n);
	return 0;
}
