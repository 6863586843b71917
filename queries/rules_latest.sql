-- rules_latest: the newest rule set a daemon remembered (routing at start when
-- Redis lost its data or is down). Indexes: routing_rules' primary key.
--
-- > version  int8
-- > rules    text  canonical text (lib/rules.h)
SELECT version, rules FROM routing_rules ORDER BY version DESC LIMIT 1
