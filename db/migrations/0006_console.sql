CREATE TYPE "public"."approval_mode" AS ENUM('automatic', 'review');--> statement-breakpoint
CREATE TYPE "public"."request_email_kind" AS ENUM('denial', 'more_information', 'extension_notice');--> statement-breakpoint
CREATE TABLE "approval_policies" (
	"regime" "regime" NOT NULL,
	"type" "request_type" NOT NULL,
	"mode" "approval_mode" NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	"updated_by" uuid,
	CONSTRAINT "approval_policies_pkey" PRIMARY KEY("regime","type")
);
--> statement-breakpoint
CREATE TABLE "request_emails" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"request_id" uuid NOT NULL,
	"kind" "request_email_kind" NOT NULL,
	"content_ciphertext" text NOT NULL,
	"created_by" uuid,
	"created_at" timestamp (3) with time zone NOT NULL,
	"sent_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "request_notes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"request_id" uuid NOT NULL,
	"author_id" uuid,
	"body_ciphertext" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "legal_hold_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "legal_hold_by" uuid;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "legal_hold_reason_ciphertext" text;--> statement-breakpoint
ALTER TABLE "approval_policies" ADD CONSTRAINT "approval_policies_updated_by_staff_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."staff_users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "request_emails" ADD CONSTRAINT "request_emails_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "request_emails" ADD CONSTRAINT "request_emails_created_by_staff_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."staff_users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "request_notes" ADD CONSTRAINT "request_notes_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "request_notes" ADD CONSTRAINT "request_notes_author_id_staff_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."staff_users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "request_emails_request_idx" ON "request_emails" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "request_emails_unsent_idx" ON "request_emails" USING btree ("created_at") WHERE "request_emails"."sent_at" is null;--> statement-breakpoint
CREATE INDEX "request_notes_request_idx" ON "request_notes" USING btree ("request_id","created_at");--> statement-breakpoint
ALTER TABLE "requests" ADD CONSTRAINT "requests_legal_hold_by_staff_users_id_fk" FOREIGN KEY ("legal_hold_by") REFERENCES "public"."staff_users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "requests_queue_open_due_idx" ON "requests" USING btree (coalesce("extended_due_at", "due_at"),"id") WHERE "requests"."status" not in ('completed', 'denied', 'cancelled', 'expired', 'closed');--> statement-breakpoint
CREATE INDEX "requests_queue_status_due_idx" ON "requests" USING btree ("status",coalesce("extended_due_at", "due_at"),"id");--> statement-breakpoint
CREATE INDEX "requests_queue_due_idx" ON "requests" USING btree (coalesce("extended_due_at", "due_at"),"id");--> statement-breakpoint
CREATE INDEX "requests_queue_assignee_due_idx" ON "requests" USING btree ("assignee_id",coalesce("extended_due_at", "due_at"),"id");--> statement-breakpoint
CREATE INDEX "request_events_actor_idx" ON "request_events" USING btree ("actor_id","id");--> statement-breakpoint
CREATE INDEX "request_events_action_idx" ON "request_events" USING btree ("action","id");--> statement-breakpoint
CREATE INDEX "request_events_created_idx" ON "request_events" USING btree ("created_at");