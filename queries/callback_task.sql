-- callback_task: what an agent needs for a callback: the caller, the request and
-- the department's reply. Anything but REPLIED means the queue entry is stale.
-- Indexes: tickets' ticket_no key.
--
-- $1 ticket_no  text
-- > state              text
-- > caller_phone       text  in full: the agent calls back
-- > caller_name        text
-- > category           text
-- > content            text
-- > reply              text
-- > dept_code          text
-- > callback_attempts  int4
SELECT state, COALESCE(caller_phone, '') AS caller_phone,
  COALESCE(caller_name, '') AS caller_name, COALESCE(category, '') AS category,
  COALESCE(content, '') AS content, COALESCE(reply, '') AS reply,
  COALESCE(dept_code, '') AS dept_code, callback_attempts
FROM tickets WHERE ticket_no = $1
