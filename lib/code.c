/*
 * code.c - the syntax of feed, department and rule codes (see code.h).
 * Never: allocates or looks anything up. Callers: see code.h.
 */
#include "code.h"

#include <string.h>

bool code_valid(const char *code)
{
	if (code == NULL)
		return false;
	size_t n = strlen(code);
	if (n == 0 || n > CODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = code[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}
