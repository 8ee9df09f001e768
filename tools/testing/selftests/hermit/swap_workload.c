// SPDX-License-Identifier: GPL-2.0
/*
 * swap_workload: touch a working set larger than the memory cgroup allows,
 * so that most of it goes through swap, and verify every page on its way
 * back.
 *
 * Each page holds pseudo-random data derived from (seed, page, generation);
 * a per-page checksum is kept in a separate array. Every pass visits all
 * pages (in order or in a random permutation) with several threads, checks
 * the checksum of what it finds against what it last wrote, and rewrites the
 * page with the next generation, so a stale copy coming back from swap is
 * caught as well as a corrupted one.
 *
 * Options:
 *   -s MiB      anonymous memory (default 64)
 *   -m MiB      also a MAP_SHARED file of this size (shmem when on tmpfs)
 *   -F path     that file (default /dev/shm/swap_workload.<pid>)
 *   -p passes   passes after the first fill (default 2)
 *   -t threads  (default 1)
 *   -o order    seq, rand, mixed (alternating; default) or stride (every
 *               8th page, then every 8th from the next one, and so on)
 *   -f          fork after the fill: the child verifies the shared
 *               (copy-on-write, swapped) anonymous pages, rewrites half of
 *               them and verifies again, while the parent goes on
 *   -P dir      after the fill, create dir/ready and wait for dir/go
 *   -H          back the anonymous memory with THP where possible and push
 *               it out with MADV_PAGEOUT after every pass (large folios
 *               through swap, no cgroup needed)
 *   -W          push the anonymous memory out with MADV_PAGEOUT after every
 *               pass and ask for it back with MADV_WILLNEED before the next
 *               (4 KiB pages, no cgroup needed)
 *   -w N        compute on every page visited: N more hashes of its
 *               contents (an application's work between accesses)
 *   -S seed
 * SIGUSR1 ends the run early: no pass starts after it, the last one (which
 * only verifies) still runs, and the summary counts the passes made.
 * Prints one summary line; exits 0 only when every page verified.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define PAGE	4096UL
#define WORDS	(PAGE / sizeof(uint64_t))

enum order { ORDER_SEQ, ORDER_RAND, ORDER_MIXED, ORDER_STRIDE };

#define STRIDE	8

struct worker {
	pthread_t thread;
	unsigned long first, count;	/* pages of this worker */
	int pass;
	unsigned long bad, checked;
	uint64_t work;		/* result of the -w work */
};

static unsigned char *anon, *shared;
static unsigned long nr_anon, nr_pages;
static uint64_t *sums;
static uint32_t *gens;
static enum order order = ORDER_MIXED;
static uint64_t seed = 1;
static int pageout;
static int willneed;
static int compute;

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t *page_addr(unsigned long pg)
{
	if (pg < nr_anon)
		return (uint64_t *)(anon + pg * PAGE);
	return (uint64_t *)(shared + (pg - nr_anon) * PAGE);
}

static uint64_t page_sum(const uint64_t *w)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	unsigned long i;

	for (i = 0; i < WORDS; i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h;
}

/* The -w work: hashes the caller must use, so none is optimised away. */
static uint64_t page_work(unsigned long pg)
{
	const uint64_t *w = page_addr(pg);
	uint64_t h = 0;
	unsigned long i;
	int k;

	for (k = 0; k < compute; k++)
		for (i = 0; i < WORDS; i++)
			h = (h ^ w[i] ^ k) * 0x100000001b3ULL;
	return h;
}

static void fill_page(unsigned long pg, uint32_t gen)
{
	uint64_t *w = page_addr(pg);
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
	const uint64_t *w = page_addr(pg);

	if (page_sum(w) == sums[pg])
		return 0;
	fprintf(stderr, "page %lu (%s): checksum mismatch (generation %u, first word %#llx)\n",
		pg, pg < nr_anon ? "anon" : "shared", gens[pg],
		(unsigned long long)w[0]);
	return 1;
}

static void *work(void *arg)
{
	struct worker *wk = arg;
	unsigned long *perm, i, j, t;
	uint64_t x = seed ^ wk->first ^ ((uint64_t)wk->pass << 40);
	int rnd = order == ORDER_RAND || (order == ORDER_MIXED && (wk->pass & 1) == 0);

	if (!wk->count)
		return NULL;
	perm = malloc(wk->count * sizeof(*perm));
	if (!perm) {
		perror("malloc");
		exit(2);
	}
	for (i = 0; i < wk->count; i++)
		perm[i] = wk->first + i;
	if (order == ORDER_STRIDE) {
		for (i = 0, t = 0; t < STRIDE; t++)
			for (j = t; j < wk->count; j += STRIDE)
				perm[i++] = wk->first + j;
	}
	for (i = wk->count - 1; rnd && i > 0; i--) {
		j = splitmix(&x) % (i + 1);
		t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (i = 0; i < wk->count; i++) {
		if (wk->pass != 0) {
			wk->bad += check_page(perm[i]);
			wk->checked++;
		}
		if (compute)
			wk->work ^= page_work(perm[i]);
		if (wk->pass >= 0)
			fill_page(perm[i], wk->pass);
	}
	free(perm);
	return NULL;
}

/* Pass 0 fills, pass > 0 verifies and rewrites, pass -1 only verifies. */
static unsigned long run_pass(struct worker *wk, int threads, int pass,
			      unsigned long *checked)
{
	unsigned long per = (nr_pages + threads - 1) / threads, bad = 0;
	int c;

	if (willneed && pass != 0 && madvise(anon, nr_anon * PAGE, MADV_WILLNEED))
		perror("madvise(MADV_WILLNEED)");
	for (c = 0; c < threads; c++) {
		memset(&wk[c], 0, sizeof(wk[c]));
		wk[c].pass = pass;
		wk[c].first = c * per;
		if (wk[c].first < nr_pages)
			wk[c].count = nr_pages - wk[c].first < per ? nr_pages - wk[c].first : per;
		if (pthread_create(&wk[c].thread, NULL, work, &wk[c])) {
			perror("pthread_create");
			exit(2);
		}
	}
	for (c = 0; c < threads; c++) {
		pthread_join(wk[c].thread, NULL);
		bad += wk[c].bad;
		*checked += wk[c].checked;
	}
	if ((pageout || willneed) && pass >= 0 &&
	    madvise(anon, nr_anon * PAGE, MADV_PAGEOUT))
		perror("madvise(MADV_PAGEOUT)");
	return bad;
}

/* The forked child: the anonymous pages it shares copy-on-write. */
static int child(void)
{
	unsigned long pg, bad = 0;

	for (pg = 0; pg < nr_anon; pg++)
		bad += check_page(pg);
	for (pg = 0; pg < nr_anon; pg += 2)
		fill_page(pg, 1000);
	for (pg = 0; pg < nr_anon; pg++)
		bad += check_page(pg);
	if (bad)
		fprintf(stderr, "forked process: %lu bad pages\n", bad);
	return bad ? 1 : 0;
}

static void wait_for(const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/ready", dir);
	close(open(path, O_CREAT | O_WRONLY, 0644));
	snprintf(path, sizeof(path), "%s/go", dir);
	while (access(path, F_OK))
		usleep(100000);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"Usage: %s [-s MiB] [-m MiB] [-F file] [-p passes] [-t threads] [-o seq|rand|mixed|stride] [-f] [-P dir] [-H] [-W] [-w N] [-S seed]\n",
		prog);
	exit(2);
}

static volatile sig_atomic_t stop;

static void on_usr1(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	unsigned long mib = 64, shm_mib = 0, bad = 0, checked = 0;
	const char *pause_dir = NULL, *file = NULL;
	char file_buf[64];
	int threads = 1, passes = 2, do_fork = 0, c, p, status;
	struct timespec t0, t1;
	struct worker *wk;
	pid_t pid = 0;

	signal(SIGUSR1, on_usr1);
	while ((c = getopt(argc, argv, "s:m:F:p:t:o:fP:S:HWw:")) != -1) {
		switch (c) {
		case 's':
			mib = strtoul(optarg, NULL, 0);
			break;
		case 'm':
			shm_mib = strtoul(optarg, NULL, 0);
			break;
		case 'F':
			file = optarg;
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
			else if (!strcmp(optarg, "stride"))
				order = ORDER_STRIDE;
			else
				usage(argv[0]);
			break;
		case 'f':
			do_fork = 1;
			break;
		case 'P':
			pause_dir = optarg;
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			compute = atoi(optarg);
			break;
		case 'H':
			pageout = 1;
			break;
		case 'W':
			willneed = 1;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!mib || passes < 0 || threads < 1 || threads > 256 || compute < 0 || compute > 1000)
		usage(argv[0]);

	nr_anon = mib * (1024 * 1024 / PAGE);
	nr_pages = nr_anon + shm_mib * (1024 * 1024 / PAGE);
	anon = mmap(NULL, nr_anon * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sums = calloc(nr_pages, sizeof(*sums));
	gens = calloc(nr_pages, sizeof(*gens));
	wk = calloc(threads, sizeof(*wk));
	if (anon == MAP_FAILED || !sums || !gens || !wk) {
		fprintf(stderr, "cannot allocate %lu MiB: %s\n", mib, strerror(errno));
		return 2;
	}
	/* 4 KiB pages through swap, or with -H large folios. */
	madvise(anon, nr_anon * PAGE, pageout ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	if (shm_mib) {
		int fd;

		if (!file) {
			snprintf(file_buf, sizeof(file_buf), "/dev/shm/swap_workload.%d", getpid());
			file = file_buf;
		}
		fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, (nr_pages - nr_anon) * PAGE)) {
			fprintf(stderr, "%s: %s\n", file, strerror(errno));
			return 2;
		}
		shared = mmap(NULL, (nr_pages - nr_anon) * PAGE, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0);
		close(fd);
		if (shared == MAP_FAILED) {
			fprintf(stderr, "mmap %s: %s\n", file, strerror(errno));
			return 2;
		}
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	bad += run_pass(wk, threads, 0, &checked);
	if (pause_dir)
		wait_for(pause_dir);
	if (do_fork) {
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (!pid)
			_exit(child());
	}
	for (p = 1; p <= passes && !stop; p++)
		bad += run_pass(wk, threads, p, &checked);
	passes = p - 1;
	bad += run_pass(wk, threads, -1, &checked);
	if (pid > 0) {
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			fprintf(stderr, "forked child failed (status %#x)\n", status);
			bad++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (shm_mib)
		unlink(file);

	printf("swap_workload: %lu MiB anon + %lu MiB shared, %d threads, %d passes%s: ",
	       mib, shm_mib, threads, passes, do_fork ? ", fork" : "");
	printf("%lu pages checked, %lu bad, %.1f s\n", checked, bad,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return bad ? 1 : 0;
}
