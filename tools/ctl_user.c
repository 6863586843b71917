/*
 * ctl_user.c - hotlinectl user: the accounts of the HTTP API's people.
 *
 * Owns: creating an account with its role and printing its bearer token once,
 * giving it a new token, disabling it, listing them. A token is
 * "hl1.<user_id>.<secret>", the secret 32 random bytes (libsodium) in base64url;
 * only the SHA-256 of the secret is stored (users.token_hash), which is what
 * hotlined compares, in constant time.
 * Never: stores or logs a token, or prints one except the new one, on stdout.
 * Callers: tools/hotlinectl.c.
 */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "code.h"
#include "ctl.h"
#include "queries.h"

#define SECRET_BYTES 32

static void user_usage(FILE *out)
{
	fputs("usage: hotlinectl user add NAME --role agent|supervisor\n"
	      "       hotlinectl user rotate NAME\n"
	      "       hotlinectl user disable NAME\n"
	      "       hotlinectl user list\n"
	      "\n"
	      "NAME: 1-64 letters, digits, '_' or '-'. add and rotate print the bearer token\n"
	      "on stdout, once: only its hash is kept. disable takes effect on the account's\n"
	      "next request.\n",
	      out);
}

/*
 * A new secret (base64url text into secret) and the hex bytea text of its
 * SHA-256 ("\x..." into hash_text).
 */
static void new_secret(char *secret, size_t secret_len, char *hash_text, size_t hash_len)
{
	unsigned char raw[SECRET_BYTES], hash[crypto_hash_sha256_BYTES];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(secret, secret_len, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	crypto_hash_sha256(hash, (const unsigned char *)secret, strlen(secret));
	hash_text[0] = '\\';
	hash_text[1] = 'x';
	sodium_bin2hex(hash_text + 2, hash_len - 2, hash, sizeof(hash));
}

/* Runs q with values; the result when it returned rows as asked, else NULL after saying why. */
static PGresult *run(struct ctl *ctl, enum query q, const char *const *values, const char *what)
{
	PGresult *res = PQexecParams(ctl->pg, queries[q].text, queries[q].nparams, NULL, values,
				     NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "hotlinectl user: %s: %s", what, PQerrorMessage(ctl->pg));
		PQclear(res);
		return NULL;
	}
	return res;
}

static int user_add(struct ctl *ctl, const char *name, const char *role)
{
	char secret[sodium_base64_ENCODED_LEN(SECRET_BYTES,
					      sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	char hash[2 + 2 * crypto_hash_sha256_BYTES + 1], at[24];
	new_secret(secret, sizeof(secret), hash, sizeof(hash));
	snprintf(at, sizeof(at), "%lld", (long long)ctl_now_ms());
	const char *values[USER_ADD_NPARAMS] = {
		[USER_ADD_P_NAME] = name,
		[USER_ADD_P_ROLE] = role,
		[USER_ADD_P_TOKEN_HASH] = hash,
		[USER_ADD_P_AT_MS] = at,
	};
	PGresult *res = run(ctl, QUERY_USER_ADD, values, "adding the account");
	if (!res)
		return 1;
	if (PQntuples(res) == 0) {
		fprintf(stderr, "hotlinectl user: an account named %s exists already\n", name);
		PQclear(res);
		return 1;
	}
	printf("hl1.%s.%s\n", PQgetvalue(res, 0, USER_ADD_C_USER_ID), secret);
	fprintf(stderr, "hotlinectl user: added %s (%s); the token above is shown only once\n",
		name, role);
	sodium_memzero(secret, sizeof(secret));
	PQclear(res);
	return 0;
}

static int user_rotate(struct ctl *ctl, const char *name)
{
	char secret[sodium_base64_ENCODED_LEN(SECRET_BYTES,
					      sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	char hash[2 + 2 * crypto_hash_sha256_BYTES + 1];
	new_secret(secret, sizeof(secret), hash, sizeof(hash));
	const char *values[USER_ROTATE_NPARAMS] = {
		[USER_ROTATE_P_NAME] = name,
		[USER_ROTATE_P_TOKEN_HASH] = hash,
	};
	PGresult *res = run(ctl, QUERY_USER_ROTATE, values, "giving a new token");
	if (!res)
		return 1;
	if (PQntuples(res) == 0) {
		fprintf(stderr, "hotlinectl user: no account named %s\n", name);
		PQclear(res);
		return 1;
	}
	printf("hl1.%s.%s\n", PQgetvalue(res, 0, USER_ROTATE_C_USER_ID), secret);
	fprintf(stderr, "hotlinectl user: new token for %s; the old one no longer works%s\n", name,
		strcmp(PQgetvalue(res, 0, USER_ROTATE_C_DISABLED), "t") == 0
			? " (the account is still disabled)"
			: "");
	sodium_memzero(secret, sizeof(secret));
	PQclear(res);
	return 0;
}

static int user_disable(struct ctl *ctl, const char *name)
{
	char at[24];
	snprintf(at, sizeof(at), "%lld", (long long)ctl_now_ms());
	const char *values[USER_DISABLE_NPARAMS] = {
		[USER_DISABLE_P_NAME] = name,
		[USER_DISABLE_P_AT_MS] = at,
	};
	PGresult *res = run(ctl, QUERY_USER_DISABLE, values, "disabling the account");
	if (!res)
		return 1;
	if (PQntuples(res) == 0) {
		fprintf(stderr, "hotlinectl user: no account named %s\n", name);
		PQclear(res);
		return 1;
	}
	printf("%s: %s\n", name,
	       strcmp(PQgetvalue(res, 0, USER_DISABLE_C_DISABLED), "t") == 0
		       ? "disabled"
		       : "was already disabled");
	PQclear(res);
	return 0;
}

static int user_list(struct ctl *ctl)
{
	PGresult *res = run(ctl, QUERY_USER_LIST, NULL, "reading the accounts");
	if (!res)
		return 1;
	printf("%-6s  %-24s  %-10s  %-24s  %s\n", "ID", "NAME", "ROLE", "CREATED", "DISABLED");
	for (int i = 0; i < PQntuples(res); i++) {
		const char *disabled = PQgetvalue(res, i, USER_LIST_C_DISABLED_AT);
		printf("%-6s  %-24s  %-10s  %-24s  %s\n", PQgetvalue(res, i, USER_LIST_C_USER_ID),
		       PQgetvalue(res, i, USER_LIST_C_NAME), PQgetvalue(res, i, USER_LIST_C_ROLE),
		       PQgetvalue(res, i, USER_LIST_C_CREATED_AT), disabled[0] ? disabled : "-");
	}
	PQclear(res);
	return 0;
}

int cmd_user(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *role = NULL;
	int opt;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			role = optarg;
			break;
		case 'h':
			user_usage(stdout);
			return 0;
		default:
			user_usage(stderr);
			return 2;
		}
	}
	int nargs = argc - optind;
	const char *verb = nargs > 0 ? argv[optind] : "";
	const char *name = nargs > 1 ? argv[optind + 1] : NULL;
	bool wants_name = strcmp(verb, "list") != 0;
	if ((wants_name && nargs != 2) || (!wants_name && nargs != 1)) {
		user_usage(stderr);
		return 2;
	}
	if (strcmp(verb, "add") != 0 && strcmp(verb, "rotate") != 0 &&
	    strcmp(verb, "disable") != 0 && strcmp(verb, "list") != 0) {
		fprintf(stderr, "hotlinectl user: unknown command '%s'\n", verb);
		user_usage(stderr);
		return 2;
	}
	if (name && !code_valid(name)) {
		fprintf(stderr, "hotlinectl user: NAME must be 1-64 letters, digits, '_' or '-'\n");
		return 2;
	}
	if (strcmp(verb, "add") == 0) {
		if (!role || (strcmp(role, "agent") != 0 && strcmp(role, "supervisor") != 0)) {
			fprintf(stderr,
				"hotlinectl user add: --role must be agent or supervisor\n");
			return 2;
		}
	} else if (role) {
		fprintf(stderr, "hotlinectl user %s: --role is only for add\n", verb);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "hotlinectl user: libsodium cannot start\n");
		return 1;
	}
	if (ctl_connect(ctl) != 0)
		return 1;
	if (strcmp(verb, "add") == 0)
		return user_add(ctl, name, role);
	if (strcmp(verb, "rotate") == 0)
		return user_rotate(ctl, name);
	if (strcmp(verb, "disable") == 0)
		return user_disable(ctl, name);
	return user_list(ctl);
}
