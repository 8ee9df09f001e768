// SPDX-License-Identifier: GPL-2.0
/*
 * fault_bench: major-fault latency of swap-in.
 *
 * Fills MiB of anonymous memory (run it in a memory cgroup smaller than
 * that, so most pages are swapped out), then reads one byte of each page
 * in a random order (or sequentially, or with a stride of 8 pages: every
 * 8th page, then every 8th from the second, and so on) and times every
 * access that took a major fault.
 *   fault_bench [MiB [rand|seq|stride [fill]]]
 * With "fill", it stops after the fill (to profile the swap-out alone).
 * Prints: faults, mean, median, p99 (microseconds), and the MiB/s of the
 * fill (bound by swap-out) and of the read pass (bound by swap-in), and
 * where the machine's CPU time went during the fill (fill_*_pct: user,
 * system, softirq, iowait and idle, in % of all CPUs; soft-RoCE runs in
 * softirq and work items, which count as system).
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
#define STRIDE	8

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

/* The "cpu" line of /proc/stat: user nice system idle iowait irq softirq. */
struct cpu_times {
	unsigned long long t[7];
};

static void cpu_times(struct cpu_times *c)
{
	FILE *f = fopen("/proc/stat", "r");

	memset(c, 0, sizeof(*c));
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &c->t[0], &c->t[1],
		   &c->t[2], &c->t[3], &c->t[4], &c->t[5], &c->t[6]) != 7)
		memset(c, 0, sizeof(*c));
	fclose(f);
}

static void print_split(const char *phase, const struct cpu_times *a,
			const struct cpu_times *b)
{
	static const char * const name[] = { "user", NULL, "sys", "idle",
					     "iowait", NULL, "softirq" };
	unsigned long long d[7], all = 0;
	int i;

	for (i = 0; i < 7; i++) {
		d[i] = b->t[i] - a->t[i];
		all += d[i];
	}
	d[0] += d[1];	/* nice */
	d[2] += d[5];	/* hard irq */
	for (i = 0; i < 7; i++) {
		if (name[i])
			printf(" %s_%s_pct %.0f", phase, name[i],
			       all ? 100.0 * d[i] / all : 0.0);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	const char *order = argc > 2 ? argv[2] : "rand";
	unsigned long n = mib * (1024 * 1024 / PAGE), i, j, t, nf = 0;
	unsigned long *perm = malloc(n * sizeof(*perm));
	double *lat = malloc(n * sizeof(*lat)), sum = 0, t0, fill, reads;
	struct cpu_times c0, c1;
	unsigned char *p;
	uint64_t x = 88172645463325252ULL;
	long f0;

	if (strcmp(order, "seq") && strcmp(order, "rand") && strcmp(order, "stride")) {
		fprintf(stderr, "order must be rand, seq or stride\n");
		return 2;
	}
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || !perm || !lat) {
		perror("alloc");
		return 2;
	}
	madvise((void *)p, n * PAGE, MADV_NOHUGEPAGE);
	cpu_times(&c0);
	fill = now_us();
	for (i = 0; i < n; i++) {
		memset((void *)(p + i * PAGE), (int)(i * 7 + 1), PAGE);
		perm[i] = i;
	}
	fill = now_us() - fill;
	cpu_times(&c1);
	if (argc > 3 && !strcmp(argv[3], "fill")) {
		printf("fill_mibps %.2f", mib / (fill / 1e6));
		print_split("fill", &c0, &c1);
		printf("\n");
		return 0;
	}
	if (!strcmp(order, "stride")) {
		for (i = 0, t = 0; t < STRIDE; t++)
			for (j = t; j < n; j += STRIDE)
				perm[i++] = j;
	}
	for (i = n - 1; i > 0 && !strcmp(order, "rand"); i--) {
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
	printf(" fill_mibps %.2f read_mibps %.2f",
	       mib / (fill / 1e6), mib / (reads / 1e6));
	print_split("fill", &c0, &c1);
	printf("\n");
	return 0;
}
