/*
 * loadgen_hist.h - bounded-memory latency histogram for hotline-loadgen.
 *
 * Owns: counting latency samples (microseconds) in logarithmic buckets with
 * 64 linear sub-buckets per power of two (about 1.6% relative precision, like
 * HdrHistogram with 2 significant digits), and answering percentile queries.
 * Memory is fixed (a few KiB) however many samples are recorded.
 * Never: reads a clock, allocates, or does I/O. Callers: tools/loadgen.c.
 */
#ifndef HOTLINE_LOADGEN_HIST_H
#define HOTLINE_LOADGEN_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
/* Values up to 2^40 us (about 12 days) are counted exactly by bucket. */
#define HIST_MAX_SHIFT 34
#define HIST_BUCKETS ((HIST_MAX_SHIFT + 2) * HIST_SUB_COUNT)

struct latency_hist {
	uint64_t buckets[HIST_BUCKETS];
	uint64_t count;
	uint64_t max_us; /* exact largest sample */
	uint64_t min_us; /* exact smallest sample; UINT64_MAX when empty */
	double sum_us;
};

void hist_init(struct latency_hist *hist);
void hist_record(struct latency_hist *hist, uint64_t value_us);

/*
 * The value below which pct percent of the samples fall (pct in 0..100),
 * reported as the upper edge of the bucket that holds that sample, never above
 * the exact maximum. Returns 0 for an empty histogram.
 */
uint64_t hist_percentile(const struct latency_hist *hist, double pct);

/* Bucket index of a value and the largest value mapped to a bucket (for tests). */
unsigned hist_bucket_of(uint64_t value_us);
uint64_t hist_bucket_upper(unsigned index);

#endif
