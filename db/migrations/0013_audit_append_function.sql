-- The audit chain's append as one statement (ADR 004, ADR 014). `request_events_append` takes the chain lock, reads
-- the head with a snapshot taken after the lock was granted (a VOLATILE plpgsql function takes a fresh snapshot for
-- every statement under READ COMMITTED), and inserts the row; `id` comes from the sequence after the lock, so ids
-- follow the chain order. The hash is SHA-256 over p_hash_head || prev_hash || p_hash_tail: the application sends
-- the canonical JSON of the row (app/models/audit.server.ts canonicalJson) cut around the value of "prevHash", so the
-- hash format of ADR 004 is unchanged and verifyAuditChain recomputes it in the application as before.
CREATE OR REPLACE FUNCTION request_events_append(
  p_request_id uuid,
  p_actor_type actor_type,
  p_actor_id text,
  p_action text,
  p_details jsonb,
  p_created_at timestamptz,
  p_hash_head text,
  p_hash_tail text
) RETURNS TABLE (id bigint, prev_hash text, hash text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  head text;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'request_events_append needs a READ COMMITTED transaction, not %', current_setting('transaction_isolation')
      USING ERRCODE = 'invalid_transaction_state';
  END IF;
  PERFORM pg_advisory_xact_lock(418581342580); -- 0x6175646974, ASCII "audit" (AUDIT_CHAIN_LOCK_KEY)
  SELECT e.hash INTO head FROM request_events e ORDER BY e.id DESC LIMIT 1;
  head := coalesce(head, repeat('0', 64));
  RETURN QUERY
    INSERT INTO request_events AS e (request_id, actor_type, actor_id, action, details, created_at, prev_hash, hash)
    VALUES (p_request_id, p_actor_type, p_actor_id, p_action, p_details, p_created_at, head,
            encode(sha256(convert_to(p_hash_head || head || p_hash_tail, 'UTF8')), 'hex'))
    RETURNING e.id, e.prev_hash, e.hash;
END;
$$;
