-- rules_remember: remembers a rule set version the daemon put in force.
--
-- $1 version  int8
-- $2 rules    text
INSERT INTO routing_rules (version, rules) VALUES ($1, $2) ON CONFLICT DO NOTHING
