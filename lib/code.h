/*
 * code.h - what a feed or department code may look like.
 *
 * Owns: the one syntax rule for the short identifiers that name feeds and
 * departments (and routing rules): they go into SQL, Redis keys
 * ("hotline:dept:CODE"), logs and file formats, so they stay plain ASCII.
 * Never: knows which codes exist (config and the database do). Pure.
 * Callers: lib/config.c, lib/rules.c, lib/ticket_state.c, daemon/conn_agent.c
 * (agent ids), tools/cli_client.c, tests.
 */
#ifndef HOTLINE_CODE_H
#define HOTLINE_CODE_H

#include <stdbool.h>

/* Longest code, bytes; a buffer for one needs CODE_MAX + 1. */
#define CODE_MAX 64

/* True when code is 1..CODE_MAX letters, digits, '_' or '-' (ASCII). NULL is false. */
bool code_valid(const char *code);

#endif
