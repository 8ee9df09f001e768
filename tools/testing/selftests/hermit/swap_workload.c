// SPDX-License-Identifier: GPL-2.0
/*
 * swap_workload: touch a working set larger than the memory cgroup allows,
 * so that most of it goes through swap, and verify every page on its way
 * back.
 *
 * Each page holds pseudo-random data derived from (seed, page, generation);
 * a per-page checksum is kept in a separate array. Every pass visits all
 * pages (in order or in a random permutation), checks the checksum of what
 * it finds against what it last wrote, and rewrites the page with the next
 * generation, so a stale copy coming back from swap is caught as well as a
 * corrupted one.
 *
 * Usage: swap_workload [-s MiB] [-p passes] [-t threads] [-o seq|rand|mixed]
 *                      [-S seed]
 * Prints one summary line; exits 0 only when every page verified.
 */

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE	4096UL
#define WORDS	(PAGE / sizeof(uint64_t))

enum order { ORDER_SEQ, ORDER_RAND, ORDER_MIXED };

struct worker {
	pthread_t thread;
	unsigned long first, count;	/* pages of this worker */
	unsigned long bad, checked;
};

static unsigned char *area;
static uint64_t *sums;
static uint32_t *gens;
static unsigned long nr_pages;
static int passes = 2;
static enum order order = ORDER_MIXED;
static uint64_t seed = 1;

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t page_sum(const uint64_t *w)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	unsigned long i;

	for (i = 0; i < WORDS; i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h;
}

static void fill_page(unsigned long pg, uint32_t gen)
{
	uint64_t *w = (uint64_t *)(area + pg * PAGE);
	uint64_t x = seed ^ (pg << 20) ^ ((uint64_t)gen << 52);
	unsigned long i;

	for (i = 0; i < WORDS; i++)
		w[i] = splitmix(&x);
	w[0] = pg;	/* where it belongs, for the error message */
	sums[pg] = page_sum(w);
	gens[pg] = gen;
}

static int check_page(unsigned long pg)
{
	const uint64_t *w = (const uint64_t *)(area + pg * PAGE);

	if (page_sum(w) == sums[pg])
		return 0;
	fprintf(stderr, "page %lu: checksum mismatch (generation %u, first word %#llx)\n",
		pg, gens[pg], (unsigned long long)w[0]);
	return 1;
}

static void *work(void *arg)
{
	struct worker *wk = arg;
	unsigned long *perm, i, j, t;
	uint64_t x = seed ^ wk->first;
	int p;

	perm = malloc(wk->count * sizeof(*perm));
	if (!perm) {
		perror("malloc");
		exit(2);
	}
	for (i = 0; i < wk->count; i++) {
		perm[i] = wk->first + i;
		fill_page(perm[i], 0);
	}
	for (p = 1; p <= passes; p++) {
		int rnd = order == ORDER_RAND || (order == ORDER_MIXED && (p & 1) == 0);

		if (rnd) {
			for (i = wk->count - 1; i > 0; i--) {
				j = splitmix(&x) % (i + 1);
				t = perm[i];
				perm[i] = perm[j];
				perm[j] = t;
			}
		} else {
			for (i = 0; i < wk->count; i++)
				perm[i] = wk->first + i;
		}
		for (i = 0; i < wk->count; i++) {
			wk->bad += check_page(perm[i]);
			wk->checked++;
			fill_page(perm[i], p);
		}
	}
	for (i = 0; i < wk->count; i++) {
		wk->bad += check_page(wk->first + i);
		wk->checked++;
	}
	free(perm);
	return NULL;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-s MiB] [-p passes] [-t threads] [-o seq|rand|mixed] [-S seed]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long mib = 64, bad = 0, checked = 0, per;
	struct timespec t0, t1;
	struct worker *wk;
	int threads = 1, c;

	while ((c = getopt(argc, argv, "s:p:t:o:S:")) != -1) {
		switch (c) {
		case 's':
			mib = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			passes = atoi(optarg);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'o':
			if (!strcmp(optarg, "seq"))
				order = ORDER_SEQ;
			else if (!strcmp(optarg, "rand"))
				order = ORDER_RAND;
			else if (!strcmp(optarg, "mixed"))
				order = ORDER_MIXED;
			else
				usage(argv[0]);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!mib || passes < 0 || threads < 1 || threads > 256)
		usage(argv[0]);

	nr_pages = mib * (1024 * 1024 / PAGE);
	area = mmap(NULL, nr_pages * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sums = calloc(nr_pages, sizeof(*sums));
	gens = calloc(nr_pages, sizeof(*gens));
	wk = calloc(threads, sizeof(*wk));
	if (area == MAP_FAILED || !sums || !gens || !wk) {
		fprintf(stderr, "cannot allocate %lu MiB: %s\n", mib, strerror(errno));
		return 2;
	}
	/* Keep THP out: the test is about 4 KiB pages going through swap. */
	madvise(area, nr_pages * PAGE, MADV_NOHUGEPAGE);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	per = (nr_pages + threads - 1) / threads;
	for (c = 0; c < threads; c++) {
		wk[c].first = c * per;
		wk[c].count = wk[c].first >= nr_pages ? 0 :
			(nr_pages - wk[c].first < per ? nr_pages - wk[c].first : per);
		if (wk[c].count && pthread_create(&wk[c].thread, NULL, work, &wk[c])) {
			perror("pthread_create");
			return 2;
		}
	}
	for (c = 0; c < threads; c++) {
		if (wk[c].count)
			pthread_join(wk[c].thread, NULL);
		bad += wk[c].bad;
		checked += wk[c].checked;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("swap_workload: %lu MiB, %d threads, %d passes: %lu pages checked, %lu bad, %.1f s\n",
	       mib, threads, passes, checked, bad,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return bad ? 1 : 0;
}
