-- bus_epoch: the epoch of the Redis dataset whose rebuild PostgreSQL holds
-- (006_bus_epoch); Redis's hotline:epoch must equal it before anything is published.
--
-- > epoch  text  NULL: no rebuild recorded yet
SELECT epoch FROM bus_epoch
