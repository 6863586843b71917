-- session_quiet: hotlinectl's session shows warnings, not notices (IF NOT EXISTS
-- and friends would chatter).
-- for: hotlinectl
--
SET client_min_messages = warning
