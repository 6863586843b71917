/*
 * fuzz_config.c - libFuzzer target for lib/config.c and lib/ini.c.
 *
 * Owns: loading arbitrary bytes as a hotlined config and checking what must hold:
 * a refused file has a "fuzz:line: reason" or "fuzz: reason" and leaves nothing to
 * free (LeakSanitizer sees to that), a file with a NUL byte is refused, the string
 * variant agrees with the buffer variant, and an accepted config keeps the rules
 * validation promises (each feed has a token or is an Open311 client with an
 * open311_key, never both; secrets present and distinct; the agents' feed present
 * and not an Open311 client; each service has a name and a category of its own;
 * max_unauthenticated_per_address <= max_unauthenticated <= max_connections) and
 * survives a reload into the defaults. Never: opens anything but the zone file a
 * valid [postgres] timezone names. Run as in README.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const struct hotline_config *cfg)
{
	if (cfg->max_unauthenticated_per_address > cfg->max_unauthenticated ||
	    cfg->max_unauthenticated > cfg->max_connections)
		abort();
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		const struct feed_config *feed = &cfg->feeds[i];
		/* a token, or an open311_key (an Open311 client), never both */
		const char *secret = feed->token ? feed->token : feed->open311_key;
		if ((feed->token != NULL) == (feed->open311_key != NULL) || !secret[0] ||
		    !feed->name || config_find_feed(cfg, feed->code) != feed)
			abort();
		if (feed->open311_key && config_find_open311_client(cfg, feed->open311_key) != feed)
			abort();
		for (size_t j = 0; j < cfg->ndepts; j++)
			if (config_token_equal(secret, cfg->depts[j].token))
				abort();
		for (size_t j = 0; j < i; j++) {
			const struct feed_config *other = &cfg->feeds[j];
			if (config_token_equal(secret,
					       other->token ? other->token : other->open311_key))
				abort();
		}
		if (cfg->agents_token[0] && config_token_equal(secret, cfg->agents_token))
			abort();
	}
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct service_config *svc = &cfg->services[i];
		if (!svc->name || !svc->name[0] || !svc->category || !svc->category[0] ||
		    !svc->description || !svc->group || !svc->keywords || !svc->notice ||
		    config_find_service(cfg, svc->code) != svc)
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->services[j].category, svc->category) == 0)
				abort();
	}
	for (size_t i = 0; i < cfg->ndepts; i++) {
		const struct dept_config *dept = &cfg->depts[i];
		if (!dept->token || !dept->token[0] || !dept->name ||
		    config_find_dept(cfg, dept->code) != dept)
			abort();
	}
	if (cfg->agents_token[0] && !config_find_feed(cfg, cfg->agents_feed))
		abort();
	const struct feed_config *agents = config_find_feed(cfg, cfg->agents_feed);
	if (agents && agents->open311_key)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hotline_config cfg;
	char err[1024] = "";
	const char *text = (const char *)data;
	int rc = config_load_buffer(text, size, "fuzz", &cfg, err, sizeof(err));
	if (rc != 0) {
		if (strncmp(err, "fuzz:", 5) != 0)
			abort();
	} else {
		if (memchr(data, '\0', size))
			abort();
		check_accepted(&cfg);
	}

	/* The string variant reads up to the first NUL; without one it must agree. */
	char *copy = malloc(size + 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	struct hotline_config again;
	char err_again[1024] = "";
	int rc_again = config_load_string(copy, "fuzz", &again, err_again, sizeof(err_again));
	free(copy);
	if (!memchr(data, '\0', size) && (rc_again != rc || strcmp(err, err_again) != 0))
		abort();
	if (rc_again == 0)
		config_free(&again);

	if (rc == 0) {
		struct hotline_config running;
		char note[512];
		if (config_load_string("", "defaults", &running, err, sizeof(err)) != 0)
			abort();
		(void)config_apply_reload(&running, &cfg, note, sizeof(note));
		if (running.max_unauthenticated > running.max_connections ||
		    running.max_unauthenticated_per_address > running.max_unauthenticated)
			abort();
		config_free(&running);
		config_free(&cfg);
	}
	return 0;
}
