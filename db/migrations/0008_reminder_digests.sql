CREATE TABLE "reminder_digests" (
	"staff_id" uuid NOT NULL,
	"day" date NOT NULL,
	"through_id" bigint NOT NULL,
	"reminders" integer NOT NULL,
	"sent_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "reminder_digests_pkey" PRIMARY KEY("staff_id","day")
);
--> statement-breakpoint
ALTER TABLE "reminders_sent" DROP CONSTRAINT "reminders_sent_request_id_requests_id_fk";
--> statement-breakpoint
DROP INDEX "reminders_sent_pending_idx";--> statement-breakpoint
ALTER TABLE "reminder_digests" ADD CONSTRAINT "reminder_digests_staff_id_staff_users_id_fk" FOREIGN KEY ("staff_id") REFERENCES "public"."staff_users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reminders_sent_pending_idx" ON "reminders_sent" USING btree ("day","id") WHERE "reminders_sent"."notified_at" is null;--> statement-breakpoint
ALTER TABLE "reminders_sent" DROP COLUMN "notified_staff_ids";