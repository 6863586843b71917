-- 011_write_key: the key of the last write that moved a ticket (daemon/transition.c).
-- A transition whose commit confirmation was lost sends its statement again; the
-- version guard makes the second send change nothing, and the transition reads the
-- ticket again to decide anew. Finding its own key there, it knows the first send
-- committed and answers as done, instead of applying the move a second time (an
-- unreachable callback counted twice) or calling the ticket not found (a return
-- whose department no longer holds the ticket).
ALTER TABLE tickets ADD COLUMN last_write bigint;
