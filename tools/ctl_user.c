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
#include <sys/time.h>

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

static long long now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

#define SECRET_TEXT_LEN \
	sodium_base64_ENCODED_LEN(SECRET_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)

/* A token being made: its secret (base64url) and the bytea text of its SHA-256. */
struct new_token {
	char secret[SECRET_TEXT_LEN];
	char hash[2 + 2 * crypto_hash_sha256_BYTES + 1]; /* "\x" and hex */
};

static void token_new(struct new_token *t)
{
	unsigned char raw[SECRET_BYTES], hash[crypto_hash_sha256_BYTES];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(t->secret, sizeof(t->secret), raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	crypto_hash_sha256(hash, (const unsigned char *)t->secret, strlen(t->secret));
	t->hash[0] = '\\';
	t->hash[1] = 'x';
	sodium_bin2hex(t->hash + 2, sizeof(t->hash) - 2, hash, sizeof(hash));
}

/* Prints the token of account user_id, once, and forgets the secret. */
static void token_print(struct new_token *t, const char *user_id)
{
	printf("hl1.%s.%s\n", user_id, t->secret);
	sodium_memzero(t->secret, sizeof(t->secret));
}

/*
 * Runs q with values: its one row, or NULL after saying why (what failed, or
 * none, a message about name, when no row came back).
 */
static PGresult *run_row(struct ctl *ctl, enum query q, const char *const *values, const char *what,
			 const char *none, const char *name)
{
	PGresult *res = PQexecParams(ctl->pg, queries[q].text, queries[q].nparams, NULL, values,
				     NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "hotlinectl user: %s: %s", what, PQerrorMessage(ctl->pg));
		PQclear(res);
		return NULL;
	}
	if (none && PQntuples(res) == 0) {
		fprintf(stderr, "hotlinectl user: %s %s\n", none, name);
		PQclear(res);
		return NULL;
	}
	return res;
}

static int user_add(struct ctl *ctl, const char *name, const char *role)
{
	struct new_token t;
	char at[24];
	token_new(&t);
	snprintf(at, sizeof(at), "%lld", now_ms());
	const char *values[USER_ADD_NPARAMS] = {
		[USER_ADD_P_NAME] = name,
		[USER_ADD_P_ROLE] = role,
		[USER_ADD_P_TOKEN_HASH] = t.hash,
		[USER_ADD_P_AT_MS] = at,
	};
	PGresult *res = run_row(ctl, QUERY_USER_ADD, values, "adding the account",
				"there is already an account named", name);
	if (!res)
		return 1;
	token_print(&t, PQgetvalue(res, 0, USER_ADD_C_USER_ID));
	fprintf(stderr, "hotlinectl user: added %s (%s); the token above is shown only once\n",
		name, role);
	PQclear(res);
	return 0;
}

static int user_rotate(struct ctl *ctl, const char *name)
{
	struct new_token t;
	token_new(&t);
	const char *values[USER_ROTATE_NPARAMS] = {
		[USER_ROTATE_P_NAME] = name,
		[USER_ROTATE_P_TOKEN_HASH] = t.hash,
	};
	PGresult *res = run_row(ctl, QUERY_USER_ROTATE, values, "giving a new token",
				"no account named", name);
	if (!res)
		return 1;
	token_print(&t, PQgetvalue(res, 0, USER_ROTATE_C_USER_ID));
	fprintf(stderr, "hotlinectl user: new token for %s; the old one no longer works%s\n", name,
		strcmp(PQgetvalue(res, 0, USER_ROTATE_C_DISABLED), "t") == 0
			? " (the account is still disabled)"
			: "");
	PQclear(res);
	return 0;
}

static int user_disable(struct ctl *ctl, const char *name)
{
	char at[24];
	snprintf(at, sizeof(at), "%lld", now_ms());
	const char *values[USER_DISABLE_NPARAMS] = {
		[USER_DISABLE_P_NAME] = name,
		[USER_DISABLE_P_AT_MS] = at,
	};
	PGresult *res = run_row(ctl, QUERY_USER_DISABLE, values, "disabling the account",
				"no account named", name);
	if (!res)
		return 1;
	printf("%s: %s\n", name,
	       strcmp(PQgetvalue(res, 0, USER_DISABLE_C_DISABLED), "t") == 0
		       ? "disabled"
		       : "was already disabled");
	PQclear(res);
	return 0;
}

static int user_list(struct ctl *ctl)
{
	PGresult *res = run_row(ctl, QUERY_USER_LIST, NULL, "reading the accounts", NULL, NULL);
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
