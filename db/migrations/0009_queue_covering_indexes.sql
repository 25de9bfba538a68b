DROP INDEX "requests_queue_open_due_idx";--> statement-breakpoint
DROP INDEX "requests_queue_status_due_idx";--> statement-breakpoint
DROP INDEX "requests_queue_due_idx";--> statement-breakpoint
DROP INDEX "requests_queue_assignee_due_idx";--> statement-breakpoint
CREATE INDEX "requests_queue_type_regime_due_idx" ON "requests" USING btree ("type","regime",coalesce("extended_due_at", "due_at"),"id","status","assignee_id","received_at","due_at","extended_due_at");--> statement-breakpoint
CREATE INDEX "requests_queue_received_idx" ON "requests" USING btree ("received_at","id","type","regime","assignee_id","status","due_at","extended_due_at");--> statement-breakpoint
CREATE INDEX "requests_queue_open_due_idx" ON "requests" USING btree (coalesce("extended_due_at", "due_at"),"id","type","regime","assignee_id","status","due_at","extended_due_at") WHERE "requests"."status" not in ('completed', 'denied', 'cancelled', 'expired', 'closed');--> statement-breakpoint
CREATE INDEX "requests_queue_status_due_idx" ON "requests" USING btree ("status",coalesce("extended_due_at", "due_at"),"id","type","regime","assignee_id","due_at","extended_due_at");--> statement-breakpoint
CREATE INDEX "requests_queue_due_idx" ON "requests" USING btree (coalesce("extended_due_at", "due_at"),"id","type","regime","assignee_id","status","due_at","extended_due_at");--> statement-breakpoint
CREATE INDEX "requests_queue_assignee_due_idx" ON "requests" USING btree ("assignee_id",coalesce("extended_due_at", "due_at"),"id","type","regime","status","due_at","extended_due_at");