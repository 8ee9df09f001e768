// SPDX-License-Identifier: GPL-2.0
/*
 * fault_bench: major-fault latency of swap-in.
 *
 * Fills -s MiB of anonymous memory (run it in a memory cgroup smaller than
 * that, so most pages are swapped out), then reads one byte of each page
 * in a random order and times every access that took a major fault.
 * Prints: faults, mean, median, p99 (microseconds), and the MiB/s of the
 * fill (bound by swap-out) and of the read pass (bound by swap-in).
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define PAGE	4096UL

static long majflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_majflt;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	unsigned long n = mib * (1024 * 1024 / PAGE), i, j, t, nf = 0;
	unsigned long *perm = malloc(n * sizeof(*perm));
	double *lat = malloc(n * sizeof(*lat)), sum = 0, t0, fill, reads;
	unsigned char *p;
	uint64_t x = 88172645463325252ULL;
	long f0;

	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || !perm || !lat) {
		perror("alloc");
		return 2;
	}
	madvise((void *)p, n * PAGE, MADV_NOHUGEPAGE);
	fill = now_us();
	for (i = 0; i < n; i++) {
		memset((void *)(p + i * PAGE), (int)(i * 7 + 1), PAGE);
		perm[i] = i;
	}
	fill = now_us() - fill;
	for (i = n - 1; i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = x % (i + 1);
		t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	reads = now_us();
	for (i = 0; i < n; i++) {
		f0 = majflt();
		t0 = now_us();
		/* An atomic load: the compiler must really touch the page. */
		if (__atomic_load_n(&p[perm[i] * PAGE + 100], __ATOMIC_RELAXED) !=
		    (unsigned char)(perm[i] * 7 + 1)) {
			fprintf(stderr, "page %lu: wrong data\n", perm[i]);
			return 1;
		}
		t0 = now_us() - t0;
		if (majflt() != f0) {
			lat[nf++] = t0;
			sum += t0;
		}
	}
	reads = now_us() - reads;
	if (!nf) {
		printf("faults 0\n");
		return 0;
	}
	qsort(lat, nf, sizeof(*lat), cmp);
	/* Fill: swap-out bound; reads: swap-in bound (MiB/s of the whole set). */
	printf("faults %lu mean_us %.1f median_us %.1f p99_us %.1f",
	       nf, sum / nf, lat[nf / 2], lat[nf * 99 / 100]);
	printf(" fill_mibps %.2f read_mibps %.2f\n",
	       mib / (fill / 1e6), mib / (reads / 1e6));
	return 0;
}
