/*
 * loadgen_hist.c - bounded-memory latency histogram (see loadgen_hist.h).
 *
 * Owns: the bucket layout. Values below 2 * HIST_SUB_COUNT get a bucket each;
 * above that, every power of two [2^k, 2^(k+1)) is cut into HIST_SUB_COUNT
 * equal sub-buckets, so the error of any reported value is below 1/64.
 * Never: allocates or does I/O. Callers: tools/loadgen.c.
 */
#include "loadgen_hist.h"

#include <string.h>

void hist_init(struct latency_hist *hist)
{
	memset(hist, 0, sizeof(*hist));
	hist->min_us = UINT64_MAX;
}

/*
 * For v >= 2*SUB: shift = msb(v) - SUB_BITS, so v >> shift lies in
 * [SUB, 2*SUB), and index = SUB * shift + (v >> shift) keeps successive
 * powers of two in consecutive, non-overlapping ranges.
 */
unsigned hist_bucket_of(uint64_t value_us)
{
	if (value_us < 2 * HIST_SUB_COUNT)
		return (unsigned)value_us;
	unsigned msb = 63u - (unsigned)__builtin_clzll(value_us);
	unsigned shift = msb - HIST_SUB_BITS;
	if (shift > HIST_MAX_SHIFT)
		return HIST_BUCKETS - 1;
	return HIST_SUB_COUNT * shift + (unsigned)(value_us >> shift);
}

uint64_t hist_bucket_upper(unsigned index)
{
	if (index < 2 * HIST_SUB_COUNT)
		return index;
	unsigned shift = index / HIST_SUB_COUNT - 1;
	uint64_t mantissa = index - (uint64_t)HIST_SUB_COUNT * shift;
	return ((mantissa + 1) << shift) - 1;
}

void hist_record(struct latency_hist *hist, uint64_t value_us)
{
	hist->buckets[hist_bucket_of(value_us)]++;
	hist->count++;
	hist->sum_us += (double)value_us;
	if (value_us > hist->max_us)
		hist->max_us = value_us;
	if (value_us < hist->min_us)
		hist->min_us = value_us;
}

uint64_t hist_percentile(const struct latency_hist *hist, double pct)
{
	if (hist->count == 0)
		return 0;
	if (pct >= 100.0)
		return hist->max_us;
	if (pct < 0.0)
		pct = 0.0;
	/* The rank of the sample asked for, 1-based: ceil(pct% of count), at least 1. */
	double exact = pct / 100.0 * (double)hist->count;
	uint64_t rank = (uint64_t)exact;
	if ((double)rank < exact)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += hist->buckets[i];
		if (seen >= rank) {
			uint64_t upper = hist_bucket_upper(i);
			return upper < hist->max_us ? upper : hist->max_us;
		}
	}
	return hist->max_us;
}
