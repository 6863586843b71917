-- session_quiet: the tools' sessions (hotlinectl, hotline-stats: tools/tool_conn.c)
-- show warnings, not notices (IF NOT EXISTS and friends would chatter).
-- for: hotlinectl
--
SET client_min_messages = warning
