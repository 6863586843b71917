/*
 * loadgen_record.c - synthetic intake records for hotline-loadgen.
 *
 * Owns: the vocabulary (categories, Nantong districts, channels, complaint
 * phrases) and the deterministic pseudo-random choice among it; the seed city's
 * year (each legacy line's requests, the mix of categories, channels and districts)
 * and sharing a year's records among connections by it (--year).
 * Never: does I/O or reads a clock. Callers: tools/loadgen.c.
 */
#include "loadgen_record.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const categories[] = {
	"complaint", "consultation", "request", "suggestion", "praise",
};
/* --year: the city's mix, in per mille, in the order of categories[] */
static const unsigned category_mix[] = { 300, 400, 220, 60, 20 };

/* Nantong's districts and county-level cities, with a rough centre each. */
static const struct {
	const char *name;
	double lat, lon;
} districts[] = {
	{ "崇川区", 32.0146, 120.8574 }, { "通州区", 32.0656, 121.0732 },
	{ "海门区", 31.8714, 121.1818 }, { "如皋市", 32.3716, 120.5738 },
	{ "海安市", 32.5331, 120.4679 }, { "如东县", 32.3310, 121.1857 },
	{ "启东市", 31.8083, 121.6574 }, { "开发区", 31.9731, 120.9360 },
};
/* --year: residents in ten thousands, in the order of districts[] */
static const unsigned district_mix[] = { 128, 126, 104, 124, 87, 88, 97, 30 };

static const char *const channels[] = { "phone", "web", "app" };
/* --year: most requests still come by telephone; per mille, in channels[]'s order */
static const unsigned channel_mix[] = { 780, 90, 130 };

_Static_assert(ARRAY_LEN(category_mix) == ARRAY_LEN(categories), "a weight per category");
_Static_assert(ARRAY_LEN(district_mix) == ARRAY_LEN(districts), "a weight per district");
_Static_assert(ARRAY_LEN(channel_mix) == ARRAY_LEN(channels), "a weight per channel");

/* --year: requests a year per legacy line (YEAR_REQUESTS in all: 一企来, the
 * enterprise line, about 10,000 of them) */
static const struct {
	const char *code;
	unsigned requests;
} year_feeds[] = {
	{ "water", 420000 },
	{ "power", 400000 },
	{ "enterprise", 10000 },
	{ "market12315", 330000 },
	{ "construction12319", 180000 },
	{ "environment12369", 90000 },
	{ "hrss12333", 240000 },
	{ "price12358", 30000 },
	{ "transport12328", 110000 },
	{ "health12320", 150000 },
	{ "women12338", 15000 },
	{ "youth12355", 12000 },
	{ "legal12348", 40000 },
	{ "civil12349", 60000 },
	{ "culture12318", 8000 },
	{ "agri12316", 20000 },
	{ "land12336", 35000 },
	{ "quality12365", 25000 },
	{ "food12331", 70000 },
	{ "safety12350", 20000 },
	{ "disabled12385", 10000 },
	{ "veterans12380", 18000 },
	{ "union12351", 22000 },
	{ "mayor-mailbox", 120000 },
	{ "property96118", 210000 },
	{ "education96111", 130000 },
	{ "tax12366", 150000 },
	{ "elevator96333", 25000 },
	{ "gas96777", 140000 },
	{ "transit96196", 100000 },
	{ "taxi96520", 45000 },
	{ "fund12329", 160000 },
	{ "insurance12393", 190000 },
	{ "haimen-line", 120000 },
	{ "rudong-line", 110000 },
	{ "kaifaqu-line", 50000 },
};

static const char *const roads[] = {
	"人民路", "青年路", "工农路", "濠河路", "世纪大道", "长江路", "通富路", "跃龙路",
};

static const char *const surnames[] = {
	"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "朱", "马",
};

static const char *const phrases[] = {
	"小区门口的路灯已经坏了一个多星期，晚上出行很不安全。",
	"楼上住户装修噪音很大，早上七点就开始施工。",
	"自来水水压偏低，高峰时段几乎没有水。",
	"希望在学校附近增设红绿灯和减速带。",
	"咨询新生儿医保办理需要哪些材料。",
	"路边井盖缺失，存在安全隐患，请尽快处理。",
	"感谢社区工作人员耐心帮助解决了停车问题。",
	"公交 K12 路末班车时间太早，建议延长到 22:00。",
	"餐馆油烟直排，影响周边居民生活。",
	"办理营业执照变更时网上系统无法提交 (error 502)。",
	"小区垃圾清运不及时，气味很大。",
	"反映供暖温度不达标，室温只有 16 度。",
	"工地夜间施工到 23:30 以后，严重影响休息。",
	"咨询公积金提取流程以及 APP 上的预约方式。",
	"共享单车乱停乱放，堵塞了人行道和盲道。",
	"停电已经超过 3 小时，请供电公司尽快抢修。",
};

/* Mobile prefixes in use in mainland China (subset). */
static const char *const mobile_prefixes[] = {
	"130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
	"156", "157", "158", "159", "166", "170", "173", "175", "176", "177", "178", "180", "181",
	"182", "183", "185", "186", "187", "188", "189", "191", "193", "195", "198", "199",
};

/* splitmix64: a tiny, well-mixed generator; state advances by the golden ratio. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t pick(uint64_t *state, uint64_t n)
{
	return next_random(state) % n;
}

/* An index into weights[0..n), each as likely as its weight. */
static size_t pick_weighted(uint64_t *state, const unsigned *weights, size_t n)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += weights[i];
	uint64_t x = pick(state, sum);
	size_t i = 0;
	while (x >= weights[i])
		x -= weights[i++];
	return i;
}

/* index among n equally likely choices, or by weights under --year */
static size_t pick_mix(const struct record_gen *gen, uint64_t *state, const unsigned *weights,
		       size_t n)
{
	return gen->city_mix ? pick_weighted(state, weights, n) : (size_t)pick(state, n);
}

unsigned year_feed_requests(const char *code)
{
	for (size_t i = 0; i < ARRAY_LEN(year_feeds); i++)
		if (strcmp(year_feeds[i].code, code) == 0)
			return year_feeds[i].requests;
	return YEAR_FEED_DEFAULT;
}

/*
 * Shares total among n parts in proportion to weights (sum > 0) with the largest
 * remainders, after giving each part floor_each first: out[] sums to total.
 */
static void share(uint64_t total, const uint64_t *weights, unsigned n, uint64_t floor_each,
		  uint64_t *out)
{
	uint64_t sum = 0, given = 0;
	for (unsigned i = 0; i < n; i++)
		sum += weights[i];
	uint64_t rest = total - floor_each * n;
	for (unsigned i = 0; i < n; i++) {
		out[i] = floor_each + (uint64_t)((double)rest * (double)weights[i] / (double)sum);
		given += out[i];
	}
	while (given < total) { /* the largest remainders, one each */
		unsigned best = 0;
		double best_rem = -1;
		for (unsigned i = 0; i < n; i++) {
			double rem = (double)rest * (double)weights[i] / (double)sum -
				     (double)(out[i] - floor_each);
			if (rem > best_rem) {
				best_rem = rem;
				best = i;
			}
		}
		out[best]++;
		given++;
	}
}

int year_plan(const char *const *codes, unsigned nfeeds, unsigned connections, uint64_t total,
	      unsigned *feed_of, uint64_t *records_of)
{
	if (nfeeds == 0 || connections < nfeeds)
		return -1;
	uint64_t *weights = calloc(nfeeds, sizeof(*weights));
	uint64_t *conns = calloc(nfeeds, sizeof(*conns));
	uint64_t *records = calloc(nfeeds, sizeof(*records));
	if (weights == NULL || conns == NULL || records == NULL) {
		free(weights);
		free(conns);
		free(records);
		return -1;
	}
	for (unsigned f = 0; f < nfeeds; f++)
		weights[f] = year_feed_requests(codes[f]);
	share(connections, weights, nfeeds, 1, conns);
	share(total, weights, nfeeds, 0, records);
	unsigned c = 0;
	for (unsigned f = 0; f < nfeeds; f++)
		for (uint64_t k = 0; k < conns[f]; k++, c++) {
			feed_of[c] = f;
			records_of[c] = records[f] / conns[f] + (k < records[f] % conns[f]);
		}
	free(weights);
	free(conns);
	free(records);
	return 0;
}

int record_gen_init(struct record_gen *gen, size_t content_bytes, bool realistic_phones)
{
	memset(gen, 0, sizeof(*gen));
	if (content_bytes == 0)
		return -1;
	gen->content_bytes = content_bytes;
	gen->realistic_phones = realistic_phones;
	gen->content = malloc(content_bytes + 1);
	gen->json_cap = content_bytes * 2 + 1024;
	gen->json = malloc(gen->json_cap);
	if (gen->content == NULL || gen->json == NULL) {
		record_gen_free(gen);
		return -1;
	}
	return 0;
}

void record_gen_free(struct record_gen *gen)
{
	free(gen->content);
	free(gen->json);
	gen->content = NULL;
	gen->json = NULL;
}

/*
 * Fills the content buffer with whole phrases while they fit, then pads with
 * ASCII so the length is exactly content_bytes and no UTF-8 sequence is cut.
 */
static void fill_content(struct record_gen *gen, uint64_t *state, const char *external_id)
{
	size_t want = gen->content_bytes, used = 0;
	char *out = gen->content;
	for (int attempts = 0; attempts < 64 && used < want; attempts++) {
		const char *phrase = phrases[pick(state, ARRAY_LEN(phrases))];
		size_t len = strlen(phrase);
		if (used + len > want)
			break;
		memcpy(out + used, phrase, len);
		used += len;
	}
	/* An ASCII reference tag when it fits: makes each record's content unique. */
	char tag[RECORD_MAX_EXTERNAL_ID + 16];
	int tag_len = snprintf(tag, sizeof(tag), " [ref %s]", external_id);
	if (tag_len > 0 && used + (size_t)tag_len <= want) {
		memcpy(out + used, tag, (size_t)tag_len);
		used += (size_t)tag_len;
	}
	static const char pad[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	while (used < want) {
		out[used] = used + 1 == want ? '.' : pad[used % (sizeof(pad) - 1)];
		used++;
	}
	out[used] = '\0';
}

int record_generate(struct record_gen *gen, const char *prefix, unsigned conn, uint64_t index,
		    int64_t received_at_ms, struct gen_record *out)
{
	memset(out, 0, sizeof(*out));
	int n = snprintf(out->external_id, sizeof(out->external_id), "%s-%u-%" PRIu64, prefix, conn,
			 index);
	if (n < 0 || (size_t)n >= sizeof(out->external_id))
		return -1;

	uint64_t state = ((uint64_t)conn << 40) ^ index ^ 0x12345ull;
	(void)next_random(&state);
	if (gen->seed) { /* another run's callers, contents, ...: not the same again */
		state ^= gen->seed * 0xbf58476d1ce4e5b9ull;
		(void)next_random(&state);
	}

	out->received_at_ms = received_at_ms;
	out->category = categories[pick_mix(gen, &state, category_mix, ARRAY_LEN(categories))];
	out->channel = channels[pick_mix(gen, &state, channel_mix, ARRAY_LEN(channels))];
	size_t d = pick_mix(gen, &state, district_mix, ARRAY_LEN(districts));
	out->district = districts[d].name;
	/* Within about 5 km of the district's centre. */
	out->lat = districts[d].lat + ((double)pick(&state, 10001) - 5000.0) / 100000.0;
	out->lon = districts[d].lon + ((double)pick(&state, 10001) - 5000.0) / 100000.0;
	snprintf(gen->address, sizeof(gen->address), "%s%s%u号", districts[d].name,
		 roads[pick(&state, ARRAY_LEN(roads))], (unsigned)pick(&state, 300) + 1);
	out->address = gen->address;
	snprintf(gen->name, sizeof(gen->name), "%s%s", surnames[pick(&state, ARRAY_LEN(surnames))],
		 pick(&state, 2) ? "先生" : "女士");
	out->caller_name = gen->name;
	if (gen->realistic_phones) {
		snprintf(gen->phone, sizeof(gen->phone), "%s%08u",
			 mobile_prefixes[pick(&state, ARRAY_LEN(mobile_prefixes))],
			 (unsigned)pick(&state, 100000000));
	} else {
		gen->phone[0] = '\0';
	}
	out->caller_phone = gen->phone;
	uint64_t p = pick(&state, 100);
	out->priority = p < 2	 ? HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL
			: p < 10 ? HOTLINE__V1__PRIORITY__PRIORITY_URGENT
				 : HOTLINE__V1__PRIORITY__PRIORITY_NORMAL;
	fill_content(gen, &state, out->external_id);
	out->content = gen->content;
	return 0;
}

/* protobuf-c wants char * for strings; it never writes through them when packing. */
static char *unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

void record_to_pb(const struct gen_record *rec, Hotline__V1__Intake *pb)
{
	pb->external_id = unconst(rec->external_id);
	pb->received_at = rec->received_at_ms;
	pb->channel = unconst(rec->channel);
	pb->caller_phone = unconst(rec->caller_phone);
	pb->caller_name = unconst(rec->caller_name);
	pb->category = unconst(rec->category);
	pb->content = unconst(rec->content);
	pb->district = unconst(rec->district);
	pb->address = unconst(rec->address);
	pb->lat = rec->lat;
	pb->lon = rec->lon;
	pb->priority = (Hotline__V1__Priority)rec->priority;
}

static int reserve(char **buf, size_t *cap, size_t len, size_t more)
{
	if (len + more + 1 <= *cap)
		return 0;
	size_t new_cap = *cap ? *cap : 256;
	while (len + more + 1 > new_cap)
		new_cap *= 2;
	char *grown = realloc(*buf, new_cap);
	if (grown == NULL)
		return -1;
	*buf = grown;
	*cap = new_cap;
	return 0;
}

int json_append_string(char **buf, size_t *cap, size_t *len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t in_len = strlen(s);
	/* Worst case: every byte becomes \u00XX. */
	if (reserve(buf, cap, *len, in_len * 6 + 2) != 0)
		return -1;
	char *out = *buf + *len;
	*out++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			*out++ = '\\';
			*out++ = (char)c;
		} else if (c == '\n') {
			*out++ = '\\';
			*out++ = 'n';
		} else if (c < 0x20) {
			*out++ = '\\';
			*out++ = 'u';
			*out++ = '0';
			*out++ = '0';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		} else {
			*out++ = (char)c; /* UTF-8 passes through unchanged */
		}
	}
	*out++ = '"';
	*out = '\0';
	*len = (size_t)(out - *buf);
	return 0;
}

int json_append_raw(char **buf, size_t *cap, size_t *len, const char *s)
{
	size_t n = strlen(s);
	if (reserve(buf, cap, *len, n) != 0)
		return -1;
	memcpy(*buf + *len, s, n + 1);
	*len += n;
	return 0;
}

static int append_field(char **buf, size_t *cap, size_t *len, const char *key, const char *value)
{
	char head[64];
	snprintf(head, sizeof(head), "%s\"%s\":", *len > 1 ? "," : "", key);
	if (json_append_raw(buf, cap, len, head) != 0)
		return -1;
	return json_append_string(buf, cap, len, value);
}

const char *record_format_json(struct record_gen *gen, const struct gen_record *rec, size_t *len)
{
	size_t used = 0;
	char num[160];
	if (json_append_raw(&gen->json, &gen->json_cap, &used, "{") != 0 ||
	    append_field(&gen->json, &gen->json_cap, &used, "external_id", rec->external_id) != 0)
		return NULL;
	snprintf(num, sizeof(num), ",\"received_at\":%" PRId64, rec->received_at_ms);
	if (json_append_raw(&gen->json, &gen->json_cap, &used, num) != 0 ||
	    append_field(&gen->json, &gen->json_cap, &used, "channel", rec->channel) != 0 ||
	    (rec->caller_phone[0] != '\0' &&
	     append_field(&gen->json, &gen->json_cap, &used, "caller_phone", rec->caller_phone) !=
		     0) ||
	    append_field(&gen->json, &gen->json_cap, &used, "caller_name", rec->caller_name) != 0 ||
	    append_field(&gen->json, &gen->json_cap, &used, "category", rec->category) != 0 ||
	    append_field(&gen->json, &gen->json_cap, &used, "content", rec->content) != 0 ||
	    append_field(&gen->json, &gen->json_cap, &used, "district", rec->district) != 0 ||
	    append_field(&gen->json, &gen->json_cap, &used, "address", rec->address) != 0)
		return NULL;
	snprintf(num, sizeof(num), ",\"lat\":%.6f,\"lon\":%.6f,\"priority\":%d}\n", rec->lat,
		 rec->lon, rec->priority);
	if (json_append_raw(&gen->json, &gen->json_cap, &used, num) != 0)
		return NULL;
	*len = used;
	return gen->json;
}

int record_parse_external_id(const char *external_id, const char *prefix, unsigned conn,
			     uint64_t *index)
{
	size_t prefix_len = strlen(prefix);
	if (strncmp(external_id, prefix, prefix_len) != 0 || external_id[prefix_len] != '-')
		return -1;
	const char *p = external_id + prefix_len + 1;
	char *end;
	if (*p < '0' || *p > '9')
		return -1;
	unsigned long long c = strtoull(p, &end, 10);
	if (end == p || *end != '-' || c != conn)
		return -1;
	p = end + 1;
	if (*p < '0' || *p > '9')
		return -1;
	unsigned long long n = strtoull(p, &end, 10);
	if (*end != '\0')
		return -1;
	*index = n;
	return 0;
}
