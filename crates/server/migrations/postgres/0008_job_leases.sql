-- Job leases: a worker (in this process or another, on any host) owns a running job until
-- lease_expires_at (unix ms) and extends the lease while it runs. A running job whose lease
-- expired (its worker died) is claimed again, until attempts run out (`worker_lost`).
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_expires_at BIGINT;
CREATE INDEX jobs_lease ON jobs (status, lease_expires_at);
-- A cancel asked through any API server: the worker running the run sees it at its next
-- heartbeat, whichever process it is in.
ALTER TABLE runs ADD COLUMN cancel_requested_at BIGINT;
