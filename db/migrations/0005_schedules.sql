CREATE TYPE "public"."reminder_kind" AS ENUM('due_soon', 'due_very_soon', 'overdue', 'extension_window', 'acknowledgement_due', 'acknowledgement_enqueued', 'expiry_notice');--> statement-breakpoint
CREATE TYPE "public"."scheduler_run_outcome" AS ENUM('running', 'succeeded', 'failed');--> statement-breakpoint
ALTER TYPE "public"."request_status" ADD VALUE 'awaiting_information' BEFORE 'completed';--> statement-breakpoint
CREATE TABLE "reminders_sent" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"request_id" uuid NOT NULL,
	"kind" "reminder_kind" NOT NULL,
	"day" date NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"notified_staff_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"notified_at" timestamp (3) with time zone,
	CONSTRAINT "reminders_sent_request_kind_day_key" UNIQUE("request_id","kind","day")
);
--> statement-breakpoint
CREATE TABLE "request_anonymizations" (
	"request_id" uuid PRIMARY KEY NOT NULL,
	"anonymized_at" timestamp (3) with time zone NOT NULL,
	"documents_deleted" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "scheduler_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"scheduler_id" text NOT NULL,
	"job_id" text,
	"attempt" integer DEFAULT 1 NOT NULL,
	"started_at" timestamp (3) with time zone NOT NULL,
	"finished_at" timestamp (3) with time zone,
	"outcome" "scheduler_run_outcome" DEFAULT 'running' NOT NULL,
	"counts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" text
);
--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "assignee_id" uuid;--> statement-breakpoint
ALTER TABLE "reminders_sent" ADD CONSTRAINT "reminders_sent_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "request_anonymizations" ADD CONSTRAINT "request_anonymizations_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reminders_sent_pending_idx" ON "reminders_sent" USING btree ("day") WHERE "reminders_sent"."notified_at" is null;--> statement-breakpoint
CREATE INDEX "scheduler_runs_scheduler_started_idx" ON "scheduler_runs" USING btree ("scheduler_id","started_at");--> statement-breakpoint
ALTER TABLE "requests" ADD CONSTRAINT "requests_assignee_id_staff_users_id_fk" FOREIGN KEY ("assignee_id") REFERENCES "public"."staff_users"("id") ON DELETE set null ON UPDATE no action;