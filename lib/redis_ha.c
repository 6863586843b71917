/*
 * redis_ha.c - Sentinel's addresses and messages, INFO's fields, epochs that name
 * their server; see redis_ha.h. Pure.
 */
#include "redis_ha.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "errbuf.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int redis_ha_parse_addrs(const char *list, struct redis_ha_addr *out, size_t max, size_t *n,
			 char *why, size_t whylen)
{
	*n = 0;
	const char *p = list;
	for (;;) {
		const char *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		const char *s = p, *e = end;
		while (s < e && is_blank(*s))
			s++;
		while (e > s && is_blank(e[-1]))
			e--;
		char entry[REDIS_HA_HOST_MAX + 8];
		if (s == e)
			return errbuf_fail(why, whylen,
					   "entry %zu is empty (host:port,host:port,...)", *n + 1);
		if ((size_t)(e - s) >= sizeof(entry))
			return errbuf_fail(why, whylen, "entry %zu is too long", *n + 1);
		memcpy(entry, s, (size_t)(e - s));
		entry[e - s] = '\0';
		if (*n == max)
			return errbuf_fail(why, whylen, "more than %zu addresses", max);
		struct redis_ha_addr *a = &out[*n];
		if (config_parse_hostport(entry, a->host, sizeof(a->host), &a->port) != 0 ||
		    a->port == 0)
			return errbuf_fail(why, whylen, "'%s' is not host:port", entry);
		for (size_t i = 0; i < *n; i++)
			if (out[i].port == a->port && strcmp(out[i].host, a->host) == 0)
				return errbuf_fail(why, whylen, "'%s' is listed twice", entry);
		(*n)++;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

bool redis_ha_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > REDIS_HA_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '_' && c != '-' && c != '.')
			return false;
	}
	return true;
}

/* The next blank-separated word of [*p, end): its start and length; false at the end. */
static bool next_word(const char **p, const char *end, const char **word, size_t *len)
{
	const char *s = *p;
	while (s < end && *s == ' ')
		s++;
	const char *e = s;
	while (e < end && *e != ' ')
		e++;
	*p = e;
	*word = s;
	*len = (size_t)(e - s);
	return e > s;
}

/* A port: 1..65535 in decimal, nothing else. */
static int parse_port(const char *word, size_t len)
{
	if (len == 0 || len > 5)
		return -1;
	int port = 0;
	for (size_t i = 0; i < len; i++) {
		if (word[i] < '0' || word[i] > '9')
			return -1;
		port = port * 10 + (word[i] - '0');
	}
	return port >= 1 && port <= 65535 ? port : -1;
}

int redis_ha_parse_switch(const char *msg, size_t len, const char *master_name,
			  struct redis_ha_addr *to)
{
	const char *p = msg, *end = msg + len;
	const char *words[5];
	size_t lens[5];
	for (int i = 0; i < 5; i++)
		if (!next_word(&p, end, &words[i], &lens[i]))
			return -1;
	const char *extra;
	size_t extra_len;
	if (next_word(&p, end, &extra, &extra_len))
		return -1;
	if (parse_port(words[2], lens[2]) < 0 || lens[3] >= sizeof(to->host) ||
	    memchr(words[3], '\0', lens[3]))
		return -1;
	int port = parse_port(words[4], lens[4]);
	if (port < 0)
		return -1;
	if (lens[0] != strlen(master_name) || memcmp(words[0], master_name, lens[0]) != 0)
		return 0;
	memcpy(to->host, words[3], lens[3]);
	to->host[lens[3]] = '\0';
	to->port = port;
	return 1;
}

int redis_ha_info_field(const char *info, size_t len, const char *field, char *out, size_t outlen)
{
	size_t flen = strlen(field);
	const char *p = info, *end = info + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		const char *vend = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if ((size_t)(vend - p) > flen && memcmp(p, field, flen) == 0 && p[flen] == ':') {
			const char *v = p + flen + 1;
			size_t vlen = (size_t)(vend - v);
			if (vlen >= outlen || memchr(v, '\0', vlen))
				return -1;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p = eol + 1;
	}
	return -1;
}

int redis_ha_epoch_make(char *out, size_t outlen, const unsigned char *random, size_t nrandom,
			const char *run_id)
{
	for (const char *c = run_id; *c; c++)
		if (!isalnum((unsigned char)*c))
			return -1;
	size_t at = 0;
	for (size_t i = 0; i < nrandom; i++) {
		if (at + 3 > outlen)
			return -1;
		at += (size_t)snprintf(out + at, outlen - at, "%02x", random[i]);
	}
	if (run_id[0] == '\0')
		return at < outlen ? 0 : -1;
	int n = snprintf(out + at, outlen - at, ".%s", run_id);
	return n > 0 && (size_t)n < outlen - at ? 0 : -1;
}

const char *redis_ha_epoch_server(const char *epoch)
{
	const char *dot = strchr(epoch, '.');
	return dot ? dot + 1 : "";
}

bool redis_ha_epoch_of_server(const char *epoch, const char *run_id)
{
	return run_id[0] == '\0' || strcmp(redis_ha_epoch_server(epoch), run_id) == 0;
}
