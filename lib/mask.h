/*
 * mask.h - masking of caller phone numbers (personal data).
 *
 * Owns: the one rule for how a phone number may be shown outside the ticket
 * store: to departments, in logs, in tools. Pure. Callers: daemon/conn_feed.c
 * (logs), daemon/relay.c (the Ticket a department receives), tests, fuzzers.
 */
#ifndef HOTLINE_MASK_H
#define HOTLINE_MASK_H

#include <stddef.h>

/* Enough room for any masked number (input is capped at 32 characters). */
#define MASK_PHONE_SIZE 40

/*
 * Writes a masked copy of phone into out (always NUL-terminated, truncated to
 * outlen). Only digits and a leading '+' are kept; other characters are dropped.
 *   11+ digits (mobile, 138xxxx5678):   first 3 and last 4 kept -> 138****5678
 *   7-10 digits (landline):             last 4 kept              -> ****5678
 *   3-6 digits (short service numbers): last 2 kept              -> ***45
 *   fewer, or NULL/empty:               "" (nothing to show)
 * The number of '*' equals the number of hidden digits, so lengths match.
 */
void mask_phone(const char *phone, char *out, size_t outlen);

#endif
